"""ResNet：用残差块把很深的网络训练起来。"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

import torch
from torch import Tensor, nn

__all__ = ["ResNet", "Residual"]


class Residual(nn.Module):
    """残差块（torchvision 里叫 ``BasicBlock``）：输出是 ``relu(F(x) + x)``。

    ``F`` 是“3×3 卷积 → 批量归一化 → ReLU → 3×3 卷积 → 批量归一化”。块只需学习输入与
    目标之间的差 ``F(x)``：若恒等映射已经够好，把 ``F`` 的权重推向 0 即可，这比让几层网络
    从头拟合恒等映射容易得多；梯度也能沿着捷径（shortcut）直接传回前面的层。

    当 ``stride > 1`` 或通道数改变时，``x`` 与 ``F(x)`` 的形状不同，不能直接相加，这时要用
    ``use_1x1conv=True``：捷径上放一个同样步幅的 1×1 卷积（加批量归一化，与论文的投影捷径、
    torchvision 相同；《动手学深度学习》只用 1×1 卷积）。
    卷积后面紧跟批量归一化，卷积的偏置会被减去的均值抵消，所以卷积都不带偏置（``bias=False``）。

    Args:
        in_channels: 输入通道数。
        out_channels: 输出通道数。
        use_1x1conv: 捷径上是否用 1×1 卷积变换输入。
        stride: 第一个 3×3 卷积（和捷径上 1×1 卷积）的步幅；2 表示把高和宽减半。

    >>> block = Residual(3, 3)
    >>> block(torch.zeros(4, 3, 6, 6)).shape
    torch.Size([4, 3, 6, 6])
    >>> block = Residual(3, 6, use_1x1conv=True, stride=2)
    >>> block(torch.zeros(4, 3, 6, 6)).shape
    torch.Size([4, 6, 3, 3])
    """

    def __init__(
        self, in_channels: int, out_channels: int, *, use_1x1conv: bool = False, stride: int = 1
    ) -> None:
        super().__init__()
        if not use_1x1conv and (stride != 1 or in_channels != out_channels):
            raise ValueError(
                "步幅不是 1 或通道数改变时，输入与 F(x) 的形状不同，需要 use_1x1conv=True"
            )
        self.conv1 = nn.Conv2d(
            in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False
        )
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample: nn.Module | None = None
        if use_1x1conv:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: Tensor) -> Tensor:
        identity = x  # (B, C_in, H, W)
        out = self.relu(self.bn1(self.conv1(x)))  # (B, C_out, H / stride, W / stride)
        out = self.bn2(self.conv2(out))  # (B, C_out, H / stride, W / stride)
        if self.downsample is not None:
            identity = self.downsample(x)  # (B, C_out, H / stride, W / stride)
        return self.relu(out + identity)


def _make_layer(
    in_channels: int, out_channels: int, num_blocks: int, *, stride: int
) -> nn.Sequential:
    """一个阶段：第一个残差块负责改变步幅和通道数，其余的块形状不变。"""
    downsample = stride != 1 or in_channels != out_channels
    blocks = [Residual(in_channels, out_channels, use_1x1conv=downsample, stride=stride)]
    blocks += [Residual(out_channels, out_channels) for _ in range(num_blocks - 1)]
    return nn.Sequential(*blocks)


class ResNet(nn.Module):
    """ResNet，来自 `Deep Residual Learning for Image Recognition
    <https://arxiv.org/abs/1512.03385>`_ （He, Zhang, Ren, Sun, 2015）。

    默认是 ResNet-18：7×7、步幅 2 的卷积 + 批量归一化 + ReLU + 3×3、步幅 2 的最大汇聚，
    然后四个阶段 ``layer1`` … ``layer4``，各有 2 个 :class:`Residual` 块，通道数 64、128、256、512，
    后三个阶段的第一个块把高和宽减半；最后全局平均汇聚，接一个全连接层。
    1 + 4 × 2 × 2 + 1 = 18 个带权重的层（不算捷径上的 1×1 卷积）。

    这是《动手学深度学习》在 Fashion-MNIST 上用的写法：输入是 96×96 的单通道灰度图。

    ``stem="cifar"`` 把开头换成 3×3、步幅 1 的卷积且去掉最大汇聚（论文的 CIFAR-10 网络也用 3×3 开头、
    不做最大汇聚，不过那是另一种更窄的三阶段网络，通道数 16、32、64；这里沿用的是社区里常见的做法）：28×28 的图进入 ``layer1`` 时仍是 28×28，而不是 7×7，四个阶段依次是
    28、14、7、4。直接在 28×28 的 Fashion-MNIST 上训练时这样更好，但同样输入下计算量约是
    ``"imagenet"`` 开头的 14 倍。两种开头都能处理任何边长（直到 1）。

    Args:
        num_classes: 输出类别数。
        in_channels: 输入通道数，灰度图为 1，彩色图为 3。
        stem: ``"imagenet"`` 是论文在 ImageNet 上的开头，``"cifar"`` 是给小图用的开头。
        layers: 每个阶段的残差块数；``(2, 2, 2, 2)`` 是 ResNet-18，``(3, 4, 6, 3)`` 是 ResNet-34。

    >>> net = ResNet()
    >>> net(torch.zeros(2, 1, 96, 96)).shape
    torch.Size([2, 10])
    >>> ResNet(stem="cifar").maxpool
    Identity()
    """

    input_shape: ClassVar[tuple[int, int, int]] = (1, 96, 96)
    min_input_size: ClassVar[int] = 1

    def __init__(
        self,
        num_classes: int = 10,
        *,
        in_channels: int = 1,
        stem: Literal["imagenet", "cifar"] = "imagenet",
        layers: Sequence[int] = (2, 2, 2, 2),
    ) -> None:
        super().__init__()
        if len(layers) != 4 or min(layers) < 1:
            raise ValueError(f"layers 应当是 4 个正整数，收到的是 {layers!r}")
        self.maxpool: nn.Module
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        elif stem == "cifar":
            self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
            self.maxpool = nn.Identity()
        else:
            raise ValueError(f"stem 只能是 'imagenet' 或 'cifar'，收到的是 {stem!r}")
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.layer1 = _make_layer(64, 64, layers[0], stride=1)
        self.layer2 = _make_layer(64, 128, layers[1], stride=2)
        self.layer3 = _make_layer(128, 256, layers[2], stride=2)
        self.layer4 = _make_layer(256, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        # 形状对应 96×96 的输入与 stem="imagenet"
        x = self.relu(self.bn1(self.conv1(x)))  # (B, 64, 48, 48)
        x = self.maxpool(x)  # (B, 64, 24, 24)
        x = self.layer1(x)  # (B, 64, 24, 24)
        x = self.layer2(x)  # (B, 128, 12, 12)
        x = self.layer3(x)  # (B, 256, 6, 6)
        x = self.layer4(x)  # (B, 512, 3, 3)
        x = self.avgpool(x)  # (B, 512, 1, 1)
        x = torch.flatten(x, 1)  # (B, 512)
        return self.fc(x)  # (B, num_classes)
