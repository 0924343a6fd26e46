"""批量归一化的从零实现（加了批量归一化的 LeNet 是 :class:`dlbook.models.LeNetBN`）。

批量归一化（Ioffe, Szegedy, 2015, `arXiv:1502.03167 <https://arxiv.org/abs/1502.03167>`_）
把一层的输出在小批量上标准化（减均值、除以标准差），再乘以可学习的拉伸参数 γ（``weight``）、
加上可学习的偏移参数 β（``bias``）：

    y = γ · (x − μ) / √(σ² + ε) + β

* 全连接层的输出形状是 ``(N, C)``：每个特征单独归一化，均值和方差在 N 个样本上求。
* 卷积层的输出形状是 ``(N, C, H, W)``：每个**通道**单独归一化，均值和方差在 N×H×W 个元素上求，
  同一通道的所有位置共用一组 γ、β。所以 ``nn.BatchNorm2d(6)`` 的 6 是通道数：它接在输出
  6 个通道的卷积层后面，有 6 个 γ 和 6 个 β，共 12 个参数；另有 6 个滑动均值和 6 个滑动方差，
  共 12 个数，外加一个记录训练了多少批的计数器 ``num_batches_tracked``；它们是缓冲区（buffer），
  不是参数，不参与梯度下降。
* 训练时用当前小批量的均值和方差，并把它们滑动平均进 ``running_mean``、``running_var``；
  预测时改用这两个滑动平均，输出因此不再依赖同一批里的其他样本。

γ 和 β 为什么要学：标准化把每个通道都压成均值 0、方差 1，这未必是下一层最想要的分布
（例如 sigmoid 在 0 附近近似线性）。有了 γ、β，网络可以把分布移到任何位置，
必要时（γ = √(σ² + ε)，β = μ）甚至能完全撤销标准化。它们和卷积核一样由反向传播求梯度、
由优化器更新，所以是**模型参数**而不是超参数；超参数是人事先选定的 ``momentum`` 和 ``eps``。

>>> bn = BatchNorm(6, num_dims=4)
>>> n_params = sum(p.numel() for p in bn.parameters())
>>> n_buffers = sum(b.numel() for b in bn.buffers())
>>> n_params, n_buffers
(12, 13)
>>> sorted(bn.state_dict()) == sorted(nn.BatchNorm2d(6).state_dict())
True
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

__all__ = ["BatchNorm", "batch_norm"]


def batch_norm(
    X: Tensor,
    gamma: Tensor,
    beta: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
    *,
    training: bool,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """对 ``X`` 做批量归一化；训练时还会原地更新 ``running_mean`` 与 ``running_var``。

    ``X`` 是 ``(N, C)``（全连接层的输出，逐特征归一化）或 ``(N, C, H, W)``（卷积层的输出，
    逐通道在 N、H、W 上归一化）；``gamma``、``beta``、``running_mean``、``running_var``
    的形状都是 ``(C,)``。

    训练时（``training=True``）用小批量的均值和**有偏**方差（除以 m）做标准化，
    并按 PyTorch 的约定更新滑动平均::

        running = (1 - momentum) * running + momentum * batch

    其中 ``running_var`` 累积的是**无偏**方差（除以 m - 1），m 是每个通道参与统计的元素个数。
    注意 ``momentum`` 是新批量的权重：《动手学深度学习》从零实现时写的 ``momentum=0.9``
    是旧值的权重，相当于这里的 0.1。预测时（``training=False``）只用两个滑动平均，什么也不更新。

    Args:
        X: 输入，2 维或 4 维。
        gamma: 拉伸参数 γ。
        beta: 偏移参数 β。
        running_mean: 滑动平均的均值，训练时被原地更新。
        running_var: 滑动平均的方差，训练时被原地更新。
        training: 是否处于训练模式。
        momentum: 更新滑动平均时新批量统计量的权重。
        eps: 加在方差上、防止除以 0 的小数。

    >>> X = torch.tensor([[1., 2.], [3., 6.]])
    >>> mean, var = torch.zeros(2), torch.ones(2)
    >>> gamma, beta = torch.ones(2), torch.zeros(2)
    >>> batch_norm(X, gamma, beta, mean, var, training=True, eps=0.)
    tensor([[-1., -1.],
            [ 1.,  1.]])
    >>> mean, var  # 0.9 × 旧值 + 0.1 × 批量均值 (2, 4) 与无偏方差 (2, 8)
    (tensor([0.2000, 0.4000]), tensor([1.1000, 1.7000]))
    """
    if X.ndim == 2:
        dims: tuple[int, ...] = (0,)
        shape: tuple[int, ...] = (1, -1)
    elif X.ndim == 4:
        dims = (0, 2, 3)
        shape = (1, -1, 1, 1)
    else:
        raise ValueError(
            f"批量归一化的输入应当是 2 维 (N, C) 或 4 维 (N, C, H, W)，收到的形状是 {tuple(X.shape)}"
        )
    num_channels = X.shape[1]
    names = ("gamma", "beta", "running_mean", "running_var")
    for name, t in zip(names, (gamma, beta, running_mean, running_var)):
        if t.shape != (num_channels,):
            raise ValueError(f"{name} 的形状应当是 ({num_channels},)，收到的是 {tuple(t.shape)}")

    if training:
        m = X.numel() // num_channels  # 每个通道参与统计的元素个数
        if m < 2:
            raise ValueError(f"训练模式下每个通道至少要有 2 个值才能估计方差，收到的形状是 {tuple(X.shape)}")
        mean = X.mean(dim=dims)  # (C,)
        var = X.var(dim=dims, correction=0)  # (C,)，有偏方差：标准化用它
        with torch.no_grad():  # 滑动平均只是记录，不参与求梯度
            running_mean.mul_(1 - momentum).add_(momentum * mean)
            running_var.mul_(1 - momentum).add_(momentum * var * m / (m - 1))
    else:
        mean, var = running_mean, running_var
    X_hat = (X - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)
    return gamma.reshape(shape) * X_hat + beta.reshape(shape)


class BatchNorm(nn.Module):
    """从零实现的批量归一化层，可以替换 ``nn.BatchNorm1d``（2 维输入）或 ``nn.BatchNorm2d``。

    参数与缓冲区的名字和 PyTorch 的一样（``weight``、``bias``、``running_mean``、``running_var``、
    ``num_batches_tracked``），所以两者的 ``state_dict`` 可以互相加载。
    训练与预测的区别由 ``model.train()`` / ``model.eval()`` 决定，和内置的层一样。

    Args:
        num_features: 特征数（全连接层的输出个数）或通道数（卷积层的输出通道数）。
        num_dims: 输入的维数：2 表示 ``(N, C)``，4 表示 ``(N, C, H, W)``。
        momentum: 更新滑动平均时新批量统计量的权重（PyTorch 的约定，见 :func:`batch_norm`）。
        eps: 加在方差上、防止除以 0 的小数。

    >>> bn = BatchNorm(2, num_dims=2)
    >>> bn(torch.tensor([[1., 2.], [3., 6.]]))
    tensor([[-1.0000, -1.0000],
            [ 1.0000,  1.0000]], grad_fn=<AddBackward0>)
    >>> bn.running_mean, bn.num_batches_tracked
    (tensor([0.2000, 0.4000]), tensor(1))
    """

    def __init__(
        self,
        num_features: int,
        num_dims: Literal[2, 4],
        *,
        momentum: float = 0.1,
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        if num_dims not in (2, 4):
            raise ValueError(f"num_dims 只能是 2 或 4，收到的是 {num_dims!r}")
        self.num_features = num_features
        self.num_dims = num_dims
        self.momentum = momentum
        self.eps = eps
        # γ 从 1、β 从 0 开始：一开始只做标准化
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.running_mean: Tensor
        self.running_var: Tensor
        self.num_batches_tracked: Tensor
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, X: Tensor) -> Tensor:
        if X.ndim != self.num_dims:
            raise ValueError(
                f"这一层按 num_dims={self.num_dims} 创建，输入却是 {X.ndim} 维，形状 {tuple(X.shape)}"
            )
        if self.training:
            self.num_batches_tracked.add_(1)
        return batch_norm(
            X,
            self.weight,
            self.bias,
            self.running_mean,
            self.running_var,
            training=self.training,
            momentum=self.momentum,
            eps=self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, num_dims={self.num_dims}, "
            f"momentum={self.momentum}, eps={self.eps}"
        )
