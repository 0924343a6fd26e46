"""dlbook.text：按终端宽度（汉字两列）补空格。"""

from __future__ import annotations

import pytest

from dlbook.text import pad, text_width


@pytest.mark.parametrize(
    "text, width",
    [("", 0), ("LeNet", 5), ("模型", 4), ("（1, 6）", 8), ("x > 0 的比例", 12), ("σ=1.5", 5), ("ｘ", 2)],
)
def test_text_width_counts_wide_characters_twice(text, width):
    assert text_width(text) == width


def test_pad_aligns_a_table_with_chinese_cells():
    rows = [("", "均值", "标准差"), ("真实", "-0.030", "2.054"), ("生成", "-0.200", "1.909")]
    lines = [pad(a, 6) + pad(b, 8, align=">") + pad(c, 8, align=">") for a, b, c in rows]
    # 每一行都是 22 列，右对齐的两列的右边缘也对齐
    assert {text_width(line) for line in lines} == {22}
    assert lines[0] == "          均值  标准差"
    # 按字符个数补空格的做法（f"{s:>8}"）在这里对不齐：表头宽出 2 + 3 列
    assert text_width(f"{'':<6}{'均值':>8}{'标准差':>8}") == 27


def test_pad_leaves_wide_text_alone_and_rejects_unknown_alignment():
    assert pad("很长的名字", 4) == "很长的名字"
    with pytest.raises(ValueError, match="align"):
        pad("x", 3, align="^")
