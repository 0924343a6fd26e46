"""DCGAN：全卷积的生成器与判别器，用于 28×28 或 32×32 的灰度（或彩色）小图像。

它们不是分类器，所以不在 :data:`dlbook.models.MODELS` 里；直接从本模块导入::

    from dlbook.models.dcgan import Generator, Discriminator
"""

from __future__ import annotations

from typing import ClassVar

import torch  # noqa: F401  文档字符串里的 doctest 用到
from torch import Tensor, nn

__all__ = ["Discriminator", "Generator", "init_dcgan_weights"]

# 两种图像尺寸只在前两层（生成器）或后两层（判别器）不同：(核, 步幅, 填充)
_FIRST_LAYERS = {
    32: ((4, 1, 0), (4, 2, 1)),  # 1 → 4 → 8
    28: ((3, 1, 0), (3, 2, 0)),  # 1 → 3 → 7
}
_SIZES = tuple(sorted(_FIRST_LAYERS))


def _check_image_size(image_size: int) -> None:
    if image_size not in _FIRST_LAYERS:
        raise ValueError(f"image_size 只能是 28 或 32，收到的是 {image_size!r}")


def init_dcgan_weights(module: nn.Module) -> None:
    """DCGAN 的初始化：卷积权重取 N(0, 0.02²)（论文），批量归一化的缩放取 N(1, 0.02²)、偏移取 0（作者的代码）。

    配合 ``model.apply`` 使用；:class:`Generator` 与 :class:`Discriminator` 在构造时已经调用过。

    >>> bn = nn.BatchNorm2d(4)
    >>> init_dcgan_weights(bn)
    >>> bool(bn.bias.abs().sum() == 0), bool((bn.weight - 1).abs().max() < 0.2)
    (True, True)
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    """DCGAN 的生成器，来自 `Unsupervised Representation Learning with Deep Convolutional
    Generative Adversarial Networks <https://arxiv.org/abs/1511.06434>`_
    （Radford, Metz, Chintala, 2016）。

    四个转置卷积层把噪声向量一步步放大成图像：除最后一层外每层后面接批量归一化和 ReLU，
    最后一层接 tanh，输出落在 [-1, 1]（训练数据要先缩放到同一范围）。没有全连接层，也没有汇聚层。
    ``width=64`` 时各层的输出形状：

    | 层 | 32×32 | 28×28 |
    | --- | --- | --- |
    | 输入 | (B, latent_dim, 1, 1) | (B, latent_dim, 1, 1) |
    | conv1 | (B, 256, 4, 4) | (B, 256, 3, 3) |
    | conv2 | (B, 128, 8, 8) | (B, 128, 7, 7) |
    | conv3 | (B, 64, 16, 16) | (B, 64, 14, 14) |
    | conv4 | (B, C, 32, 32) | (B, C, 28, 28) |

    与原论文的差别：论文生成 64×64 的彩色图像，用五层、从 1024 个通道开始；这里少一层、
    通道数按 ``width`` 缩放，两种小尺寸只在前两层的核大小上不同（32：核 4；28：核 3、第二层不填充）。

    Args:
        latent_dim: 噪声 ``z`` 的维数。
        image_size: 输出图像的边长，28 或 32。
        channels: 输出图像的通道数（灰度 1，彩色 3）。
        width: 最后一个隐藏层的通道数；前面各层依次是它的 2 倍、4 倍。

    >>> G = Generator(latent_dim=16, image_size=28, width=8)
    >>> G(torch.randn(2, 16)).shape
    torch.Size([2, 1, 28, 28])
    """

    image_sizes: ClassVar[tuple[int, ...]] = _SIZES

    def __init__(
        self, latent_dim: int = 100, *, image_size: int = 32, channels: int = 1, width: int = 64
    ) -> None:
        super().__init__()
        _check_image_size(image_size)
        self.latent_dim = latent_dim
        self.image_size = image_size
        (k1, s1, p1), (k2, s2, p2) = _FIRST_LAYERS[image_size]
        # 批量归一化紧跟在卷积后面，卷积的偏置会被它减掉，所以不要偏置。
        self.conv1 = nn.ConvTranspose2d(latent_dim, 4 * width, k1, s1, p1, bias=False)
        self.bn1 = nn.BatchNorm2d(4 * width)
        self.conv2 = nn.ConvTranspose2d(4 * width, 2 * width, k2, s2, p2, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * width)
        self.conv3 = nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width)
        self.conv4 = nn.ConvTranspose2d(width, channels, 4, 2, 1)
        self.relu = nn.ReLU(inplace=True)
        self.tanh = nn.Tanh()
        self.apply(init_dcgan_weights)

    def forward(self, z: Tensor) -> Tensor:
        x = z.reshape(z.shape[0], -1, 1, 1)  # (B, latent_dim) → (B, latent_dim, 1, 1)
        x = self.relu(self.bn1(self.conv1(x)))  # (B, 4w, 4, 4)；28：(B, 4w, 3, 3)
        x = self.relu(self.bn2(self.conv2(x)))  # (B, 2w, 8, 8)；28：(B, 2w, 7, 7)
        x = self.relu(self.bn3(self.conv3(x)))  # (B, w, 16, 16)；28：(B, w, 14, 14)
        return self.tanh(self.conv4(x))  # (B, C, 32, 32)；28：(B, C, 28, 28)


class Discriminator(nn.Module):
    """DCGAN 的判别器（论文同 :class:`Generator`），结构是生成器倒过来。

    四个卷积层：前三层步幅 2，用“带步幅的卷积”代替汇聚来缩小特征图；第一层之后不加批量归一化，
    激活函数是斜率 0.2 的 LeakyReLU；最后一层把特征图压成 1×1，输出每张图像一个 logit。
    ``width=64`` 时各层的输出形状：

    | 层 | 32×32 | 28×28 |
    | --- | --- | --- |
    | 输入 | (B, C, 32, 32) | (B, C, 28, 28) |
    | conv1 | (B, 64, 16, 16) | (B, 64, 14, 14) |
    | conv2 | (B, 128, 8, 8) | (B, 128, 7, 7) |
    | conv3 | (B, 256, 4, 4) | (B, 256, 3, 3) |
    | conv4 | (B, 1, 1, 1) | (B, 1, 1, 1) |
    | 输出 | (B,) | (B,) |

    与原论文的差别：论文最后接 sigmoid 输出概率；这里输出 logit，由损失函数用数值稳定的方式
    处理（``-log σ(a) = softplus(-a)``），概率 D(x) 是 ``torch.sigmoid(D(x))``。

    Args:
        image_size: 输入图像的边长，28 或 32。
        channels: 输入图像的通道数。
        width: 第一层的通道数；后面各层依次是它的 2 倍、4 倍。

    >>> D = Discriminator(image_size=32, width=8)
    >>> D(torch.randn(2, 1, 32, 32)).shape
    torch.Size([2])
    """

    image_sizes: ClassVar[tuple[int, ...]] = _SIZES

    def __init__(self, *, image_size: int = 32, channels: int = 1, width: int = 64) -> None:
        super().__init__()
        _check_image_size(image_size)
        self.image_size = image_size
        # 生成器前两层的镜像：(核, 步幅, 填充) 相同，卷积与转置卷积的尺寸正好互逆。
        (k4, s4, p4), (k3, s3, p3) = _FIRST_LAYERS[image_size]
        self.conv1 = nn.Conv2d(channels, width, 4, 2, 1)
        self.conv2 = nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * width)
        self.conv3 = nn.Conv2d(2 * width, 4 * width, k3, s3, p3, bias=False)
        self.bn3 = nn.BatchNorm2d(4 * width)
        self.conv4 = nn.Conv2d(4 * width, 1, k4, s4, p4)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)
        self.apply(init_dcgan_weights)

    def forward(self, x: Tensor) -> Tensor:
        x = self.lrelu(self.conv1(x))  # (B, w, 16, 16)；28：(B, w, 14, 14)
        x = self.lrelu(self.bn2(self.conv2(x)))  # (B, 2w, 8, 8)；28：(B, 2w, 7, 7)
        x = self.lrelu(self.bn3(self.conv3(x)))  # (B, 4w, 4, 4)；28：(B, 4w, 3, 3)
        return self.conv4(x).flatten()  # (B, 1, 1, 1) → (B,)
