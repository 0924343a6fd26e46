"""dlbook.gallery.cjk：删去中文之间的换行，别的一概不动。"""

from __future__ import annotations

import pytest

from dlbook.gallery.cjk import join_cjk_lines, join_cjk_markdown


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>数据\n集</p>", "<p>数据集</p>"),
        ("<p>数据  \n\t  集</p>", "<p>数据集</p>"),  # 换行两边的空白一起删
        ("<p>读进来，\n再训练。</p>", "<p>读进来，再训练。</p>"),  # 全角标点
        ("<p>（\n括号）</p>", "<p>（括号）</p>"),
        ("<p>所谓\n“残差”\n映射</p>", "<p>所谓“残差”映射</p>"),  # 中文里的弯引号
        ("<p>批量\n<em>归一化</em></p>", "<p>批量<em>归一化</em></p>"),  # 跨过行内标签
        ('<p>见<a href="x.md">\n下一节</a></p>', '<p>见<a href="x.md">下一节</a></p>'),
        ("<li>第一\n项</li>\n<li>第二项</li>", "<li>第一项</li>\n<li>第二项</li>"),
        ("<p>训练 10 轮。\nquick 模式</p>", "<p>训练 10 轮。quick 模式</p>"),  # 全角标点之后不再加空格
        ("<p>训练它：\nXavier</p>", "<p>训练它：Xavier</p>"),
        ("<p>ResNet\n（残差网络）</p>", "<p>ResNet（残差网络）</p>"),
    ],
)
def test_breaks_between_chinese_characters_are_removed(html, expected):
    assert join_cjk_lines(html) == expected


@pytest.mark.parametrize(
    "html",
    [
        "<p>中文与\nPyTorch</p>",  # 中英文之间本来就该有空格
        "<p>PyTorch\n中文</p>",
        "<p>共 3\n层</p>",
        "<p>“quoted”\n“English”</p>",
        "<p>共 3\n(三)</p>",  # 半角括号不是全角标点
        "<p>한국어\n문장</p>",  # 谚文词之间用空格
    ],
)
def test_other_breaks_stay(html):
    assert join_cjk_lines(html) == html


@pytest.mark.parametrize(
    "html",
    [
        "<pre>代码\n不动</pre>",
        '<pre class="x"><span>代码</span>\n<span>不动</span></pre>',
        "<p><code>代码\n不动</code></p>",
        "<script>const s = '代码\\n不动'; if (a < b) {}\n// 中文\n// 注释</script>",
        "<style>/* 样式\n说明 */</style>",
        "<textarea>输入\n框</textarea>",
        '<p><span class="arithmatex">\\(\\text{公\n式}\\)</span></p>',
        '<div class="arithmatex">\\[\\text{公\n式}\\]</div>',
        "<!-- 注释\n不动 -->",
        "<p>段落</p>\n<p>之间</p>",  # 块级元素之间的换行不是正文
        "<p>换行<br>\n之后</p>",
        "<h2>标题</h2>\n正文",
    ],
)
def test_code_math_scripts_and_block_boundaries_are_untouched(html):
    assert join_cjk_lines(html) == html


def test_attributes_are_untouched_even_with_angle_brackets_inside():
    html = '<p title="a > b 中\n文">标题\n属性</p><img alt="图\n片">'
    assert join_cjk_lines(html) == '<p title="a > b 中\n文">标题属性</p><img alt="图\n片">'


def test_idempotent_and_nothing_else_changes():
    html = (
        '<article><h1 id="x">题目</h1>\n<p>第一行，\n第二行；<strong>粗体\n</strong>接着，\n'
        "English words\nstay apart.</p>\n<pre><code>a = 1\n# 中文\n# 注释\n</code></pre>\n</article>"
    )
    once = join_cjk_lines(html)
    assert join_cjk_lines(once) == once
    assert once.replace("\n", "") == html.replace("\n", "")  # 只删了换行（这里换行两边没有空格）
    assert "第一行，第二行；<strong>粗体</strong>接着，English words\nstay apart." in once
    assert "# 中文\n# 注释" in once


def test_text_after_the_last_tag_and_empty_input():
    assert join_cjk_lines("") == ""
    assert join_cjk_lines("没有标签\n的文字") == "没有标签的文字"
    assert join_cjk_lines("<p>x</p>末尾\n文字") == "<p>x</p>末尾文字"


def test_text_before_the_first_tag_starts_at_its_first_character():
    # 第一个标签之前的文字从第 0 个字符算起：换行前只有一个字时也接上
    assert join_cjk_lines("数\n据<p>x</p>") == "数据<p>x</p>"


