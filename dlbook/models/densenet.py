"""DenseNet：每一层都把前面所有层的输出在通道维上连结起来作为输入。"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor, nn

__all__ = ["DenseBlock", "DenseNet", "conv_block", "transition_block"]


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """稠密块里的一层：“批量归一化 → ReLU → 3×3 卷积”（先归一化、激活，再卷积）。

    卷积的输出只会被后面的批量归一化层读到（稠密块里的下一层、过渡层或最后的 BN），
    偏置会被减去的均值抵消，所以卷积不带偏置。

    >>> conv_block(3, 10)(torch.zeros(1, 3, 8, 8)).shape
    torch.Size([1, 10, 8, 8])
    """
    return nn.Sequential(
        nn.BatchNorm2d(in_channels),
        nn.ReLU(),
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
    )


class DenseBlock(nn.Module):
    """稠密块：``num_convs`` 个 :func:`conv_block`，每个的输入是块的输入与前面各层输出的连结。

    每层新增 ``growth_rate`` 个通道（增长率），所以输出通道数是
    ``in_channels + num_convs * growth_rate``，保存在 ``out_channels`` 里；高和宽不变。

    Args:
        num_convs: 卷积块的个数。
        in_channels: 输入通道数。
        growth_rate: 每个卷积块输出的通道数。

    >>> block = DenseBlock(2, 3, 10)
    >>> block.out_channels  # 3 + 2 × 10
    23
    >>> block(torch.zeros(4, 3, 8, 8)).shape
    torch.Size([4, 23, 8, 8])
    """

    def __init__(self, num_convs: int, in_channels: int, growth_rate: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            *(conv_block(in_channels + i * growth_rate, growth_rate) for i in range(num_convs))
        )
        self.out_channels = in_channels + num_convs * growth_rate

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            y = layer(x)  # (B, growth_rate, H, W)
            x = torch.cat([x, y], dim=1)  # 通道数增加 growth_rate
        return x  # (B, out_channels, H, W)


def transition_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """过渡层：“批量归一化 → ReLU → 1×1 卷积 → 2×2、步幅 2 的平均汇聚”。

    1×1 卷积减少通道数（稠密块让通道越来越多），平均汇聚把高和宽减半。

    >>> transition_block(23, 10)(torch.zeros(4, 23, 8, 8)).shape
    torch.Size([4, 10, 4, 4])
    """
    return nn.Sequential(
        nn.BatchNorm2d(in_channels),
        nn.ReLU(),
        nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False),
        nn.AvgPool2d(kernel_size=2, stride=2),
    )


class DenseNet(nn.Module):
    """DenseNet，来自 `Densely Connected Convolutional Networks
    <https://arxiv.org/abs/1608.06993>`_ （Huang, Liu, van der Maaten, Weinberger, 2016）。

    开头与 ResNet 相同（7×7、步幅 2 的 64 通道卷积 + 批量归一化 + ReLU + 3×3、步幅 2 的最大汇聚），
    然后是若干 :class:`DenseBlock`，相邻两个之间用 :func:`transition_block` 把通道数和高、宽都减半；
    最后“批量归一化 → ReLU → 全局平均汇聚 → 全连接层”。

    这是《动手学深度学习》在 Fashion-MNIST 上用的写法：输入是 96×96 的单通道灰度图，
    4 个稠密块各有 4 层、增长率 32；通道数依次是 64 → 192 → 96 → 224 → 112 → 240 → 120 → 248。
    论文里的 DenseNet-121 等更深，并在每层 3×3 卷积前加了 1×1 的“瓶颈”卷积（B），过渡层再把通道数减半
    （压缩，C），两者合起来的网络叫 DenseNet-BC。这里没有瓶颈层，只做了过渡层的压缩。
    三个过渡层的平均汇聚各要求至少 2×2 的输入，所以最小可用边长是 29：
    28×28 的 Fashion-MNIST 原图进不去，需要放大（例如到 32 或 96）。

    Args:
        num_classes: 输出类别数。
        in_channels: 输入通道数，灰度图为 1，彩色图为 3。
        growth_rate: 稠密块里每层新增的通道数。
        block_config: 每个稠密块的层数。

    >>> net = DenseNet()
    >>> net(torch.zeros(2, 1, 32, 32)).shape
    torch.Size([2, 10])
    >>> [m.out_channels for m in net.blocks if isinstance(m, DenseBlock)]
    [192, 224, 240, 248]
    """

    input_shape: ClassVar[tuple[int, int, int]] = (1, 96, 96)
    min_input_size: ClassVar[int] = 29  # 对默认的 4 个稠密块而言

    def __init__(
        self,
        num_classes: int = 10,
        *,
        in_channels: int = 1,
        growth_rate: int = 32,
        block_config: Sequence[int] = (4, 4, 4, 4),
    ) -> None:
        super().__init__()
        if not block_config:
            raise ValueError("block_config 至少要有一个稠密块")
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        channels = 64
        blocks: list[nn.Module] = []
        for i, num_convs in enumerate(block_config):
            dense = DenseBlock(num_convs, channels, growth_rate)
            blocks.append(dense)
            channels = dense.out_channels
            if i != len(block_config) - 1:  # 最后一个稠密块之后不接过渡层
                blocks.append(transition_block(channels, channels // 2))
                channels //= 2
        self.blocks = nn.Sequential(*blocks)
        self.bn2 = nn.BatchNorm2d(channels)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        # 形状对应 96×96 的输入与默认设置
        x = self.relu(self.bn1(self.conv1(x)))  # (B, 64, 48, 48)
        x = self.maxpool(x)  # (B, 64, 24, 24)
        x = self.blocks(x)  # 24 → 12 → 6 → 3：(B, 248, 3, 3)
        x = self.relu(self.bn2(x))  # (B, 248, 3, 3)
        x = self.avgpool(x)  # (B, 248, 1, 1)
        x = torch.flatten(x, 1)  # (B, 248)
        return self.fc(x)  # (B, num_classes)
