"""dlbook.gallery.figures：图放进正文后最小的文字有多大（不执行示例的部分）。"""

from __future__ import annotations

import pytest

from dlbook.gallery.figures import COLUMN_PX, MIN_TEXT_PX, image_width, shown_text_px, too_small
from dlbook.gallery.render import Image

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png(width: int) -> bytes:
    return SIGNATURE + b"\x00\x00\x00\rIHDR" + width.to_bytes(4, "big") + (300).to_bytes(4, "big")


def test_image_width_reads_the_png_header():
    assert image_width(_png(688)) == 688
    assert image_width(_png(2**31 + 5)) == 2**31 + 5  # 无符号的四个字节
    assert image_width(_png(688)[:23]) is None  # 太短
    assert image_width(b"\x89PNX" + _png(688)[4:]) is None  # 签名不对
    assert image_width(SIGNATURE + b"\x00\x00\x00\rIHDX" + bytes(8)) is None  # 第一块不是 IHDR


@pytest.mark.parametrize(
    ("width", "shown"),
    [(COLUMN_PX, 12.0), (COLUMN_PX // 2, 12.0), (COLUMN_PX * 2, 6.0), (COLUMN_PX * 3, 4.0)],
)
def test_only_images_wider_than_the_column_shrink(width, shown):
    assert shown_text_px(Image(0, 0, "a.png", _png(width), text_px=12.0)) == pytest.approx(shown)


def test_unknown_sizes_give_none():
    assert shown_text_px(Image(0, 0, "a.svg", b"<svg/>", mime="image/svg+xml", text_px=12.0)) is None
    assert shown_text_px(Image(0, 0, "a.png", _png(100))) is None


def test_too_small_reports_only_what_is_below_the_minimum():
    at_minimum = Image(0, 0, "a_001.png", _png(COLUMN_PX * 2), text_px=2 * MIN_TEXT_PX)
    below = Image(0, 1, "a_002.png", _png(COLUMN_PX * 2), text_px=2 * MIN_TEXT_PX - 0.2)
    unknown = Image(0, 2, "a_003.png", b"GIF89a", text_px=1.0)
    problems = too_small([("plot_a", at_minimum), ("plot_a", below), ("plot_b", unknown)])
    assert problems == [
        "plot_a（a_002.png）：1376 px 宽，最小的文字 17.8 px，缩到正文的 688 px 后只有 8.9 px（至少 9 px）"
    ]
    assert too_small([("plot_a", at_minimum)], minimum=9.5) != []
    assert too_small([]) == []
