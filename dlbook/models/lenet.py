"""LeNet-5：LeCun 等人 1998 年定型的卷积神经网络，最早在手写数字识别上取得实际成功的卷积网络之一。"""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from torch import Tensor, nn

from dlbook.batchnorm import BatchNorm

__all__ = ["LeNet", "LeNetBN"]


class LeNet(nn.Module):
    """LeNet-5，来自 `Gradient-based learning applied to document recognition
    <https://doi.org/10.1109/5.726791>`_ （LeCun, Bottou, Bengio, Haffner, 1998）。

    两个“卷积 → 激活 → 汇聚”块提取特征，三个全连接层（120、84、``num_classes``）做分类。
    输入是 ``(B, 1, 28, 28)`` 的灰度图（例如 Fashion-MNIST）；第一个卷积层两侧各填充 2，
    相当于原论文的 32×32 输入。

    与原论文的差别：原论文的下采样层（S2、S4）把每个通道里每个 2×2 窗口的四个值相加，乘一个可训练的系数、
    再加可训练的偏置，然后经过压缩函数（论文里是缩放的双曲正切 1.7159 tanh(2a/3)）；C3 的前 15 个通道只连接部分输入通道；输出层是高斯连接（RBF）。这里用的是教科书里
    常见的经典变体：平均汇聚 + sigmoid，全连接输出层配交叉熵损失。激活函数与汇聚方式都是选项，
    ``activation=nn.ReLU, pool="max"`` 就是今天更常用的现代写法，通常训练得更快。

    Args:
        num_classes: 输出类别数。
        activation: 激活函数的类（不是实例），例如 ``nn.Sigmoid`` 或 ``nn.ReLU``。
            它只实例化一次、在各层之间共享（与 torchvision ResNet 的 ``relu`` 相同），
            所以应当是没有参数的激活函数。
        pool: ``"avg"`` 用平均汇聚，``"max"`` 用最大汇聚；窗口 2×2、步幅 2。

    >>> net = LeNet()
    >>> net(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    >>> LeNet(activation=nn.ReLU, pool="max").pool1
    MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    """

    input_shape: ClassVar[tuple[int, int, int]] = (1, 28, 28)

    def __init__(
        self,
        num_classes: int = 10,
        *,
        activation: type[nn.Module] = nn.Sigmoid,
        pool: Literal["avg", "max"] = "avg",
    ) -> None:
        super().__init__()
        if pool == "avg":
            pool_layer: type[nn.Module] = nn.AvgPool2d
        elif pool == "max":
            pool_layer = nn.MaxPool2d
        else:
            raise ValueError(f"pool 只能是 'avg' 或 'max'，收到的是 {pool!r}")
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)
        self.act = activation()
        self.pool1 = pool_layer(kernel_size=2, stride=2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.pool2 = pool_layer(kernel_size=2, stride=2)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool1(self.act(self.conv1(x)))  # (B, 6, 28, 28) → (B, 6, 14, 14)
        x = self.pool2(self.act(self.conv2(x)))  # (B, 16, 10, 10) → (B, 16, 5, 5)
        x = torch.flatten(x, 1)  # (B, 400)
        x = self.act(self.fc1(x))  # (B, 120)
        x = self.act(self.fc2(x))  # (B, 84)
        return self.fc3(x)  # (B, num_classes)


class LeNetBN(nn.Module):
    """在每个卷积层和隐藏全连接层之后、激活函数之前加了批量归一化的 LeNet。

    其余与 :class:`dlbook.models.LeNet` 的默认设置相同（sigmoid、平均汇聚、28×28 输入、
    第一个卷积层填充 2）。批量归一化让 sigmoid 网络也能用大学习率较快地训练起来。
    紧跟批量归一化的卷积层和全连接层不带偏置：偏置会被减去的均值抵消，β 接替了它的作用。

    Args:
        num_classes: 输出类别数。
        from_scratch: ``True`` 时用从零实现的 :class:`dlbook.batchnorm.BatchNorm`，否则用
            ``nn.BatchNorm2d`` / ``nn.BatchNorm1d``。两者的 ``state_dict`` 完全通用。

    >>> net = LeNetBN()
    >>> net(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    >>> LeNetBN(from_scratch=True).bn1
    BatchNorm(6, num_dims=4, momentum=0.1, eps=1e-05)
    """

    input_shape: ClassVar[tuple[int, int, int]] = (1, 28, 28)

    def __init__(self, num_classes: int = 10, *, from_scratch: bool = False) -> None:
        super().__init__()

        def norm(num_features: int, num_dims: Literal[2, 4]) -> nn.Module:
            if from_scratch:
                return BatchNorm(num_features, num_dims)
            return nn.BatchNorm2d(num_features) if num_dims == 4 else nn.BatchNorm1d(num_features)

        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2, bias=False)
        self.bn1 = norm(6, 4)
        self.act = nn.Sigmoid()
        self.pool1 = nn.AvgPool2d(kernel_size=2, stride=2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5, bias=False)
        self.bn2 = norm(16, 4)
        self.pool2 = nn.AvgPool2d(kernel_size=2, stride=2)
        self.fc1 = nn.Linear(16 * 5 * 5, 120, bias=False)
        self.bn3 = norm(120, 2)
        self.fc2 = nn.Linear(120, 84, bias=False)
        self.bn4 = norm(84, 2)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool1(self.act(self.bn1(self.conv1(x))))  # (B, 6, 28, 28) → (B, 6, 14, 14)
        x = self.pool2(self.act(self.bn2(self.conv2(x))))  # (B, 16, 10, 10) → (B, 16, 5, 5)
        x = torch.flatten(x, 1)  # (B, 400)
        x = self.act(self.bn3(self.fc1(x)))  # (B, 120)
        x = self.act(self.bn4(self.fc2(x)))  # (B, 84)
        return self.fc3(x)  # (B, num_classes)
