"""dlbook.gallery.slugs：修补 mkdocs-jupyter 渲染出的示例页面（标题 id 与目录、站外脚本、图片）。"""

from __future__ import annotations

from dlbook.gallery.slugs import (
    fix_notebook_headings,
    link_images,
    slug,
    strip_mathjax_loader,
    strip_remote_scripts,
)


class Item:
    """mkdocs 的目录项里用到的三个属性。"""

    def __init__(self, title: str, *children: Item) -> None:
        self.title, self.id, self.children = title, "", list(children)


def test_slug_matches_the_markdown_pages():
    assert slug("二维互相关运算") == "二维互相关运算"
    assert slug("LeNet 的 Sigmoid 版本") == "lenet-的-sigmoid-版本"
    assert slug("1×1 卷积（NiN）") == "11-卷积nin"


def test_headings_get_ids_from_their_text_and_duplicates_are_numbered():
    page = (
        '<h1 id="">示例：卷积<a class="anchor-link" href="#">¶</a></h1>'
        '<h2 class="x" id="old">小结</h2>\n<h3>A &amp; B</h3><h2>小结</h2><h2>小结</h2>'
        "<h4></h4>"
    )
    toc = [Item("示例：卷积", Item("小结"), Item("A &amp; B"), Item("小结"), Item("小结"))]
    html = fix_notebook_headings(page, toc)
    assert html == (
        '<h1 id="示例卷积">示例：卷积<a class="anchor-link" href="#示例卷积">¶</a></h1>'
        '<h2 class="x" id="小结">小结</h2>\n<h3 id="a--b">A &amp; B</h3><h2 id="小结_1">小结</h2>'
        '<h2 id="小结_2">小结</h2><h4 id="section"></h4>'
    )
    # 目录按页面上的顺序认领标题：同名的依次对应，子项也改
    assert [toc[0].id] + [child.id for child in toc[0].children] == ["示例卷积", "小结", "a--b", "小结_1", "小结_2"]
    assert toc[0].children[1].title == "A &amp; B"  # 目录里的文字仍是 HTML


def test_headings_across_lines_and_code_in_titles():
    page = "<h2>用\n  <code>nn.Conv2d</code>\n实现</h2><h2>再用 <code>F.conv2d</code></h2>"
    toc = [Item("用 实现"), Item("再用 <code>F.conv2d</code>"), Item("没有这个标题")]
    html = fix_notebook_headings(page, toc)
    assert 'id="用-nnconv2d-实现"' in html and 'id="再用-fconv2d"' in html
    assert [(item.id, item.title) for item in toc] == [
        ("用-nnconv2d-实现", "用 nn.Conv2d 实现"),  # 去掉代码的目录文字也找得到，文字换成完整的
        ("再用-fconv2d", "再用 F.conv2d"),
        ("", "没有这个标题"),  # 找不到的目录项不动
    ]


def test_titles_are_escaped_back_for_the_table_of_contents():
    toc = [Item("a &lt; b")]
    fix_notebook_headings("<h2>a &lt; b</h2>", toc)
    assert toc[0].title == "a &lt; b"


def test_no_table_of_contents_is_fine():
    assert fix_notebook_headings("<h2>小结</h2>", None) == '<h2 id="小结">小结</h2>'


def test_remote_scripts_are_removed_and_others_kept():
    page = (
        '<p>正文</p><script src="https://cdn.jsdelivr.net/npm/mathjax@2/MathJax.js"></script>'
        '<script src="">\n</script>'
        '<script type="text/x-mathjax-config">\nMathJax.Hub.Config({});\n</script>'
        '<script type="module">\nimport mermaid from "https://cdn/mermaid.esm.min.mjs";\n</script>'
        '<script type="module">\nconsole.log("自己的模块");\n</script>'
        "<script>var keep = 1;</script>"
    )
    assert strip_remote_scripts(page) == (
        '<p>正文</p><script type="module">\nconsole.log("自己的模块");\n</script><script>var keep = 1;</script>'
    )


def test_mathjax_loader_is_removed_only_where_present():
    page = '<p>a</p><script data-mkdocs-jupyter-mathjax="{}">\nload();\n</script>\n<script>keep()</script>'
    assert strip_mathjax_loader(page) == "<p>a</p><script>keep()</script>"
    assert strip_mathjax_loader("<p>没有加载器</p>") == "<p>没有加载器</p>"


def test_link_images_replaces_the_alt_text_wherever_it_stands():
    html = link_images(
        '<img src="../images/a&amp;b.png" alt="No description has been provided for this image" width="50">'
        '<img\nalt="x" src="other.png"><img alt="没有地址">',
        {"../images/a&b.png": '图 "一"'},
    )
    assert html == (
        '<a class="dlbook-figure-link" href="../images/a&amp;b.png" title="查看原图">'
        '<img alt="图 &quot;一&quot;" src="../images/a&amp;b.png" width="50"></a>'
        '<img\nalt="x" src="other.png"><img alt="没有地址">'
    )
