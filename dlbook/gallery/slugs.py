"""修补 mkdocs-jupyter 渲染出的示例页面。

- 全是中文的标题在 mkdocs-jupyter 里得到空的 ``id``（它的 slugify 只留 ASCII），目录链接失效。
  这里用 Markdown 页面同样的 ``pymdownx.slugs.slugify(case="lower")`` 重新生成 id，并同步目录。
- nbconvert 的模板会放进指向 CDN 的 MathJax 2 与 mermaid 脚本；本站自己提供 MathJax，
  这些脚本删掉，页面不向站外发任何请求。
- nbconvert 给没有替代文字的图片填上英文的 “No description has been provided for this image”；
  :func:`link_images` 换成图自己的描述（:func:`dlbook.plot.describe_figure`），并让图链接到图片文件
  （宽图在正文里缩小了，点开看原大小）。
- mkdocs-jupyter 0.27 起在每一页末尾放一个 MathJax 加载器（默认从 CDN 取 MathJax 4），
  与本站自己的 MathJax 重复排版：删掉（:func:`strip_mathjax_loader`）。
"""

from __future__ import annotations

import html as html_lib
import re

from pymdownx.slugs import slugify

from dlbook.gallery.render import FIGURE_LINK_CLASS, FIGURE_LINK_TITLE

__all__ = ["fix_notebook_headings", "link_images", "slug", "strip_mathjax_loader", "strip_remote_scripts"]

_slugify = slugify(case="lower")
_HEADING = re.compile(r"<h(?P<level>[1-6])(?P<attrs>[^>]*)>(?P<body>.*?)</h(?P=level)>", re.DOTALL)
_ID = re.compile(r'\sid="[^"]*"')
_ANCHOR = re.compile(r'<a class="anchor-link" href="#[^"]*">')
_TAGS = re.compile(r"<[^>]+>")
_CODE = re.compile(r"<code[^>]*>.*?</code>", re.DOTALL)
_SPACES = re.compile(r"\s+")
_MATH_DELIMITERS = re.compile(r"\$|\\[()]")
_REMOTE_SCRIPTS = [
    re.compile(r'<script src="[^"]*">\s*</script>'),  # MathJax 2 的空地址或 CDN 地址
    re.compile(r'<script type="text/x-mathjax-config">.*?</script>', re.DOTALL),
    re.compile(r'<script type="module">(?:(?!</script>).)*?mermaid.*?</script>', re.DOTALL),
]
_IMG = re.compile(r"<img\b[^>]*>")
_SRC = re.compile(r'\ssrc="([^"]*)"')
_ALT = re.compile(r'\salt="[^"]*"')
_MATHJAX_LOADER = re.compile(r'<script data-mkdocs-jupyter-mathjax="[^"]*">.*?</script>\n?', re.DOTALL)


def slug(text: str) -> str:
    """与 Markdown 页面一致的标题 id。

    >>> slug("二维互相关运算")
    '二维互相关运算'
    >>> slug("LeNet 的 Sigmoid 版本")
    'lenet-的-sigmoid-版本'
    """
    return _slugify(text, "-")


def _match_key(text: str) -> str:
    r"""比较标题与目录项用的文字：空白只算一个，去掉行内公式的定界符（``$``、``\(``、``\)``）。"""
    return _MATH_DELIMITERS.sub("", _key(text))


def _text_of(fragment: str) -> str:
    return html_lib.unescape(_TAGS.sub("", fragment)).replace("¶", "").strip()


def strip_remote_scripts(html: str) -> str:
    """删去 nbconvert 模板里指向站外的脚本。"""
    for pattern in _REMOTE_SCRIPTS:
        html = pattern.sub("", html)
    return html


def strip_mathjax_loader(html: str) -> str:
    """删去 mkdocs-jupyter 的 MathJax 加载器。

    本站每一页都已经加载并配置了自己的 MathJax 3（``docs/assets/javascripts/mathjax-config.js``），
    它也排版笔记本 Markdown 单元格里的公式。加载器在此之外再排版一遍同样的节点，两者同时改写 DOM，
    MathJax 就会报错、公式不显示；它在找不到 MathJax 时还会去 CDN 下载。没有加载器的页面原样返回。

    >>> page = '<p>正文</p><script data-mkdocs-jupyter-mathjax="{&quot;version&quot;: 4}">\\n(() => {})();\\n</script></body>'
    >>> strip_mathjax_loader(page)
    '<p>正文</p></body>'
    """
    return _MATHJAX_LOADER.sub("", html)


