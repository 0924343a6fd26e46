from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dlbook.augment import random_crop_flip


def _crops(img: torch.Tensor, p: int) -> list[torch.Tensor]:
    """一张图补零后所有可能的裁剪块，以及它们的水平翻转。"""
    C, H, W = img.shape
    padded = F.pad(img, (p, p, p, p))
    out = []
    for dy in range(2 * p + 1):
        for dx in range(2 * p + 1):
            crop = padded[:, dy : dy + H, dx : dx + W]
            out += [crop, crop.flip(-1)]
    return out


@pytest.mark.parametrize("padding", [0, 1, 3])
def test_every_output_is_a_crop_or_flip_of_its_own_input(padding):
    X = torch.randn(16, 3, 6, 5, generator=torch.Generator().manual_seed(0))
    out = random_crop_flip(X, padding=padding, generator=torch.Generator().manual_seed(1))
    assert out.shape == X.shape
    for img, aug in zip(X, out):
        assert any(torch.equal(aug, c) for c in _crops(img, padding))


@pytest.mark.parametrize("padding", [1, 2, None])
def test_offsets_and_flips_are_spread_out(padding):
    # 每张图都是同一张“坐标图”：像素值编码了它的位置，于是能从输出反推偏移和是否翻转
    H = W = 8
    base = torch.arange(1.0, H * W + 1).reshape(1, 1, H, W).repeat(2000, 1, 1, 1)
    kwargs = {} if padding is None else {"padding": padding}  # None：默认的 padding=2
    out = random_crop_flip(base, flip=False, generator=torch.Generator().manual_seed(0), **kwargs)
    centre = out[:, 0, 4, 4]  # 原图中心附近的像素跑到了哪里
    p = 2 if padding is None else padding
    assert len(set(centre.tolist())) == (2 * p + 1) ** 2  # 每种偏移都出现了
    flipped = random_crop_flip(base, padding=0, generator=torch.Generator().manual_seed(0))
    share = (flipped[:, 0, 0, 0] == W).float().mean().item()
    assert 0.45 < share < 0.55


def test_same_generator_same_result():
    X = torch.randn(8, 1, 5, 5)
    a = random_crop_flip(X, generator=torch.Generator().manual_seed(3))
    b = random_crop_flip(X, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_bad_input():
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        random_crop_flip(torch.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="padding"):
        random_crop_flip(torch.zeros(1, 1, 4, 4), padding=-1)
