"""dlbook.gallery.figures：图放进正文后最小的文字有多大（不执行示例的部分）。"""

from __future__ import annotations

import pytest

from dlbook.gallery.figures import COLUMN_PX, MIN_TEXT_PX, image_width, shown_text_px, too_small
from dlbook.gallery.render import Image

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png(width: int) -> bytes:
    return SIGNATURE + b"\x00\x00\x00\rIHDR" + width.to_bytes(4, "big") + (300).to_bytes(4, "big")


def test_image_width_reads_the_png_header():
    assert image_width(_png(688)) == 688
    assert image_width(_png(2**31 + 5)) == 2**31 + 5  # 无符号的四个字节
    assert image_width(_png(688)[:23]) is None  # 太短
    assert image_width(b"\x89PNX" + _png(688)[4:]) is None  # 签名不对
    assert image_width(SIGNATURE + b"\x00\x00\x00\rIHDX" + bytes(8)) is None  # 第一块不是 IHDR


@pytest.mark.parametrize(
    ("width", "shown"),
    [(COLUMN_PX, 12.0), (COLUMN_PX // 2, 12.0), (COLUMN_PX * 2, 6.0), (COLUMN_PX * 3, 4.0)],
)
def test_only_images_wider_than_the_column_shrink(width, shown):
    assert shown_text_px(Image(0, 0, "a.png", _png(width), text_px=12.0)) == pytest.approx(shown)


def test_unknown_sizes_give_none():
    assert shown_text_px(Image(0, 0, "a.svg", b"<svg/>", mime="image/svg+xml", text_px=12.0)) is None
    assert shown_text_px(Image(0, 0, "a.png", _png(100))) is None


def test_too_small_reports_only_what_is_below_the_minimum():
    at_minimum = Image(0, 0, "a_001.png", _png(COLUMN_PX * 2), text_px=2 * MIN_TEXT_PX)
    below = Image(0, 1, "a_002.png", _png(COLUMN_PX * 2), text_px=2 * MIN_TEXT_PX - 0.2)
    unknown = Image(0, 2, "a_003.png", b"GIF89a", text_px=1.0)
    problems = too_small([("plot_a", at_minimum), ("plot_a", below), ("plot_b", unknown)])
    assert problems == [
        "plot_a（a_002.png）：1376 px 宽，最小的文字 17.8 px，缩到正文的 688 px 后只有 8.9 px（至少 9 px）"
    ]
    assert too_small([("plot_a", at_minimum)], minimum=9.5) != []
    assert too_small([]) == []


def test_main_without_scripts_prints_the_usage(capsys):
    from dlbook.gallery.figures import main

    assert main([]) == 2
    captured = capsys.readouterr()
    assert "用法" in captured.err and captured.out == ""


def test_main_reads_the_scripts_from_the_command_line(monkeypatch, capsys):
    from dlbook.gallery.figures import main

    monkeypatch.setattr("sys.argv", ["figures", "nope/plot_x.py"])
    assert main() == 2
    assert "找不到示例脚本 nope/plot_x.py" in capsys.readouterr().err


def test_main_lists_each_figure_with_its_text_sizes(tmp_path, monkeypatch, capsys):
    # 不真的执行示例：换掉执行与取图，只看每张图的那一行怎么写
    from dlbook.gallery import execute, render
    from dlbook.gallery.figures import main

    script = tmp_path / "plot_a.py"
    script.write_text('"""\n标题\n====\n"""\n\n# %%\nx = 1\n', encoding="utf-8")
    images = [
        Image(0, 0, "a_001.png", _png(COLUMN_PX * 2), text_px=2 * MIN_TEXT_PX),  # 页面上正好 9 px：不算太小
        Image(0, 1, "a_002.png", _png(COLUMN_PX * 2)),  # 不知道文字多大
        Image(0, 2, "a_003.png", _png(COLUMN_PX * 2), text_px=2 * MIN_TEXT_PX - 0.2),
    ]
    monkeypatch.setattr(execute, "execute_notebook", lambda nb, **kw: None)
    monkeypatch.setattr(render, "extract_images", lambda nb, stem: images)
    assert main([str(script)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        str(script),
        "  a_001.png: 1376 px 宽，最小文字 18.0 px，页面上 9.0 px",
        "  a_002.png: 1376 px 宽，最小文字 ? px，页面上 ? px",
        "  a_003.png: 1376 px 宽，最小文字 17.8 px，页面上 8.9 px  ← 小于 9 px",
    ]


def test_main_has_help(capsys):
    from dlbook.gallery.figures import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "python -m dlbook.gallery.figures" in capsys.readouterr().out
