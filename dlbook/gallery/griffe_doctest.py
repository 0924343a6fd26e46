"""griffe 扩展：把文档字符串里裸露的 doctest 块包进 ```pycon 代码块，并把 reST 的写法变成 Markdown。

dlbook 的文档字符串直接写 ``>>>`` 例子（pytest 把它们当 doctest 运行）。不处理的话，
API 参考页里 ``>>>`` 会被 Markdown 当成三层引用。在 ``mkdocs.yml`` 里::

    handlers:
      python:
        options:
          extensions:
            - dlbook.gallery.griffe_doctest:DoctestFences
"""

from __future__ import annotations

import re
from typing import Any

import griffe

__all__ = ["DoctestFences", "fence_doctests", "rest_links_and_literals", "strip_roles"]

_ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|exc|obj):`~?([^`]+)`")
_LINK = re.compile(r"(?<!`)`([^`<]+?)\s*<(https?://[^>\s]+)>`__?")
_LITERAL = re.compile(r"(?m)^([ \t]*)(.*?)::[ \t]*$")


def strip_roles(text: str) -> str:
    """``:func:`~dlbook.data.load``` 这类 reST 角色在 Markdown 里没有意义，换成行内代码。

    >>> strip_roles("见 :func:`~dlbook.conv.corr2d` 与 :class:`TensorLoader`。")
    '见 `dlbook.conv.corr2d` 与 `TensorLoader`。'
    """
    return _ROLE.sub(lambda m: f"`{m[1]}`", text)


def rest_links_and_literals(text: str) -> str:
    """reST 的链接 ```文字 <网址>`_`` 变成 Markdown 链接；段末引出字面块的 ``::`` 变成一个冒号。

    字面块本身（空一行、缩进四格）在 Markdown 里已经是代码块，只是 ``::`` 会原样显示出来。

    >>> rest_links_and_literals("来自 `Network In\\n    Network <https://arxiv.org/abs/1312.4400>`_。例如::")
    '来自 [Network In Network](https://arxiv.org/abs/1312.4400)。例如：'
    >>> rest_links_and_literals("用法：\\n\\n::\\n\\n    x = 1")
    '用法：\\n\\n\\n\\n    x = 1'
    """

    def link(m: re.Match[str]) -> str:
        return f"[{' '.join(m[1].split())}]({m[2]})"

    def literal(m: re.Match[str]) -> str:
        indent, body = m[1], m[2]
        if not body.strip():
            return ""  # 单独一行的 ::
        colon = "：" if "\u4e00" <= body.rstrip()[-1] <= "\u9fff" or body.rstrip()[-1] in "）”" else ":"
        return f"{indent}{body.rstrip()}{colon}"

    return _LITERAL.sub(literal, _LINK.sub(link, text))


def fence_doctests(text: str) -> str:
    """把以 ``>>>`` 开头、到空行为止的块包进 ```pycon 代码块（已在代码块里的不动）。

    （这里不放 doctest：例子的输出本身以 ``>>>`` 开头。见 ``tests/test_gallery_build.py``。）
    """
    out: list[str] = []
    in_fence = in_doctest = False
    for line in text.split("\n"):
        stripped = line.strip()
        if not in_doctest and stripped.startswith("```"):
            in_fence = not in_fence
        if in_fence:
            out.append(line)
            continue
        if not in_doctest and stripped.startswith(">>>"):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}```pycon")
            in_doctest = True
        elif in_doctest and not stripped:
            out.append(f"{indent}```")
            in_doctest = False
        out.append(line)
    if in_doctest:
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """在 griffe 载入每个对象时处理它的文档字符串。"""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(rest_links_and_literals(strip_roles(obj.docstring.value)))
