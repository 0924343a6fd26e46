"""示例页面进站内搜索时，只收读者看得见的内容。

mkdocs-jupyter 在每个代码单元格里写了几样读者看不见、搜索插件却照收的东西：

- 隐藏的 ``In [n]:`` / ``Out[n]:`` 提示符（示例页面不显示提示符，见 ``docs/assets/stylesheets/dlbook.css``）；
- 复制按钮里隐藏的提示文字 ``Copied!``；
- 给复制按钮用的一份纯文本代码（``clipboard-copy-txt``），和高亮的代码一字不差。

于是搜索索引里每段代码都有两份，搜索结果的摘要里夹着 ``In [5]: Copied!``。Material 的搜索插件
跳过带 ``data-search-exclude`` 属性的元素，:func:`exclude_notebook_chrome` 给这几样元素加上它。
元素本身留在页面里：复制按钮照样从 ``clipboard-copy-txt`` 里取代码。
"""

from __future__ import annotations

import re

__all__ = ["EXCLUDE_ATTRIBUTE", "HIDDEN_CLASSES", "exclude_notebook_chrome"]

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
