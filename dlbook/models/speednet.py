"""SpeedNet：为“几秒钟训练到 93%”这个目标设计的小型卷积网络（:mod:`dlbook.speedrun` 用它）。

思路来自 Keller Jordan 的 airbench（“94% on CIFAR-10 in 3.29 seconds”, 2024, arXiv:2404.00498）：
一个没有残差连接的 VGG 式网络，每组两个 3×3 卷积，第一个卷积之后紧跟 2×2 最大汇聚，
卷积之后接批量归一化和 GELU，最后全局最大汇聚再接一个全连接层。
与 airbench 的不同：输入是 28×28 的单通道图像，开头是普通的 3×3 卷积（没有白化层），通道数小得多。
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch  # noqa: F401  文档字符串里的 doctest 用到
from torch import Tensor, nn

__all__ = ["ConvGroup", "GlobalMaxPool", "SpeedNet"]


class GlobalMaxPool(nn.Module):
    """全局最大汇聚：``(B, C, H, W)`` → ``(B, C)``，每个通道取整张特征图上的最大值。

    与 ``nn.AdaptiveMaxPool2d(1)`` 再展平的前向相同；反向只在几个位置并列最大时不同（``amax`` 把梯度平分给它们）。
    用 ``amax`` 是因为它不必记下最大值的位置，而 PyTorch 2.4 的 Inductor 在 CPU 上为 ``AdaptiveMaxPool2d``
    的反向传播生成的 C++ 代码编译不过。

    >>> GlobalMaxPool()(torch.arange(8.0).reshape(1, 2, 2, 2))
    tensor([[3., 7.]])
    """

    def forward(self, x: Tensor) -> Tensor:
        return x.amax(dim=(2, 3))


class ConvGroup(nn.Module):
    """卷积 → 2×2 最大汇聚 → BN → GELU → 卷积 → BN → GELU：通道数变为 ``out_channels``，高宽减半。

    先汇聚再做规范化和激活：汇聚之后的特征图只有四分之一大，后面的运算也只剩四分之一。

    >>> ConvGroup(8, 16)(torch.zeros(2, 8, 14, 14)).shape
    torch.Size([2, 16, 7, 7])
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        # 紧跟 BN 的卷积不带偏置：偏置会被 BN 减去的均值抵消
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.pool = nn.MaxPool2d(kernel_size=2)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.act = nn.GELU()

    def forward(self, x: Tensor) -> Tensor:
        x = self.act(self.bn1(self.pool(self.conv1(x))))  # (B, C_out, H/2, W/2)
        return self.act(self.bn2(self.conv2(x)))  # (B, C_out, H/2, W/2)


class SpeedNet(nn.Module):
    """开头一个 3×3 卷积，接三个 :class:`ConvGroup`，全局最大汇聚后接全连接层；共 7 个卷积层。

    默认通道数 ``(16, 32, 64, 128)``，约 29 万个参数。28×28 的输入依次变成 28、14、7、3 的特征图。

    Args:
        num_classes: 输出类别数。
        in_channels: 输入通道数（Fashion-MNIST 为 1）。
        widths: 开头卷积与三个卷积组的输出通道数。

    >>> net = SpeedNet()
    >>> net(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    >>> sum(p.numel() for p in net.parameters())
    292656
    """

    input_shape: ClassVar[tuple[int, int, int]] = (1, 28, 28)
    min_input_size: ClassVar[int] = 8  # 三次 2×2 汇聚：8 → 4 → 2 → 1

    def __init__(
        self,
        num_classes: int = 10,
        *,
        in_channels: int = 1,
        widths: Sequence[int] = (16, 32, 64, 128),
    ) -> None:
        super().__init__()
        if len(widths) != 4 or any(w < 1 for w in widths):
            raise ValueError(f"widths 应为 4 个正整数（开头卷积与三个卷积组的通道数），而不是 {tuple(widths)}")
        w0, w1, w2, w3 = widths
        self.conv1 = nn.Conv2d(in_channels, w0, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(w0)
        self.act = nn.GELU()
        self.group1 = ConvGroup(w0, w1)
        self.group2 = ConvGroup(w1, w2)
        self.group3 = ConvGroup(w2, w3)
        self.pool = GlobalMaxPool()
        self.fc = nn.Linear(w3, num_classes, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        x = self.act(self.bn1(self.conv1(x)))  # (B, w0, 28, 28)
        x = self.group1(x)  # (B, w1, 14, 14)
        x = self.group2(x)  # (B, w2, 7, 7)
        x = self.group3(x)  # (B, w3, 3, 3)
        x = self.pool(x)  # (B, w3)
        return self.fc(x)  # (B, num_classes)
