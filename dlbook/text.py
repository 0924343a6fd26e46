"""按终端里的宽度对齐文字：汉字和全角标点占两列。

``f"{name:<8}"`` 按字符个数补空格，一个汉字却占两个拉丁字符的宽度，含中文的表格就对不齐：

>>> print(f"{'模型':<8}|\\n{'LeNet':<8}|")
模型      |
LeNet   |
>>> print(pad("模型", 8) + "|\\n" + pad("LeNet", 8) + "|")
模型    |
LeNet   |

网页上的文本输出也按这个宽度显示汉字（见 ``docs/assets/stylesheets/dlbook.css``）。
"""

from __future__ import annotations

import unicodedata

__all__ = ["pad", "text_width"]


def text_width(text: str) -> int:
    """``text`` 在等宽字体里占几列：东亚宽字符（汉字、全角标点，``east_asian_width`` 为 W 或 F）占两列。

    >>> text_width("x > 0 的比例")
    12
    """
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def pad(text: str, width: int, *, align: str = "<") -> str:
    """补空格到 ``width`` 列：``align`` 为 ``"<"`` 时左对齐，``">"`` 时右对齐；已经够宽时原样返回。

    >>> pad("均值", 8, align=">") + pad("1.5", 8, align=">")
    '    均值     1.5'
    """
    if align not in ("<", ">"):
        raise ValueError(f"align 只能是 '<' 或 '>'，却得到 {align!r}")
    spaces = " " * max(0, width - text_width(text))
    return text + spaces if align == "<" else spaces + text
