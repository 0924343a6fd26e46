"""AlexNet：第一个在 ImageNet 上大幅胜出的深度卷积神经网络。"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

__all__ = ["AlexNet"]


class AlexNet(nn.Module):
    """AlexNet，来自 `ImageNet Classification with Deep Convolutional Neural Networks
    <https://doi.org/10.1145/3065386>`_
    （Krizhevsky, Sutskever, Hinton, NIPS 2012；链接是 2017 年 Communications of the ACM 的重印版）。

    五个卷积层（96、256、384、384、256 个通道）提取特征，其中三处接 3×3、步幅 2 的最大汇聚；
    再用两个各有 4096 个单元、带暂退法（dropout）的全连接层和一个输出层分类。激活函数是 ReLU。

    这是《动手学深度学习》在 Fashion-MNIST 上用的变体：输入是放大到 224×224 的单通道灰度图；
    原论文把网络拆在两块 GPU 上、并在前两个卷积层后做局部响应归一化（LRN），这里都没有。

    与该变体的差别只有一处：全连接层之前多了 ``nn.AdaptiveAvgPool2d((5, 5))``
    （torchvision 的 AlexNet 也这样做）。224×224 的输入走到这里时特征图正好是 5×5，
    这一层什么也不做；更小的输入（例如 quick 模式下的 68×68）也能得到 5×5 的特征图，
    全连接层的形状因而不变。最小可用边长是 65：再小，第三个最大汇聚层就没有 3×3 的窗口可取了。

    Args:
        num_classes: 输出类别数。
        in_channels: 输入通道数，灰度图为 1，彩色图为 3。
        dropout: 两个隐藏全连接层之后的暂退概率。

    >>> net = AlexNet()
    >>> net(torch.zeros(2, 1, 96, 96)).shape
    torch.Size([2, 10])
    """

    input_shape: ClassVar[tuple[int, int, int]] = (1, 224, 224)
    min_input_size: ClassVar[int] = 65

    def __init__(
        self, num_classes: int = 10, *, in_channels: int = 1, dropout: float = 0.5
    ) -> None:
        super().__init__()
        # 注释里的形状对应 224×224 的输入
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 96, kernel_size=11, stride=4, padding=1),  # (B, 96, 54, 54)
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),  # (B, 96, 26, 26)
            nn.Conv2d(96, 256, kernel_size=5, padding=2),  # (B, 256, 26, 26)
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),  # (B, 256, 12, 12)
            nn.Conv2d(256, 384, kernel_size=3, padding=1),  # (B, 384, 12, 12)
            nn.ReLU(),
            nn.Conv2d(384, 384, kernel_size=3, padding=1),  # (B, 384, 12, 12)
            nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),  # (B, 256, 12, 12)
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),  # (B, 256, 5, 5)
        )
        self.avgpool = nn.AdaptiveAvgPool2d((5, 5))
        self.classifier = nn.Sequential(
            nn.Linear(256 * 5 * 5, 4096),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)  # (B, 256, 5, 5)
        x = self.avgpool(x)  # (B, 256, 5, 5)，224×224 的输入下不变
        x = torch.flatten(x, 1)  # (B, 6400)
        return self.classifier(x)  # (B, num_classes)
