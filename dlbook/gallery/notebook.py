"""用 sphinx-gallery 自己的解析器把示例脚本转换成 Jupyter 笔记本。"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from sphinx_gallery.py_source_parser import (
    remove_config_comments,
    remove_ignore_blocks,
    split_code_and_text_blocks,
)

from dlbook.gallery.cjk import join_cjk_markdown
from dlbook.text import text_width

__all__ = ["CODE_COLUMNS", "MARKDOWN_CODE_COLUMNS", "ScriptError", "long_code_lines", "script_to_notebook", "script_title"]

CODE_COLUMNS = 80
# Markdown 单元格里的代码块（注释里用 ``` 围起来的）四周多了内边距，960 px 宽的窗口下只放得下约 69 个字符
MARKDOWN_CODE_COLUMNS = 68
"""示例里一行代码最多这么宽（等宽字符的个数，汉字算两个）。

章节页和示例页的代码框在桌面浏览器里都放得下 80 个字符（``tests/test_browser.py`` 量它）；
更长的行要横向滚动才看得全。代码里的汉字实际只有 1.66 个字符宽，按两个算留了余量。
"""

_SETEXT_TITLE = re.compile(r"^\s*(?P<title>[^\n]+)\n(?P<rule>=+)\s*(\n|$)")


class ScriptError(ValueError):
    """示例脚本的格式不对（缺少标题文档字符串等）。"""


def _title_cell(text: str, path: Path) -> tuple[str, str]:
    """把 ``标题\\n====`` 形式的文档字符串变成 ``# 标题``，返回 (标题, Markdown)。"""
    match = _SETEXT_TITLE.match(text)
    if match is None:
        raise ScriptError(
            f"{path}: 第一段文档字符串必须以标题开头，标题下一行是一排 '='，例如\n"
            '"""\n二维互相关\n==========\n\n导言……\n"""'
        )
    title = match["title"].strip()
    rest = text[match.end() :].strip("\n")
    body = f"# {title}\n\n{rest}".rstrip() + "\n"
    return title, body


_CELL_MARKER = re.compile(r"^\s*%%")
_BLOCK_START = re.compile(r"^\s*(?:[-+*]|\d+[.)])\s|^\s*[#>]")
_INLINE_DOLLAR = re.compile(r"(?<![\\$])\$(?!\$)")


def _check_text(text: str, path: Path, line: int) -> None:
    """Markdown 文本块里两种渲染出错的写法：混进来的单元格标记，以及行内公式折行后新的一行像列表项或标题。"""
    in_math = False  # 当前段落里有没有没闭合的行内公式 $…
    for offset, row in enumerate(text.split("\n")):
        where = f"{path}:{line + offset}"
        if _CELL_MARKER.match(row):
            raise ScriptError(
                f"{where}: 单元格标记 “# {row.strip()}” 落进了上面的文字块（它前面是一行只有 # 的注释）；"
                "在它前面空一行（不带 #）"
            )
        if not row.strip():
            in_math = False
            continue
        if in_math and _BLOCK_START.match(row):
            raise ScriptError(
                f"{where}: 行内公式 $…$ 折到这一行，而这一行以 “{row.strip()[:2]}” 开头，"
                "Markdown 会把它当成列表或标题，公式就断了：把这个符号移到上一行末尾"
            )
        if len(_INLINE_DOLLAR.findall(row.replace("$$", ""))) % 2:
            in_math = not in_math


def _blocks(path: Path):
    if not path.is_file():
        raise ScriptError(f"找不到示例脚本 {path}")
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        # python 照样能运行，sphinx-gallery 却读不出标题，会悄悄换上一段占位的文字
        raise ScriptError(f"{path}:1: 脚本以 UTF-8 的 BOM（EF BB BF）开头：请另存为不带 BOM 的 UTF-8")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScriptError(f"{path}:{line}: 脚本不是 UTF-8 编码（第 {exc.start} 个字节是 0x{raw[exc.start]:02x}）") from None
    nul = raw.find(b"\0")
    if nul >= 0:  # compile() 的报错没有行号，Python 3.10 上还不是 SyntaxError 而是 ValueError
        line = raw[:nul].count(b"\n") + 1
        raise ScriptError(f"{path}:{line}: 脚本含 NUL 字节（0x00），Python 不接受：请删掉它")
    try:
        compile(raw, str(path), "exec")
        _, blocks = split_code_and_text_blocks(str(path))
    except SyntaxError as exc:
        where = f"{path}:{exc.lineno}" if exc.lineno else str(path)
        raise ScriptError(f"{where}: 脚本有语法错误：{exc.msg}") from exc
    except Exception as exc:  # sphinx-gallery 对缺少文档字符串抛 ExtensionError
        if "docstring" not in str(exc):
            raise
        blocks = []
    if not blocks or blocks[0].type != "text":
        raise ScriptError(f"{path}: 脚本必须以标题文档字符串开头")
    for block in blocks:
        if block.type == "text":
            _check_text(block.content, path, block.lineno)
    return blocks


