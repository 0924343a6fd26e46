"""VGG：用重复的“若干 3×3 卷积 + 最大汇聚”块搭出的网络。"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor, nn

__all__ = ["VGG", "VGG11_ARCH", "SmallVGG11", "vgg11", "vgg_block"]

VGG11_ARCH: tuple[tuple[int, int], ...] = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))
"""VGG-11 的卷积部分：每个元组是一个块的 ``(卷积层数, 输出通道数)``，共 8 个卷积层。"""


def vgg_block(num_convs: int, in_channels: int, out_channels: int) -> nn.Sequential:
    """一个 VGG 块：``num_convs`` 个“3×3 卷积（填充 1）+ ReLU”，再接 2×2、步幅 2 的最大汇聚。

    卷积不改变高和宽，汇聚把高和宽减半。

    >>> block = vgg_block(2, 3, 16)
    >>> block(torch.zeros(1, 3, 32, 32)).shape
    torch.Size([1, 16, 16, 16])
    >>> sum(isinstance(m, nn.Conv2d) for m in block)
    2
    """
    if num_convs < 1:
        raise ValueError(f"num_convs 至少是 1，收到的是 {num_convs}")
    layers: list[nn.Module] = []
    for _ in range(num_convs):
        layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU()]
        in_channels = out_channels
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """VGG，来自 `Very Deep Convolutional Networks for Large-Scale Image Recognition
    <https://arxiv.org/abs/1409.1556>`_ （Simonyan, Zisserman, 2014）。

    卷积部分由 ``conv_arch`` 描述的若干 :func:`vgg_block` 串成，每个块把高和宽减半；
    分类部分是两个各有 4096 个单元、带暂退法的全连接层和一个输出层。
    默认的 ``conv_arch`` 是 VGG-11（8 个卷积层 + 3 个全连接层）。

    与《动手学深度学习》的写法相比，全连接层之前多了 ``nn.AdaptiveAvgPool2d((7, 7))``
    （torchvision 的 VGG 也这样做）：224×224 的输入经过 5 个块正好是 7×7，这一层什么也不做；
    更小的输入也能接上同样的全连接层。5 个块时最小可用边长是 32（32 / 2⁵ = 1）。

    Args:
        conv_arch: 每个块的 ``(卷积层数, 输出通道数)``。
        num_classes: 输出类别数。
        in_channels: 输入通道数，灰度图为 1，彩色图为 3。
        width_divisor: 每个块的输出通道数都整除以它。《动手学深度学习》在 Fashion-MNIST 上
            用 4，计算量约为原来的 1/16；全连接层仍是 4096 个单元。
        dropout: 两个隐藏全连接层之后的暂退概率。

    >>> net = VGG(((1, 8), (1, 16)), width_divisor=2)
    >>> [block[0].out_channels for block in net.features]
    [4, 8]
    >>> net(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    input_shape: ClassVar[tuple[int, int, int]] = (1, 224, 224)
    min_input_size: ClassVar[int] = 32  # 对默认的 5 个块而言；一般是 2 ** len(conv_arch)

    def __init__(
        self,
        conv_arch: Sequence[tuple[int, int]] = VGG11_ARCH,
        num_classes: int = 10,
        *,
        in_channels: int = 1,
        width_divisor: int = 1,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if not conv_arch:
            raise ValueError("conv_arch 至少要有一个块")
        if width_divisor < 1:
            raise ValueError(f"width_divisor 必须是正整数，收到的是 {width_divisor}")
        blocks: list[nn.Module] = []
        for num_convs, out_channels in conv_arch:
            out_channels //= width_divisor
            if out_channels < 1:
                raise ValueError(f"width_divisor={width_divisor} 太大：有的块没有输出通道了")
            blocks.append(vgg_block(num_convs, in_channels, out_channels))
            in_channels = out_channels
        self.features = nn.Sequential(*blocks)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(in_channels * 7 * 7, 4096),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)  # VGG-11、224×224 的输入：(B, 512 // width_divisor, 7, 7)
        x = self.avgpool(x)  # (B, C, 7, 7)
        x = torch.flatten(x, 1)  # (B, C * 49)
        return self.classifier(x)  # (B, num_classes)


def vgg11(num_classes: int = 10, *, in_channels: int = 1, width_divisor: int = 1) -> VGG:
    """VGG-11；``width_divisor=1`` 是论文里的宽度（约 1.3 亿个参数）。

    >>> vgg11(width_divisor=4).features[0][0]
    Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    """
    return VGG(VGG11_ARCH, num_classes, in_channels=in_channels, width_divisor=width_divisor)


class SmallVGG11(VGG):
    """《动手学深度学习》在 Fashion-MNIST 上训练的窄 VGG-11：``vgg11(width_divisor=4)``。

    各块的通道数是 16、32、64、128、128，全连接层仍是 4096 个单元（参数主要在这里）。
    ``MODELS["vgg11"]`` 就是它，好让测试与快速模式负担得起。

    Args:
        num_classes: 输出类别数。
        in_channels: 输入通道数，灰度图为 1，彩色图为 3。
    """

    def __init__(self, num_classes: int = 10, *, in_channels: int = 1) -> None:
        super().__init__(VGG11_ARCH, num_classes, in_channels=in_channels, width_divisor=4)