def link_images(html: str, alts: dict[str, str]) -> str:
    """``src`` 在 ``alts`` 里的 ``<img>``：替代文字换成 ``alts[src]``，图包进指向图片文件的链接。

    >>> link_images('<img alt="No description" src="../images/a_001.png"/><img src="b.png">',
    ...             {"../images/a_001.png": "损失与准确率"})
    '<a class="dlbook-figure-link" href="../images/a_001.png" title="查看原图"><img alt="损失与准确率" src="../images/a_001.png"/></a><img src="b.png">'
    >>> link_images('<img src="c.png">', {"c.png": "A & B"})
    '<a class="dlbook-figure-link" href="c.png" title="查看原图"><img alt="A &amp; B" src="c.png"></a>'
    """

    def replace(m: re.Match[str]) -> str:
        tag = m.group(0)
        src = _SRC.search(tag)
        key = html_lib.unescape(src[1]) if src is not None else None
        if key not in alts:
            return tag
        alt = html_lib.escape(alts[key], quote=True)
        img = f'<img alt="{alt}"' + _ALT.sub("", tag[len("<img"):], count=1)
        return f'<a class="{FIGURE_LINK_CLASS}" href="{src[1]}" title="{FIGURE_LINK_TITLE}">{img}</a>'

    return _IMG.sub(replace, html)


def _key(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def fix_notebook_headings(html: str, toc) -> str:
    r"""给标题重新生成 id（重复的加 ``_1``、``_2``），并让 ``toc`` 的链接指向它们。

    mkdocs-jupyter 的目录项标题里，标题中行内代码（``<code>``）的文字整个被删掉了
    （“公式与 `nn.Conv2d` 逐一对照”成了“公式与 逐一对照”），所以每个标题按完整的文字和去掉代码后的文字
    各登记一次，目录项先按前者找，找不到再按后者找；找到后目录项的文字也换成完整的标题。
    比较时不看公式的定界符：mkdocs-jupyter 0.27 的目录项是单元格里的原文（``$1\times 1$``），
    页面上的标题是 arithmatex 的输出（``\(1\times 1\)``）。

    >>> class Item:
    ...     def __init__(self, title): self.title, self.id, self.children = title, "_1", []
    >>> toc = [Item("公式与 逐一对照"), Item("小结")]
    >>> page = fix_notebook_headings("<h2>公式与 <code>nn.Conv2d</code> 逐一对照</h2><h2>小结</h2>", toc)
    >>> [(item.id, item.title) for item in toc]
    [('公式与-nnconv2d-逐一对照', '公式与 nn.Conv2d 逐一对照'), ('小结', '小结')]
    >>> 'id="公式与-nnconv2d-逐一对照"' in page
    True
    >>> toc = [Item("$g = 0$ 时")]
    >>> page = fix_notebook_headings('<h2><span class="arithmatex">\\(g = 0\\)</span> 时</h2>', toc)
    >>> [(item.id, item.title) for item in toc]
    [('g--0-时', '\\(g = 0\\) 时')]
    """
    seen: dict[str, int] = {}
    # （完整的文字，它的比较键，去掉代码后的比较键，id），按页面上的顺序
    headings: list[tuple[str, str, str, str]] = []

    def unique(base: str) -> str:
        base = base or "section"
        n = seen.get(base, 0)
        seen[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    def replace(m: re.Match[str]) -> str:
        title = _text_of(m["body"])
        new_id = unique(slug(_key(title)))  # 标题跨行时空白也只算一个，与 Markdown 页面一样
        headings.append((_key(title), _match_key(title), _match_key(_text_of(_CODE.sub("", m["body"]))), new_id))
        attrs = _ID.sub("", m["attrs"])
        body = _ANCHOR.sub(f'<a class="anchor-link" href="#{new_id}">', m["body"])
        return f'<h{m["level"]}{attrs} id="{new_id}">{body}</h{m["level"]}>'

    html = _HEADING.sub(replace, html)

    def walk(items) -> None:
        for item in items:
            title = _match_key(html_lib.unescape(_TAGS.sub("", item.title)))
            match = next((h for h in headings if h[1] == title), None) or next(
                (h for h in headings if h[2] == title), None
            )
            if match is not None:
                item.id = match[3]
                item.title = html_lib.escape(match[0], quote=False)  # 目录里也显示代码的文字
                headings.remove(match)  # 每个标题只认领一次（同名的标题依次对应）
            walk(item.children)

    if toc is not None:
        walk(toc)
    return html
