"""docs/ 下 Markdown 源文件的静态检查（不构建网站，很快）。"""

from __future__ import annotations

from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(DOCS.rglob("*.md"))


def _unprocessed_display_math(text: str) -> list[int]:
    """``$$`` 公式块前一行不是空行的行号：arithmatex 只认独立成段的公式块，否则原样输出 TeX 源码。"""
    lines = text.split("\n")
    bad, inside, fence = [], False, False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("```"):
            fence = not fence
        if fence or not stripped.startswith("$$"):
            continue
        if not inside and i > 0 and lines[i - 1].strip():
            bad.append(i + 1)
        one_line = len(stripped) > 2 and stripped.endswith("$$")
        inside = False if one_line else not inside
    return bad


def test_the_checker_finds_a_formula_glued_to_the_line_above():
    assert _unprocessed_display_math("文字：\n$$\nx\n$$\n") == [2]
    assert _unprocessed_display_math("- 列表：\n\n    $$\n    x\n    $$\n") == []
    assert _unprocessed_display_math("$$x$$\n\n$$\ny\n$$") == []
    assert _unprocessed_display_math("```\n代码\n$$\n```") == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_display_math_stands_in_its_own_block(page):
    bad = _unprocessed_display_math(page.read_text(encoding="utf-8"))
    assert not bad, f"{page.relative_to(DOCS)} 第 {bad} 行的 $$ 前面要空一行，否则网页上显示的是 TeX 源码"


def _long_fence_lines(text: str, columns: int) -> list[int]:
    """代码块（``` 围起来的）里比 ``columns`` 宽的行的行号，汉字算两个字符。"""
    from dlbook.text import text_width

    bad, fence = [], False
    for i, line in enumerate(text.split("\n"), 1):
        if line.strip().startswith(("```", "~~~")):
            fence = not fence
        elif fence and text_width(line.rstrip()) > columns:
            bad.append(i)
    return bad


def test_the_checker_finds_a_long_line_in_a_code_block():
    assert _long_fence_lines("很长的正文\n```\nx = 1\n一二三\n```\n一二三", columns=5) == [4]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_code_blocks_fit_the_column(page):
    # 与示例的代码一样（dlbook.gallery.notebook.CODE_COLUMNS）：页面上的代码框放得下 80 个字符
    from dlbook.gallery.notebook import CODE_COLUMNS

    bad = _long_fence_lines(page.read_text(encoding="utf-8"), CODE_COLUMNS)
    assert not bad, f"{page.relative_to(DOCS)} 第 {bad} 行比 {CODE_COLUMNS} 个字符宽，页面上要横向滚动"
