"""示例页面进站内搜索时，只收读者看得见的内容。

mkdocs-jupyter 在每个代码单元格里写了几样读者看不见、搜索插件却照收的东西：

- 隐藏的 ``In [n]:`` / ``Out[n]:`` 提示符（示例页面不显示提示符，见 ``docs/assets/stylesheets/dlbook.css``）；
- 复制按钮里隐藏的提示文字 ``Copied!``；
- 给复制按钮用的一份纯文本代码（``clipboard-copy-txt``），和高亮的代码一字不差。

于是搜索索引里每段代码都有两份，搜索结果的摘要里夹着 ``In [5]: Copied!``。Material 的搜索插件
跳过带 ``data-search-exclude`` 属性的元素，:func:`exclude_notebook_chrome` 给这几样元素加上它。
元素本身留在页面里：复制按钮照样从 ``clipboard-copy-txt`` 里取代码。

Material 的搜索插件写 ``search/search_index.json`` 时把每个汉字转义成 ``\\uXXXX``（6 个字节，
UTF-8 只要 3 个），:func:`unescape_search_index` 把它改写成 UTF-8 原文：内容不变，文件小一截，
读者打开搜索框时少下载一些。
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from dlbook.gallery.cache import atomic_write

__all__ = ["EXCLUDE_ATTRIBUTE", "HIDDEN_CLASSES", "exclude_notebook_chrome", "unescape_search_index"]

EXCLUDE_ATTRIBUTE = "data-search-exclude"
HIDDEN_CLASSES = ("jp-InputPrompt", "jp-OutputPrompt", "zeroclipboard-container", "clipboard-copy-txt")
_HIDDEN = re.compile(r'<div class="(?=(?:%s)[ "])' % "|".join(HIDDEN_CLASSES))


def exclude_notebook_chrome(html: str) -> str:
    """给笔记本页面里提示符和复制按钮的元素加上 ``data-search-exclude``。

    >>> cell = (
    ...     '<div class="jp-InputPrompt jp-InputArea-prompt">In [1]:</div>'
    ...     '<pre>x = 1</pre><div class="clipboard-copy-txt" id="cell-1">x = 1</div>'
    ... )
    >>> print(exclude_notebook_chrome(cell))
    <div data-search-exclude class="jp-InputPrompt jp-InputArea-prompt">In [1]:</div><pre>x = 1</pre><div
    data-search-exclude class="clipboard-copy-txt" id="cell-1">x = 1</div>

    类名只是开头相同的元素不动：

    >>> exclude_notebook_chrome('<div class="jp-InputPromptless">a</div>')
    '<div class="jp-InputPromptless">a</div>'
    """
    return _HIDDEN.sub(f'<div {EXCLUDE_ATTRIBUTE} class="', html)


def unescape_search_index(path: Path) -> tuple[int, int]:
    r"""把搜索索引里的 ``\uXXXX`` 转义改写成 UTF-8 原文，返回改写前后的字节数。

    解析出来的 JSON 与原来完全相同。U+2028、U+2029 仍然转义：离线副本把索引原样放进
    ``search_index.js``，老的 JavaScript 引擎不认字符串里的这两个字符。用 :func:`~dlbook.gallery.cache.atomic_write`
    写回，中途出错时原文件不动。

    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> index = Path(tmp.name) / "search_index.json"
    >>> data = {"docs": [{"text": "卷积\u2028层"}]}
    >>> _ = index.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
    >>> index.read_text(encoding="utf-8")
    '{"docs":[{"text":"\\u5377\\u79ef\\u2028\\u5c42"}]}'
    >>> unescape_search_index(index)
    (46, 37)
    >>> index.read_text(encoding="utf-8")
    '{"docs":[{"text":"卷积\\u2028层"}]}'
    >>> json.loads(index.read_text(encoding="utf-8")) == data
    True
    >>> tmp.cleanup()
    """
    raw = path.read_bytes()
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"{path} 不是有效的 JSON：{exc}") from exc
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    out = text.encode("utf-8")
    atomic_write(path, out)
    return len(raw), len(out)