# ---------------------------------------------------------------------------
# Markdown 源文本（图库生成的笔记本）
# ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("数据\n集", "数据集"),
        ("- 列表项的\n  续行", "- 列表项的续行"),
        ("读进来，\n再训练。\n\n下一段\n接着", "读进来，再训练。\n\n下一段接着"),
        ("末尾有空格 \n接着", "末尾有空格接着"),
        ("English\n    中文\n接着", "English\n    中文接着"),  # 段落里缩进的续行仍是正文
    ],
)
def test_markdown_paragraph_breaks_between_chinese_are_removed(source, expected):
    assert join_cjk_markdown(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        "中文\nPyTorch",
        "```python\n# 中文\n# 注释\n```",
        "````\n```\n代码\n块\n```\n````",  # 更长的围栏里套着短的
        "~~~\n代码\n块\n~~~",
        "$$\n\\text{公}\n\\text{式}\n$$",
        "$$\n\\text{训练\n误差}\n$$",  # 公式里的换行不是段落里的：\text 里它是一个空格，不归这里管
        "$$\\text{训练\n误差}$$",
        "$$\nx\n中\n文\n$$",  # 没以 $$ 结尾的行都还在公式里：公式里的中文行也不接
        "## 标题\n正文",
        "| 表 | 格 |\n| 一 | 行 |",
        "<div>\n中文\n</div>",
        "硬换行  \n之后",
        "硬换行\\\n之后",
        "正文\n\n    缩进的\n    代码",
        "正文\n\n    缩进的\n    代码\n    更多",  # 缩进代码块的第三行也不接
        "## 标题\n    代码\n    更多",  # 标题之后缩进四格就是代码块
        "    开头就\n    缩进",
        "列表：\n- 第一项\n- 第二项",  # 全角冒号后面是列表：不能接成一行
        "步骤：\n1. 先做\n2. 再做",
        "引文：\n> 原话",
    ],
)
def test_markdown_code_math_headings_tables_and_hard_breaks_stay(source):
    assert join_cjk_markdown(source) == source


def test_markdown_after_a_closed_fence_joins_again():
    source = "```\n代码\n```\n之后的\n正文\n$$x$$\n公式\n之后"
    assert join_cjk_markdown(source) == "```\n代码\n```\n之后的正文\n$$x$$\n公式之后"


def _render(markdown_text: str) -> str:
    import markdown

    return markdown.markdown(
        markdown_text,
        extensions=["tables", "md_in_html", "pymdownx.superfences", "pymdownx.arithmatex"],
        extension_configs={"pymdownx.arithmatex": {"generic": True}},
    )


def test_joining_the_gallery_markdown_changes_nothing_but_the_breaks(monkeypatch):
    # 对图库里真实的每个 Markdown 单元格：在源文本上接行再渲染，与渲染后再在 HTML 里删换行，得到同样的 HTML。
    # 也就是说 Markdown 上的接行没有把标题、列表、公式、代码接坏，也没有漏掉一处。
    from dlbook.gallery import notebook
    from dlbook.gallery.build import find_scripts
    from tests.conftest import GALLERY

    monkeypatch.setattr(notebook, "join_cjk_markdown", lambda text: text)  # 取没接过行的单元格
    checked = changed = 0
    for script in find_scripts(GALLERY):
        for cell in notebook.script_to_notebook(script).cells:
            if cell.cell_type != "markdown":
                continue
            joined = join_cjk_markdown(cell.source)
            checked += 1
            changed += joined != cell.source
            assert _render(joined) == join_cjk_lines(_render(cell.source)), cell.source[:80]
            assert join_cjk_markdown(joined) == joined
    assert checked > 200 and changed > 100, (checked, changed)


def test_markdown_display_math_spanning_lines_ends_at_its_closing_dollars():
    source = "$$a = 1,\\qquad\n中文 b = 2.$$\n\n之后的\n正文"
    assert join_cjk_markdown(source) == "$$a = 1,\\qquad\n中文 b = 2.$$\n\n之后的正文"


@pytest.mark.parametrize("ch", ["\uac00", "\ud7a3", "\u1100", "\u3131", "\u318e"])  # 谚文各区段两端的字
def test_hangul_at_the_ends_of_its_blocks_keeps_the_line_break(ch) -> None:
    html = f"<p>{ch}\n{ch}</p>"
    assert join_cjk_lines(html) == html
