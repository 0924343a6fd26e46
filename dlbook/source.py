"""在示例里展示 dlbook 自己的从零实现：示例导入它们，页面上却也要让读者看到那几行代码。

:func:`code_of` 取出函数或类的源代码并去掉文档字符串（文档字符串在 API 参考里），
打印出来的就是真正被执行的那份代码，不会与手抄的副本不一致。

>>> from dlbook.conv import Conv2D
>>> print(code_of(Conv2D.forward))
def forward(self, x: Tensor) -> Tensor:
    return corr2d(x, self.weight) + self.bias  # (H, W) → (H-kh+1, W-kw+1)
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any

__all__ = ["code_of"]

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def code_of(obj: Any, *, docstrings: bool = False) -> str:
    """``obj``（函数、方法或类）的源代码，去掉缩进；``docstrings=False`` 时删去其中每个定义的文档字符串。

    只剩文档字符串的定义留下一个 ``...``，代码仍然合法。

    Raises:
        TypeError: ``obj`` 没有可读的 Python 源代码（例如内置函数）。
    """
    try:
        text = textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError) as exc:
        raise TypeError(f"读不到 {obj!r} 的源代码：{exc}") from exc
    if docstrings:
        return text.rstrip("\n")
    lines = text.splitlines()
    replace: dict[int, str | None] = {}  # 行号（从 0 起）→ 换成的内容，None 表示删掉
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, _DEFINITIONS):
            continue
        first = node.body[0]
        if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)):  # fmt: skip
            continue
        for line in range(first.lineno - 1, first.end_lineno):
            replace[line] = None
        if len(node.body) == 1:
            indent = lines[first.lineno - 1][: first.col_offset]
            replace[first.lineno - 1] = indent + "..."
    kept = [replace.get(i, line) for i, line in enumerate(lines)]
    return "\n".join(line for line in kept if line is not None).rstrip("\n")
