"""NiN（网络中的网络）：用 1×1 卷积代替全连接层，用全局平均汇聚代替分类头。"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

__all__ = ["NiN", "nin_block"]


def nin_block(
    in_channels: int, out_channels: int, kernel_size: int, *, stride: int = 1, padding: int = 0
) -> nn.Sequential:
    """一个 NiN 块：一个普通卷积，再接两个 1×1 卷积，每个卷积后面都是 ReLU。

    1×1 卷积在每个像素位置上对通道做一次全连接，相当于在每个位置放了一个小的多层感知机。

    >>> block = nin_block(3, 8, 3, padding=1)
    >>> block(torch.zeros(1, 3, 10, 10)).shape
    torch.Size([1, 8, 10, 10])
    >>> [m.kernel_size for m in block if isinstance(m, nn.Conv2d)]
    [(3, 3), (1, 1), (1, 1)]
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding),
        nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1),
        nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1),
        nn.ReLU(),
    )


class NiN(nn.Module):
    """NiN，来自 `Network In Network <https://arxiv.org/abs/1312.4400>`_
    （Lin, Chen, Yan, 2013）。

    卷积核大小、步幅和通道数沿用 AlexNet（11×11 步幅 4 的 96 通道，5×5 的 256 通道，
    3×3 的 384 通道），但每个卷积都换成 :func:`nin_block`。最后一个 NiN 块直接输出
    ``num_classes`` 个通道，再对每个通道做全局平均汇聚，得到的就是各类的分数，网络里没有全连接层。

    这是《动手学深度学习》的写法：输入是 224×224 的单通道灰度图；和它一样，最后一个块也以
    ReLU 结尾，所以输出的分数都不小于 0（softmax 与交叉熵照样可用）。
    全局平均汇聚对任何尺寸都适用；最小可用边长是 67，再小，第三个最大汇聚层就没有
    3×3 的窗口可取了。

    Args:
        num_classes: 输出类别数，也就是最后一个 NiN 块的输出通道数。
        in_channels: 输入通道数，灰度图为 1，彩色图为 3。
        dropout: 最后一个 NiN 块之前的暂退概率。

    >>> net = NiN()
    >>> net(torch.zeros(2, 1, 96, 96)).shape
    torch.Size([2, 10])
    """

    input_shape: ClassVar[tuple[int, int, int]] = (1, 224, 224)
    min_input_size: ClassVar[int] = 67

    def __init__(
        self, num_classes: int = 10, *, in_channels: int = 1, dropout: float = 0.5
    ) -> None:
        super().__init__()
        # 注释里的形状对应 224×224 的输入
        self.features = nn.Sequential(
            nin_block(in_channels, 96, kernel_size=11, stride=4),  # (B, 96, 54, 54)
            nn.MaxPool2d(kernel_size=3, stride=2),  # (B, 96, 26, 26)
            nin_block(96, 256, kernel_size=5, padding=2),  # (B, 256, 26, 26)
            nn.MaxPool2d(kernel_size=3, stride=2),  # (B, 256, 12, 12)
            nin_block(256, 384, kernel_size=3, padding=1),  # (B, 384, 12, 12)
            nn.MaxPool2d(kernel_size=3, stride=2),  # (B, 384, 5, 5)
            nn.Dropout(dropout),
            nin_block(384, num_classes, kernel_size=3, padding=1),  # (B, num_classes, 5, 5)
        )
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)  # (B, num_classes, 5, 5)
        x = self.avgpool(x)  # (B, num_classes, 1, 1)
        return torch.flatten(x, 1)  # (B, num_classes)