def long_code_lines(
    path: str | Path, *, columns: int = CODE_COLUMNS, markdown_columns: int = MARKDOWN_CODE_COLUMNS
) -> list[tuple[int, int]]:
    """脚本的代码单元格里比 ``columns`` 宽的行：``[(行号, 宽度), ...]``（宽度按 :func:`dlbook.text.text_width`）。

    文字块（文档字符串和 Markdown 注释）是正文，页面上自动折行，不算在内；但其中用 ``` 围起来的代码块不折行，
    它们的行不能比 ``markdown_columns`` 宽（默认 :data:`MARKDOWN_CODE_COLUMNS`，比代码单元格窄）。

    >>> import tempfile, pathlib
    >>> src = '\"\"\"\\n标题\\n====\\n\"\"\"\\n\\n# %%\\ny = 2222  # 二十列整\\nx = 1  # 一个很长的注释\\nprint("好")\\n'
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d, "plot_demo.py")
    ...     _ = p.write_text(src, encoding="utf-8")
    ...     long_code_lines(p, columns=20)  # 第 7 行正好 20 列，不算；第 8 行 23 列
    [(8, 23)]
    """
    found = []
    for block in _blocks(Path(path)):
        fenced = False  # 文字块里是否正在 ``` 代码块中
        for i, row in enumerate(block.content.split("\n")):
            if block.type == "code":
                limit = columns
            elif row.lstrip().startswith("```"):
                fenced = not fenced
                continue
            elif fenced:
                limit = markdown_columns
            else:
                continue  # 正文，自动折行
            if (width := text_width(row)) > limit:
                found.append((block.lineno + i, width))
    return found


def script_title(path: str | Path) -> str:
    """返回示例脚本的标题（文档字符串的第一行）。"""
    path = Path(path)
    return _title_cell(_blocks(path).pop(0).content, path)[0]


def script_to_notebook(path: str | Path) -> NotebookNode:
    """把一个 sphinx-gallery 笔记本风格的脚本转换成 nbformat 4 笔记本。

    文档字符串和 ``# %% [markdown]`` 之后的注释行成为 Markdown 单元格，
    其余成为代码单元格；sphinx-gallery 的配置注释与忽略块会被去掉。

    >>> import tempfile, pathlib
    >>> src = '\"\"\"\\n标题\\n====\\n\\n导言。\\n\"\"\"\\n\\n# %%\\nx = 1\\n\\n# %% [markdown]\\n# 正文\\n\\n# %%\\nx + 1\\n'
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d, "plot_demo.py")
    ...     _ = p.write_text(src, encoding="utf-8")
    ...     nb = script_to_notebook(p)
    >>> [(c.cell_type, c.source) for c in nb.cells]
    [('markdown', '# 标题\\n\\n导言。\\n'), ('code', 'x = 1'), ('markdown', '正文'), ('code', 'x + 1')]
    """
    path = Path(path)
    blocks = _blocks(path)
    title, intro = _title_cell(blocks[0].content, path)
    # 注释里折行的中文：换行在浏览器里显示成空格，在 Markdown 单元格里就接起来
    cells = [nbformat.v4.new_markdown_cell(join_cjk_markdown(intro))]
    for block in blocks[1:]:
        if block.type == "code":
            source = remove_ignore_blocks(remove_config_comments(block.content)).strip("\n")
            if source.strip():
                cells.append(nbformat.v4.new_code_cell(source))
        else:
            text = block.content.strip("\n")
            if text.strip():
                cells.append(nbformat.v4.new_markdown_cell(join_cjk_markdown(text)))

    for i, cell in enumerate(cells):
        cell.id = f"cell-{i}"  # 固定的 id：同一个脚本总是得到同样的笔记本
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["dlbook"] = {"title": title, "source": path.name}
    return nb
