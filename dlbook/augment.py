"""在设备上对整批图像做的数据增强：随机裁剪与水平翻转。

与 torchvision 的逐张变换不同，这里一次处理一个批量 ``(B, C, H, W)`` 的张量，数据在 GPU 上就在 GPU 上做，
适合配合 :class:`dlbook.data.TensorLoader` 的 ``transform`` 参数使用：

>>> X = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).reshape(2, 1, 4, 4)
>>> gen = torch.Generator().manual_seed(0)
>>> out = random_crop_flip(X, padding=1, generator=gen)
>>> out.shape, out.dtype
(torch.Size([2, 1, 4, 4]), torch.float32)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["random_crop_flip"]


def random_crop_flip(
    X: Tensor, *, padding: int = 2, flip: bool = True, generator: torch.Generator | None = None
) -> Tensor:
    """先在四周补 ``padding`` 个 0，再为每张图随机裁出原尺寸的一块；``flip`` 时一半的图左右翻转。

    等价于对每张图分别做 ``torchvision.transforms.RandomCrop((H, W), padding)`` 与
    ``RandomHorizontalFlip()``，但整批一次完成（用高级索引一次取出每张图自己的裁剪块）。

    Args:
        X: ``(B, C, H, W)`` 的图像批量。
        padding: 每侧补零的宽度；0 表示不裁剪。
        flip: 是否随机水平翻转。
        generator: 随机数生成器（应与 ``X`` 在同一设备上）；``None`` 用全局生成器。

    >>> X = torch.arange(9.0).reshape(1, 1, 3, 3)
    >>> torch.equal(random_crop_flip(X, padding=0, flip=False), X)
    True
    >>> flipped = random_crop_flip(X.repeat(64, 1, 1, 1), padding=0)
    >>> # 左上角要么是 0（没翻转），要么是 2（翻转了）
    >>> sorted({int(img[0, 0, 0]) for img in flipped})
    [0, 2]
    """
    if X.ndim != 4:
        raise ValueError(f"random_crop_flip 需要 (B, C, H, W) 的批量，收到的形状是 {tuple(X.shape)}")
    if padding < 0:
        raise ValueError(f"padding 不能为负数：{padding}")
    B, C, H, W = X.shape
    out = X
    if padding > 0:
        padded = F.pad(X, (padding, padding, padding, padding))
        # 每张图的左上角偏移 (dy, dx) ∈ [0, 2p]²，用高级索引一次取出所有裁剪块
        dy = torch.randint(0, 2 * padding + 1, (B,), device=X.device, generator=generator)
        dx = torch.randint(0, 2 * padding + 1, (B,), device=X.device, generator=generator)
        rows = (dy[:, None] + torch.arange(H, device=X.device))[:, None, :, None]  # (B, 1, H, 1)
        cols = (dx[:, None] + torch.arange(W, device=X.device))[:, None, None, :]  # (B, 1, 1, W)
        batch = torch.arange(B, device=X.device)[:, None, None, None]
        chans = torch.arange(C, device=X.device)[None, :, None, None]
        out = padded[batch, chans, rows, cols]
    if flip:
        mask = torch.rand(B, device=X.device, generator=generator) < 0.5
        out = torch.where(mask[:, None, None, None], out.flip(-1), out)
    return out
