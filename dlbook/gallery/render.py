"""把执行过的笔记本写成 Markdown，嵌进章节页面。

代码成为普通的高亮代码块，文本输出成为 ``text`` 代码块，图像输出成为图片文件的引用
（不是内嵌的 base64），图本身又链接到这个文件：宽图在正文里缩小了，点开看原大小。
图片文件由 :func:`extract_images` 取出，交给调用者写盘。图片的替代文字来自输出的元数据
``{"image/png": {"alt": …}}``（:func:`dlbook.plot.show` 用图里的标题填写），没有时用 :data:`DEFAULT_ALT`；
同一处的 ``smallest_text_px`` 是图里最小文字的像素字号（:func:`dlbook.plot.smallest_text_px`）。
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass

from nbformat import NotebookNode

__all__ = [
    "DEFAULT_ALT",
    "FIGURE_LINK_CLASS",
    "FIGURE_LINK_TITLE",
    "Image",
    "clean_text",
    "coalesce_streams",
    "extract_images",
    "notebook_to_markdown",
]

DEFAULT_ALT = "示例输出的图"
FIGURE_LINK_CLASS = "dlbook-figure-link"
FIGURE_LINK_TITLE = "查看原图"

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_HEADING = re.compile(r"^(#{1,5})(\s)", re.MULTILINE)
_IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/svg+xml": "svg"}


@dataclass(frozen=True)
class Image:
    """笔记本里的一张图：它在第几个单元格、第几个输出，文件名、字节、MIME 类型、替代文字，
    以及图里最小文字的像素字号（不知道时为 ``None``）。"""

    cell: int
    output: int
    name: str
    data: bytes
    mime: str = "image/png"
    alt: str = DEFAULT_ALT
    text_px: float | None = None


def clean_text(text: str) -> str:
    r"""去掉终端控制字符，只保留每行回车之后的最后一段（进度条的残影）。

    >>> clean_text("\x1b[31m红\x1b[0m\n10%\r50%\r100%\n")
    '红\n100%\n'
    """
    text = _ANSI.sub("", text)
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


def coalesce_streams(nb: NotebookNode) -> NotebookNode:
    r"""把每个代码单元格里相邻的、同一个流（stdout 或 stderr）的输出并成一个，原地修改并返回 ``nb``。

    内核把一次运行的打印分成几块送来（中间隔着一次刷新就会分开），页面上就成了几个挨着的输出框。

    >>> from nbformat.v4 import new_code_cell, new_notebook, new_output
    >>> cell = new_code_cell("print(1); print(2)", outputs=[
    ...     new_output("stream", name="stdout", text="1\n"), new_output("stream", name="stdout", text="2\n"),
    ...     new_output("stream", name="stderr", text="警告\n")])
    >>> [(o.name, o.text) for o in coalesce_streams(new_notebook(cells=[cell])).cells[0].outputs]
    [('stdout', '1\n2\n'), ('stderr', '警告\n')]
    """
    for cell in nb.cells:
        merged: list[NotebookNode] = []
        for output in cell.get("outputs", []):
            previous = merged[-1] if merged else None
            if (
                previous is not None
                and output.get("output_type") == "stream"
                and previous.get("output_type") == "stream"
                and previous.get("name") == output.get("name")
            ):
                previous["text"] = _joined(previous.get("text", "")) + _joined(output.get("text", ""))
            else:
                merged.append(output)
        if "outputs" in cell:
            cell["outputs"] = merged
    return nb


def _image_of(output: NotebookNode) -> tuple[str, str, bytes, str, float | None] | None:
    data = output.get("data", {})
    for mime, ext in _IMAGE_TYPES.items():
        if mime in data:
            payload = data[mime]
            if isinstance(payload, list):
                payload = "".join(payload)
            raw = payload.encode("utf-8") if ext == "svg" else base64.b64decode(payload)
            meta = output.get("metadata", {}).get(mime, {})
            alt = meta.get("alt")
            alt = " ".join(alt.split()) if isinstance(alt, str) and alt.strip() else DEFAULT_ALT
            text_px = meta.get("smallest_text_px")
            text_px = float(text_px) if isinstance(text_px, (int, float)) and text_px > 0 else None
            return mime, ext, raw, alt, text_px
    return None


def extract_images(nb: NotebookNode, *, stem: str) -> list[Image]:
    """按出现顺序取出所有图像输出，文件名形如 ``<stem>_001.png``。"""
    images: list[Image] = []
    for ci, cell in enumerate(nb.cells):
        for oi, output in enumerate(cell.get("outputs", [])):
            found = _image_of(output)
            if found is not None:
                mime, ext, raw, alt, text_px = found
                images.append(Image(ci, oi, f"{stem}_{len(images) + 1:03d}.{ext}", raw, mime, alt, text_px))
    return images


def _fence(body: str, lang: str) -> str:
    ticks = "```"
    while ticks in body:
        ticks += "`"
    return f"{ticks}{lang}\n{body.rstrip()}\n{ticks}"


def _joined(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


def _markdown_alt(text: str) -> str:
    r"""放进 ``![…](…)`` 的替代文字：方括号和反斜杠前加反斜杠。

    >>> _markdown_alt("x[1]")
    'x\\[1\\]'
    """
    return re.sub(r"([\\\[\]])", r"\\\1", text)


def _render_output(output: NotebookNode, image: tuple[Image, str] | None) -> str | None:
    kind = output.get("output_type")
    if kind == "stream":
        text = clean_text(_joined(output.get("text", ""))).strip("\n")
        return _fence(text, "text") if text.strip() else None
    if kind in ("display_data", "execute_result"):
        data = output.get("data", {})
        if image is not None:
            alt, src = _markdown_alt(image[0].alt), image[1]
            return f'[![{alt}]({src})]({src} "{FIGURE_LINK_TITLE}"){{ .{FIGURE_LINK_CLASS} }}'
        if "text/html" in data:
            return '<div class="dlbook-output" markdown="0">\n' + _joined(data["text/html"]) + "\n</div>"
        if "text/markdown" in data:
            return _joined(data["text/markdown"])
        if "text/plain" in data:
            return _fence(clean_text(_joined(data["text/plain"])), "text")
        return None
    if kind == "error":  # 构建时不允许出错；这里只为渲染别人给的笔记本
        return _fence(clean_text("\n".join(output.get("traceback", []))), "text")
    return None


def notebook_to_markdown(
    nb: NotebookNode,
    *,
    images: list[Image],
    image_src: Callable[[Image], str],
    header: str = "",
    heading_shift: int = 1,
) -> str:
    """把执行过的笔记本渲染成 Markdown；``images`` 来自 :func:`extract_images`。

    第一个 Markdown 单元格的一级标题变成 ``## 示例：…``，其余标题降 ``heading_shift`` 级，
    这样示例嵌在章节里不会和页面标题抢层级。``header`` 放在标题之后（运行信息、下载链接）。
    """
    by_position = {(im.cell, im.output): im for im in images}
    parts: list[str] = []
    for ci, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            text = cell.source
            if ci == 0 and text.startswith("# "):
                title, _, rest = text.partition("\n")
                parts.append(f"{'#' * (1 + heading_shift)} 示例：{title[2:].strip()}")
                if header:
                    parts.append(header)
                text = rest
            text = _HEADING.sub(lambda m: "#" * (len(m[1]) + heading_shift) + m[2], text)
            if text.strip():
                parts.append(text.strip("\n"))
        elif cell.cell_type == "code":
            parts.append(_fence(cell.source, "python"))
            for oi, output in enumerate(cell.get("outputs", [])):
                image = by_position.get((ci, oi))
                rendered = _render_output(output, (image, image_src(image)) if image else None)
                if rendered:
                    parts.append(rendered)
    return "\n\n".join(parts) + "\n"
