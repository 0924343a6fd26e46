"""dlbook.source：示例里打印的从零实现的代码。"""

from __future__ import annotations

import ast

import pytest

from dlbook.conv import Conv2D, corr2d, pool2d
from dlbook.gallery.notebook import CODE_COLUMNS
from dlbook.source import code_of
from dlbook.text import text_width


def only_docstring():
    """只有文档字符串。"""


class Documented:
    """类的文档字符串。"""

    def method(self, x):
        """方法的文档字符串，
        跨两行。"""
        return x + 1  # 注释留着


@pytest.mark.parametrize("obj", [corr2d, pool2d, Conv2D])
def test_code_of_drops_docstrings_and_stays_valid_code(obj):
    code = code_of(obj)
    tree = ast.parse(code)  # 仍然是合法的代码
    assert all(ast.get_docstring(node) is None for node in ast.walk(tree)
               if isinstance(node, (ast.FunctionDef, ast.ClassDef)))  # fmt: skip
    assert '"""' not in code and ">>>" not in code
    assert code.startswith(("def ", "class ")) and not code.endswith("\n")
    # 示例把它打印在页面上：每行都要放得进文本框（汉字两格）
    wide = [line for line in code.splitlines() if text_width(line) > CODE_COLUMNS]
    assert not wide, wide


def test_code_of_keeps_everything_else():
    assert code_of(Documented) == (
        "class Documented:\n"
        "\n"
        "    def method(self, x):\n"
        "        return x + 1  # 注释留着"
    )
    assert code_of(Documented.method) == "def method(self, x):\n    return x + 1  # 注释留着"  # 去掉了缩进
    assert code_of(only_docstring) == "def only_docstring():\n    ..."


def test_code_of_with_docstrings_is_the_source_itself():
    assert code_of(Documented.method, docstrings=True).splitlines()[1] == '    """方法的文档字符串，'


def test_code_of_names_what_has_no_source():
    with pytest.raises(TypeError, match="读不到 <built-in function len> 的源代码"):
        code_of(len)
