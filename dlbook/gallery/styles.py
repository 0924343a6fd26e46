"""示例页面的样式表放进共用的文件，而不是每页内嵌一份。

mkdocs-jupyter 把 JupyterLab 的整套样式（约 570 KB）以 ``<style>`` 块写进每个笔记本页面的正文：
47 个示例页面就是 47 份同样的 CSS，读者每打开一个示例页面都要重新下载、重新解析一遍，
离线副本也因此大了二十多 MB。:func:`shared_stylesheets` 把每个 ``<style>`` 块换成指向
``assets/stylesheets/notebook-<内容哈希>.css`` 的 ``<link>``，浏览器下载一次之后从缓存取。
``<link>`` 留在原来 ``<style>`` 块的位置，样式表的先后顺序（也就是层叠的顺序）不变；
文件名取自内容的哈希，mkdocs-jupyter 升级后样式变了，文件名也跟着变，旧缓存不会被误用。
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

__all__ = ["STYLESHEET_DIR", "shared_stylesheets"]

STYLESHEET_DIR = "assets/stylesheets"
# 只认 mkdocs-jupyter 写的两种开头：带 media 之类属性的块要原样保留，不在这里处理
_STYLE = re.compile(r'<style(?: type="text/css")?>(?P<css>.*?)</style>', re.DOTALL)


def shared_stylesheets(html: str, href: Callable[[str], str]) -> tuple[str, dict[str, str]]:
    """把 ``html`` 里的每个 ``<style>`` 块换成 ``<link rel="stylesheet">``。

    Args:
        html: 页面（或页面正文）的 HTML。
        href: 把站点根目录下的路径（如 ``assets/stylesheets/notebook-….css``）变成这一页上的链接。

    Returns:
        改过的 HTML，以及要写进网站的文件：``{站点内路径: CSS 文本}``。内容相同的块只有一个文件。

    >>> page = '<p>a</p><style type="text/css">p { color: red }</style>'
    >>> out, files = shared_stylesheets(page, lambda uri: "../" + uri)
    >>> out
    '<p>a</p><link rel="stylesheet" href="../assets/stylesheets/notebook-9e07b08613fb.css">'
    >>> files
    {'assets/stylesheets/notebook-9e07b08613fb.css': 'p { color: red }'}
    """
    files: dict[str, str] = {}

    def link(match: re.Match[str]) -> str:
        css = match["css"]
        digest = hashlib.sha256(css.encode("utf-8")).hexdigest()[:12]
        uri = f"{STYLESHEET_DIR}/notebook-{digest}.css"
        files[uri] = css
        return f'<link rel="stylesheet" href="{href(uri)}">'

    return _STYLE.sub(link, html), files
