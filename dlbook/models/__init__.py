"""教材里用到的模型，写法参照 torchvision：类型标注、论文出处、``forward`` 里标出形状。

``MODELS`` 把名字映射到模型类，测试会遍历它，所以新加的模型自动受到同一套检查。
每个类都有 ``input_shape``（《动手学深度学习》训练它时用的单张输入形状）；
能处理其他尺寸的类还有 ``min_input_size``（能跑通的最小正方形边长）。
``"vgg11"`` 是通道数除以 4 的窄 VGG-11（:class:`SmallVGG11`），``"resnet18"`` 是 :class:`ResNet` 的默认设置。
``"speednet"`` 不是 d2l 里的模型，是 :mod:`dlbook.speedrun` 速通用的小网络（:class:`SpeedNet`）。

>>> model = MODELS["lenet"](num_classes=10)
>>> type(model).__name__, type(model).input_shape
('LeNet', (1, 28, 28))
>>> MODELS["resnet18"].input_shape, MODELS["resnet18"].min_input_size
((1, 96, 96), 1)
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from dlbook.models.alexnet import AlexNet
from dlbook.models.densenet import DenseBlock, DenseNet
from dlbook.models.googlenet import GoogLeNet, Inception
from dlbook.models.lenet import LeNet, LeNetBN
from dlbook.models.nin import NiN
from dlbook.models.resnet import ResNet, Residual
from dlbook.models.speednet import ConvGroup, SpeedNet
from dlbook.models.vgg import VGG, SmallVGG11, vgg11

__all__ = [
    "MODELS",
    "AlexNet",
    "ConvGroup",
    "DenseBlock",
    "DenseNet",
    "GoogLeNet",
    "Inception",
    "LeNet",
    "LeNetBN",
    "NiN",
    "ResNet",
    "Residual",
    "SmallVGG11",
    "SpeedNet",
    "VGG",
    "vgg11",
]

MODELS: dict[str, Callable[..., nn.Module]] = {
    "lenet": LeNet,
    "lenet_bn": LeNetBN,
    "alexnet": AlexNet,
    "vgg11": SmallVGG11,
    "nin": NiN,
    "googlenet": GoogLeNet,
    "resnet18": ResNet,
    "densenet": DenseNet,
    "speednet": SpeedNet,
}
