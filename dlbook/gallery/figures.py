"""示例的图放进页面后，文字还看得清吗？

浏览器把比正文宽的图缩到正文的宽度，图里的文字跟着缩小：一张 15 英寸宽、四个子图并排的图，
10 点的刻度在 1280 px 宽的窗口里只剩 6 px 高。:func:`dlbook.plot.show` 在构建时记下每张图里最小文字的
像素字号（:func:`dlbook.plot.smallest_text_px`），这里换算成它在页面上的大小，并找出太小的图。

章节页和示例的单独页面上，图都与正文一样宽。手机上的图更小，点开图看原图
（页面上每张图都链接到自己的文件）。

命令行：执行几个示例（quick 模式、CPU、不用缓存），列出每张图的大小和文字::

    python -m dlbook.gallery.figures gallery/gan/plot_first_gan.py
"""

from __future__ import annotations

import argparse
import struct
import sys
from collections.abc import Iterable
from pathlib import Path

from dlbook.gallery.render import Image

__all__ = [
    "COLUMN_PX",
    "MIN_TEXT_PX",
    "image_width",
    "shown_text_px",
    "too_small",
]

COLUMN_PX = 688
"""1280 px 宽的窗口里正文的宽度（CSS 像素），章节页与示例页一样；``tests/test_browser.py`` 量它。"""

MIN_TEXT_PX = 9.0
"""图里最小的文字在页面上至少这么高（CSS 像素）；正文是 16 px。"""


def image_width(data: bytes) -> int | None:
    """PNG 图片的宽度（像素），从文件头读出；不是 PNG 时返回 ``None``。

    >>> header = b"\\x89PNG\\r\\n\\x1a\\n\\x00\\x00\\x00\\rIHDR"
    >>> image_width(header + (811).to_bytes(4, "big") + bytes(4))
    811
    >>> image_width(b"GIF89a") is None
    True
    """
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">I", data[16:20])[0]


def shown_text_px(image: Image, *, column_px: int = COLUMN_PX) -> float | None:
    """``image`` 里最小的文字在 ``column_px`` 宽的正文里有多高；不知道时返回 ``None``。

    图不比正文宽时按原大小显示，否则缩到正文的宽度。

    >>> header = b"\\x89PNG\\r\\n\\x1a\\n\\x00\\x00\\x00\\rIHDR"
    >>> png = header + (1376).to_bytes(4, "big") + bytes(4)
    >>> shown_text_px(Image(0, 0, "a.png", png, text_px=13.89))  # 宽一倍：缩小一半
    6.945
    >>> shown_text_px(Image(0, 0, "a.png", png, text_px=13.89), column_px=1400)
    13.89
    """
    width = image_width(image.data)
    if width is None or image.text_px is None:
        return None
    return image.text_px * min(1.0, column_px / width)


def too_small(images: Iterable[tuple[str, Image]], *, minimum: float = MIN_TEXT_PX) -> list[str]:
    """``(名字, 图)`` 里在页面上文字小于 ``minimum`` 的图，每张一行说明。"""
    problems = []
    for name, image in images:
        shown = shown_text_px(image)
        if shown is not None and shown < minimum:
            problems.append(
                f"{name}（{image.name}）：{image_width(image.data)} px 宽，最小的文字 {image.text_px:.1f} px，"
                f"缩到正文的 {COLUMN_PX} px 后只有 {shown:.1f} px（至少 {minimum:g} px）"
            )
    return problems


def _report(script: Path) -> list[str]:
    from dlbook.gallery.execute import execute_notebook
    from dlbook.gallery.notebook import script_to_notebook
    from dlbook.gallery.render import extract_images

    nb = script_to_notebook(script)
    execute_notebook(nb, script=script, env={"DLBOOK_MODE": "quick", "DLBOOK_DEVICE": "cpu"})
    lines = []
    for image in extract_images(nb, stem=script.stem):
        shown = shown_text_px(image)
        verdict = "" if shown is None or shown >= MIN_TEXT_PX else f"  ← 小于 {MIN_TEXT_PX:g} px"
        text = "?" if image.text_px is None else f"{image.text_px:.1f}"
        on_page = "?" if shown is None else f"{shown:.1f}"
        lines.append(
            f"{image.name}: {image_width(image.data)} px 宽，最小文字 {text} px，页面上 {on_page} px{verdict}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dlbook.gallery.figures",
        description="像构建网站时一样执行示例（quick 模式、CPU、不用缓存），列出每张图在页面上的大小和最小的字号。",
    )
    parser.add_argument("scripts", nargs="*", type=Path, metavar="gallery/<章>/plot_<名>.py")
    scripts = parser.parse_args(sys.argv[1:] if argv is None else argv).scripts
    if not scripts:
        print("用法：python -m dlbook.gallery.figures gallery/<章>/plot_<名>.py ...", file=sys.stderr)
        return 2
    for script in scripts:
        if not script.is_file():
            print(f"找不到示例脚本 {script}", file=sys.stderr)
            return 2
    from dlbook.gallery.execute import ExampleError
    from dlbook.gallery.notebook import ScriptError

    for script in scripts:
        print(script)
        try:
            lines = _report(script)
        except (ExampleError, ScriptError) as error:
            print(error, file=sys.stderr)
            return 1
        for line in lines:
            print("  " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
