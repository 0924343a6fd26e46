r"""示例脚本的源码本身（不执行）：文档字符串里 TeX 命令的反斜杠要写两个，否则 Python 把它当成转义。

文档字符串里写 ``$1\times 2$``（一个反斜杠）时，``\t`` 是制表符，页面上就成了 ``1    imes 2``；
``\mathbf`` 里的 ``\m`` 是无效转义，Python 3.12 起每次运行都打印 ``SyntaxWarning``。
两种错在 Python 3.11 上都不报错，所以在这里逐个检查。
"""

from __future__ import annotations

import io
import re
import tokenize
import warnings

import pytest

from dlbook.gallery.build import find_scripts
from dlbook.gallery.notebook import CODE_COLUMNS, MARKDOWN_CODE_COLUMNS, long_code_lines
from tests.conftest import GALLERY

SCRIPTS = find_scripts(GALLERY)
IDS = [p.relative_to(GALLERY).as_posix() for p in SCRIPTS]


def single_escapes(literal: str) -> list[str]:
    """字符串字面量（含引号与前缀）里没有写成两个反斜杠的转义，例如 ``\\t``；原始字符串（r 前缀）里没有转义。"""
    prefix = literal[: len(literal) - len(literal.lstrip("rRbBuUfF"))]
    if "r" in prefix.lower():
        return []
    found, i = [], 0
    while i < len(literal):
        if literal[i] == "\\":
            if literal[i + 1 : i + 2] != "\\":
                found.append(literal[i : i + 2])
            i += 2
        else:
            i += 1
    return found


def test_single_escapes():
    assert single_escapes('"""$1\\times 2$"""') == ["\\t"]
    assert single_escapes('"""$1\\\\times 2$"""') == []
    assert single_escapes('r"""$\\mathbf{x}$"""') == []


@pytest.mark.parametrize("script", SCRIPTS, ids=IDS)
def test_docstring_backslashes_are_escaped(script):
    source = script.read_text(encoding="utf-8")
    first = next(t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.STRING)
    assert first.start[0] == 1, "示例应以标题文档字符串开头"
    assert single_escapes(first.string) == [], "文档字符串里的 TeX 命令要写成 \\\\times、\\\\mathbf……"


@pytest.mark.parametrize("script", SCRIPTS, ids=IDS)
def test_compiles_without_warnings(script):
    source = script.read_text(encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 无效转义：3.12 起是 SyntaxWarning，之前是 DeprecationWarning
        compile(source, str(script), "exec")


# f"{'均值':>8}" 按字符个数补空格，汉字却占两列：表头对不上下面的数据。要用 dlbook.text.pad。
_PADDED_CHINESE = re.compile(
    r"""\{\s*(['"])(?:(?!\1).)*[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef](?:(?!\1).)*\1\s*:\s*[<>^]?\d+\s*\}"""
)


def test_padded_chinese_pattern():
    assert _PADDED_CHINESE.search("""print(f"{'':<6}{'均值':>8}{'标准差':>8}")""")
    assert _PADDED_CHINESE.search('''print(f"{"模型（层）":<10}")''')
    assert not _PADDED_CHINESE.search("""print(f"{'D(G(z))':>8} {pad('的梯度', 16, align='>')}")""")
    assert not _PADDED_CHINESE.search("""print(f"{name:<10} 参数")""")


@pytest.mark.parametrize("script", SCRIPTS, ids=IDS)
def test_chinese_literals_are_not_padded_by_character_count(script):
    found = [m[0] for m in _PADDED_CHINESE.finditer(script.read_text(encoding="utf-8"))]
    assert found == [], f"{found}：汉字占两列，请用 dlbook.text.pad(文字, 宽度, align=...) 补空格"


_TOOLS = sorted((GALLERY.parent / "benchmarks").glob("*.py")) + sorted((GALLERY.parent / "scripts").glob("*.py"))


@pytest.mark.parametrize("tool", _TOOLS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_benchmark_and_script_tables_pad_chinese_by_width(tool):
    # 基准测试打印的表格记进 benchmarks/RESULTS.md，表头一样要对齐（benchmarks/d2l_lenet.py 曾有 5 处）
    found = [m[0] for m in _PADDED_CHINESE.finditer(tool.read_text(encoding="utf-8"))]
    assert found == [], f"{found}：汉字占两列，请用 dlbook.text.pad(文字, 宽度, align=...) 补空格"


@pytest.mark.parametrize("script", SCRIPTS, ids=IDS)
def test_code_lines_fit_the_page(script):
    # 页面上的代码框放得下 CODE_COLUMNS 个字符（tests/test_browser.py 量它）；更长的行要横向滚动才看得全
    long = long_code_lines(script)
    where = "\n".join(f"{script.relative_to(GALLERY)}:{line}: {width} 个字符宽" for line, width in long)
    assert not long, f"代码行比 {CODE_COLUMNS} 个字符宽（汉字算两个），请拆行或把注释移到上一行：\n{where}"


def test_long_lines_in_markdown_code_blocks_are_found(tmp_path):
    # Markdown 单元格里的代码块比代码单元格窄，不折行；正文的长行会折行，不算
    long = "x" * (MARKDOWN_CODE_COLUMNS + 1)
    script = tmp_path / "plot_demo.py"
    script.write_text(
        '"""\n标题\n====\n"""\n\n# %% [markdown]\n'
        f"# {long}\n#\n# ```python\n# {long}\n# ok = 1\n# ```\n# {long}\n\n# %%\nx = 1\n",
        encoding="utf-8",
    )
    assert long_code_lines(script) == [(10, MARKDOWN_CODE_COLUMNS + 1)]


def _comments_read_as_text(source: str) -> list[int]:
    """紧跟在 ``# %%``（不带 ``[markdown]``）后面的注释行的行号。

    sphinx-gallery 把它们读成文字块，页面上成了一段没头没尾的正文，代码单元格里反而没有这条注释。
    本书的正文一律写在 ``# %% [markdown]`` 之后。
    """
    lines = source.splitlines()
    return [i + 2 for i, line in enumerate(lines[:-1]) if line.strip() == "# %%" and lines[i + 1].startswith("#")]


def test_comments_read_as_text_are_only_those_right_after_a_code_marker():
    source = "# %%\n# 五幅图\nfig = 1\n\n# %% [markdown]\n# 正文\n\n# %%\nx = 1  # 注释\n# 第二行\n"
    assert _comments_read_as_text(source) == [2]


@pytest.mark.parametrize("script", SCRIPTS, ids=IDS)
def test_code_cells_do_not_start_with_a_comment(script):
    found = _comments_read_as_text(script.read_text(encoding="utf-8"))
    assert not found, (
        f"{script.relative_to(GALLERY)} 第 {found} 行：代码单元格以注释开头，sphinx-gallery 会把它当成正文；"
        "请把注释移到第一行代码之后，或把正文写在 # %% [markdown] 之后"
    )
