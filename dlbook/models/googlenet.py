"""GoogLeNet：由并行多路的 Inception 块组成的网络。"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

__all__ = ["GoogLeNet", "Inception"]


class Inception(nn.Module):
    """Inception 块：四条并行的路径，输出在通道维上连结。

    1. 1×1 卷积，``c1`` 个通道；
    2. 1×1 卷积降到 ``c2[0]`` 个通道，再 3×3 卷积到 ``c2[1]`` 个通道；
    3. 1×1 卷积降到 ``c3[0]`` 个通道，再 5×5 卷积到 ``c3[1]`` 个通道；
    4. 3×3 最大汇聚（步幅 1），再 1×1 卷积到 ``c4`` 个通道。

    每个卷积后面接 ReLU。各路都用填充保持高和宽不变，所以输出的高和宽与输入相同，
    通道数是 ``c1 + c2[1] + c3[1] + c4``（即 ``out_channels``）。
    路径 2、3 里先用 1×1 卷积减少通道，3×3、5×5 卷积的计算量因此小得多。

    Args:
        in_channels: 输入通道数。
        c1: 路径 1 的输出通道数。
        c2: 路径 2 的 ``(1×1 卷积的通道数, 3×3 卷积的通道数)``。
        c3: 路径 3 的 ``(1×1 卷积的通道数, 5×5 卷积的通道数)``。
        c4: 路径 4 的输出通道数。

    >>> block = Inception(192, 64, (96, 128), (16, 32), 32)
    >>> block.out_channels
    256
    >>> block(torch.zeros(1, 192, 12, 12)).shape
    torch.Size([1, 256, 12, 12])
    """

    def __init__(
        self, in_channels: int, c1: int, c2: tuple[int, int], c3: tuple[int, int], c4: int
    ) -> None:
        super().__init__()
        self.branch1 = nn.Sequential(nn.Conv2d(in_channels, c1, kernel_size=1), nn.ReLU())
        self.branch2 = nn.Sequential(
            nn.Conv2d(in_channels, c2[0], kernel_size=1),
            nn.ReLU(),
            nn.Conv2d(c2[0], c2[1], kernel_size=3, padding=1),
            nn.ReLU(),
        )
        self.branch3 = nn.Sequential(
            nn.Conv2d(in_channels, c3[0], kernel_size=1),
            nn.ReLU(),
            nn.Conv2d(c3[0], c3[1], kernel_size=5, padding=2),
            nn.ReLU(),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1),
            nn.Conv2d(in_channels, c4, kernel_size=1),
            nn.ReLU(),
        )
        self.out_channels = c1 + c2[1] + c3[1] + c4

    def forward(self, x: Tensor) -> Tensor:
        # 四路的输出都是 (B, c_i, H, W)，连结成 (B, out_channels, H, W)
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return torch.cat(branches, dim=1)


class GoogLeNet(nn.Module):
    """GoogLeNet（Inception v1），来自 `Going Deeper with Convolutions
    <https://arxiv.org/abs/1409.4842>`_ （Szegedy et al., 2014）。

    五个模块 ``b1`` … ``b5``：前两个是普通卷积与汇聚，后三个由 9 个 :class:`Inception` 块
    组成（2 + 5 + 2），模块之间用 3×3、步幅 2 的最大汇聚把高和宽减半；最后全局平均汇聚，
    接一个全连接层分类。

    这是《动手学深度学习》在 Fashion-MNIST 上用的写法：输入是 96×96 的单通道灰度图；
    原论文的两个辅助分类器、局部响应归一化和输出层前的暂退法都没有。
    所有汇聚都带填充、最后又是全局平均汇聚，所以任何边长（直到 1）都能运行，只是太小的
    输入在后面几个模块里只剩 1×1 的特征图。

    Args:
        num_classes: 输出类别数。
        in_channels: 输入通道数，灰度图为 1，彩色图为 3。

    >>> net = GoogLeNet()
    >>> net(torch.zeros(2, 1, 32, 32)).shape
    torch.Size([2, 10])
    """

    input_shape: ClassVar[tuple[int, int, int]] = (1, 96, 96)
    min_input_size: ClassVar[int] = 1

    def __init__(self, num_classes: int = 10, *, in_channels: int = 1) -> None:
        super().__init__()
        self.b1 = nn.Sequential(
            nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )
        self.b2 = nn.Sequential(
            nn.Conv2d(64, 64, kernel_size=1),
            nn.ReLU(),
            nn.Conv2d(64, 192, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )
        self.b3 = nn.Sequential(
            Inception(192, 64, (96, 128), (16, 32), 32),  # 256 个通道
            Inception(256, 128, (128, 192), (32, 96), 64),  # 480
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )
        self.b4 = nn.Sequential(
            Inception(480, 192, (96, 208), (16, 48), 64),  # 512
            Inception(512, 160, (112, 224), (24, 64), 64),  # 512
            Inception(512, 128, (128, 256), (24, 64), 64),  # 512
            Inception(512, 112, (144, 288), (32, 64), 64),  # 528
            Inception(528, 256, (160, 320), (32, 128), 128),  # 832
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )
        self.b5 = nn.Sequential(
            Inception(832, 256, (160, 320), (32, 128), 128),  # 832
            Inception(832, 384, (192, 384), (48, 128), 128),  # 1024
        )
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.b1(x)  # (B, 64, 24, 24)，对应 96×96 的输入
        x = self.b2(x)  # (B, 192, 12, 12)
        x = self.b3(x)  # (B, 480, 6, 6)
        x = self.b4(x)  # (B, 832, 3, 3)
        x = self.b5(x)  # (B, 1024, 3, 3)
        x = self.avgpool(x)  # (B, 1024, 1, 1)
        x = torch.flatten(x, 1)  # (B, 1024)
        return self.fc(x)  # (B, num_classes)
