"""卷积与汇聚的从零实现。

这里的每个函数都故意写得直白：在输出的每个位置上取出一个窗口，与卷积核逐元素相乘再求和
（或在窗口里取最大值、平均值）。它们很慢，只适合小输入，但每一行都对应课本里的一个公式；
测试把它们逐一与 PyTorch 的 ``F.conv2d``、``F.max_pool2d``、``F.avg_pool2d`` 对照。

>>> X = torch.arange(9.).reshape(3, 3)
>>> K = torch.arange(4.).reshape(2, 2)
>>> corr2d(X, K)  # 左上角：0×0 + 1×1 + 3×2 + 4×3 = 19
tensor([[19., 25.],
        [37., 43.]])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "Conv2D",
    "conv_output_size",
    "corr2d",
    "corr2d_multi_in",
    "corr2d_multi_in_out",
    "corr2d_multi_in_out_1x1",
    "pool2d",
    "pool_output_size",
    "receptive_field",
]

IntOrPair = int | tuple[int, int]


def _pair(value: IntOrPair, name: str) -> tuple[int, int]:
    """把 ``3`` 或 ``(3, 5)`` 统一成 ``(高, 宽)`` 两个整数。"""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    if (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return (value[0], value[1])
    raise ValueError(f"{name} 应当是一个整数或两个整数组成的元组 (高, 宽)，收到的是 {value!r}")


def _positive_pair(value: IntOrPair, name: str) -> tuple[int, int]:
    pair = _pair(value, name)
    if min(pair) < 1:
        raise ValueError(f"{name} 必须是正整数，收到的是 {value!r}")
    return pair


def _non_negative_pair(value: IntOrPair, name: str) -> tuple[int, int]:
    pair = _pair(value, name)
    if min(pair) < 0:
        raise ValueError(f"{name} 不能是负数，收到的是 {value!r}")
    return pair


def _check_ndim(t: Tensor, ndims: tuple[int, ...], what: str, hint: str = "") -> None:
    if t.ndim not in ndims:
        expected = "或".join(f" {n} 维" for n in ndims)
        raise ValueError(f"{what}应当是{expected}张量，收到的形状是 {tuple(t.shape)}{hint}")


def _output_size(size: int, kernel_size: int, padding: int, stride: int, dilation: int) -> int:
    """输出尺寸公式 ``floor((n + 2p - d(k-1) - 1) / s) + 1``，带输入检查。"""
    for name, value, low in (
        ("size", size, 1),
        ("kernel_size", kernel_size, 1),
        ("padding", padding, 0),
        ("stride", stride, 1),
        ("dilation", dilation, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} 必须是不小于 {low} 的整数，收到的是 {value!r}")
    effective = dilation * (kernel_size - 1) + 1
    if effective > size + 2 * padding:
        raise ValueError(
            f"（加了空洞之后的）核大小 {effective} 比填充后的输入 {size + 2 * padding} 还大："
            "请减小核、增加 padding 或换更大的输入"
        )
    return (size + 2 * padding - effective) // stride + 1


def conv_output_size(
    size: int, kernel_size: int, *, padding: int = 0, stride: int = 1, dilation: int = 1
) -> int:
    """卷积层沿一个方向的输出尺寸：``floor((n + 2p - d(k-1) - 1) / s) + 1``。

    Args:
        size: 输入的高或宽 ``n``。
        kernel_size: 卷积核的高或宽 ``k``。
        padding: 每一侧填充的行（列）数 ``p``。
        stride: 步幅 ``s``。
        dilation: 空洞率 ``d``；加了空洞之后核实际覆盖 ``d(k-1)+1`` 个位置。

    Raises:
        ValueError: 参数不是合法的整数，或核比填充后的输入还大。

    >>> conv_output_size(32, 5)               # 32×32 的输入，5×5 的核，不填充
    28
    >>> conv_output_size(32, 3, padding=1)    # 3×3 的核、两侧各填 1：尺寸不变
    32
    >>> conv_output_size(32, 3, padding=1, stride=2)
    16
    """
    return _output_size(size, kernel_size, padding, stride, dilation)


def pool_output_size(
    size: int,
    kernel_size: int,
    *,
    padding: int = 0,
    stride: int | None = None,
    dilation: int = 1,
) -> int:
    """汇聚层沿一个方向的输出尺寸，公式与 :func:`conv_output_size` 相同。

    唯一的区别是默认步幅：与 ``nn.MaxPool2d`` 一样，``stride=None`` 表示步幅等于窗口大小，
    所以窗口互不重叠。

    >>> pool_output_size(28, 2)               # 2×2 窗口、步幅 2：尺寸减半
    14
    >>> pool_output_size(28, 3, stride=1, padding=1)
    28
    """
    if stride is None:
        stride = kernel_size
    return _output_size(size, kernel_size, padding, stride, dilation)


def corr2d(
    X: Tensor, K: Tensor, *, padding: IntOrPair = 0, stride: IntOrPair = 1
) -> Tensor:
    """二维互相关：把核 ``K`` 滑过输入 ``X``，在每个位置上逐元素相乘再求和。

    深度学习里所说的“卷积”其实就是这个运算（不翻转卷积核）。

    Args:
        X: 形状 ``(H, W)`` 的输入。
        K: 形状 ``(kh, kw)`` 的卷积核。
        padding: 在上下（左右）各补多少行（列）0；整数或 ``(ph, pw)``。
        stride: 窗口每次移动的行（列）数；整数或 ``(sh, sw)``。

    Returns:
        形状 ``(H', W')`` 的输出，尺寸见 :func:`conv_output_size`。

    Raises:
        ValueError: ``X`` 或 ``K`` 不是二维、步幅不是正数、填充是负数或核比填充后的输入大。

    >>> X = torch.arange(9.).reshape(3, 3)
    >>> X
    tensor([[0., 1., 2.],
            [3., 4., 5.],
            [6., 7., 8.]])
    >>> K = torch.arange(4.).reshape(2, 2)
    >>> corr2d(X, K)
    tensor([[19., 25.],
            [37., 43.]])

    四周补一圈 0、每次走两步：

    >>> corr2d(X, K, padding=1, stride=2)
    tensor([[ 0.,  8.],
            [21., 43.]])

    一个 ``[[1, -1]]`` 的核只在相邻两列不同的地方有响应，这就是最简单的竖直边缘检测：

    >>> corr2d(torch.tensor([[1., 1., 0., 0.]]), torch.tensor([[1., -1.]]))
    tensor([[0., 1., 0.]])
    """
    _check_ndim(X, (2,), "corr2d 的输入 X ", "；多通道输入请用 corr2d_multi_in")
    _check_ndim(K, (2,), "corr2d 的卷积核 K ",
                "；多通道卷积核请用 corr2d_multi_in_out")
    ph, pw = _non_negative_pair(padding, "padding")
    sh, sw = _positive_pair(stride, "stride")
    kh, kw = K.shape
    if kh == 0 or kw == 0:
        raise ValueError(f"卷积核的形状是 {(kh, kw)}：每一维至少要有 1 个元素")
    padded = (X.shape[0] + 2 * ph, X.shape[1] + 2 * pw)
    if kh > padded[0] or kw > padded[1]:
        raise ValueError(
            f"卷积核 {(kh, kw)} 比填充后的输入 {padded} 还大："
            "请减小卷积核或增加 padding"
        )
    if ph or pw:
        X = F.pad(X, (pw, pw, ph, ph))  # 左右各补 pw 列，上下各补 ph 行
    H, W = (X.shape[0] - kh) // sh + 1, (X.shape[1] - kw) // sw + 1
    Y = torch.zeros((H, W), dtype=torch.result_type(X, K), device=X.device)
    for i in range(H):
        for j in range(W):
            Y[i, j] = (X[i * sh : i * sh + kh, j * sw : j * sw + kw] * K).sum()
    return Y


def corr2d_multi_in(
    X: Tensor, K: Tensor, *, padding: IntOrPair = 0, stride: IntOrPair = 1
) -> Tensor:
    """多输入通道的互相关：每个通道用自己的核做 :func:`corr2d`，再把结果相加。

    Args:
        X: 形状 ``(C, H, W)`` 的输入。
        K: 形状 ``(C, kh, kw)`` 的卷积核，通道数与 ``X`` 相同。
        padding: 同 :func:`corr2d`。
        stride: 同 :func:`corr2d`。

    Returns:
        形状 ``(H', W')`` 的单通道输出。

    >>> X = torch.stack([torch.arange(9.).reshape(3, 3), torch.ones(3, 3)])
    >>> K = torch.stack([torch.arange(4.).reshape(2, 2), torch.ones(2, 2)])
    >>> # 第一个通道给 [[19, 25], [37, 43]]，第二个通道处处是 4
    >>> corr2d_multi_in(X, K)
    tensor([[23., 29.],
            [41., 47.]])
    """
    _check_ndim(X, (3,), "corr2d_multi_in 的输入 X ", "（应为 (C, H, W)）")
    _check_ndim(K, (3,), "corr2d_multi_in 的卷积核 K ", "（应为 (C, kh, kw)）")
    if X.shape[0] != K.shape[0]:
        raise ValueError(f"输入有 {X.shape[0]} 个通道，卷积核却有 {K.shape[0]} 个通道：两者必须相同")
    per_channel = [corr2d(x, k, padding=padding, stride=stride) for x, k in zip(X, K)]
    return torch.stack(per_channel).sum(dim=0)  # 各通道的结果相加


def corr2d_multi_in_out(
    X: Tensor, K: Tensor, *, padding: IntOrPair = 0, stride: IntOrPair = 1
) -> Tensor:
    """多输入、多输出通道的互相关：每个输出通道有一组 ``(C, kh, kw)`` 的核。

    Args:
        X: 形状 ``(C, H, W)`` 的输入。
        K: 形状 ``(O, C, kh, kw)`` 的卷积核，``O`` 是输出通道数。
        padding: 同 :func:`corr2d`。
        stride: 同 :func:`corr2d`。

    Returns:
        形状 ``(O, H', W')`` 的输出：第 ``o`` 个通道是 ``corr2d_multi_in(X, K[o])``。

    >>> X = torch.arange(18.).reshape(2, 3, 3)
    >>> K = torch.ones(3, 2, 2, 2)
    >>> corr2d_multi_in_out(X, K).shape
    torch.Size([3, 2, 2])
    """
    _check_ndim(X, (3,), "corr2d_multi_in_out 的输入 X ", "（应为 (C, H, W)）")
    _check_ndim(K, (4,), "corr2d_multi_in_out 的卷积核 K ", "（应为 (O, C, kh, kw)）")
    return torch.stack([corr2d_multi_in(X, k, padding=padding, stride=stride) for k in K])


def corr2d_multi_in_out_1x1(X: Tensor, K: Tensor) -> Tensor:
    """1×1 卷积就是在每个像素上对通道做同一个全连接层，所以可以写成一次矩阵乘法。

    Args:
        X: 形状 ``(C, H, W)`` 的输入。
        K: 形状 ``(O, C, 1, 1)`` 的卷积核。

    Returns:
        形状 ``(O, H, W)`` 的输出，与 ``corr2d_multi_in_out(X, K)`` 相同。

    >>> X = torch.arange(8.).reshape(2, 2, 2)
    >>> K = torch.tensor([1., 10.]).reshape(1, 2, 1, 1)
    >>> corr2d_multi_in_out_1x1(X, K)  # 每个像素：1×通道0 + 10×通道1
    tensor([[[40., 51.],
             [62., 73.]]])
    """
    _check_ndim(X, (3,), "corr2d_multi_in_out_1x1 的输入 X ", "（应为 (C, H, W)）")
    _check_ndim(K, (4,), "corr2d_multi_in_out_1x1 的卷积核 K ", "（应为 (O, C, 1, 1)）")
    if tuple(K.shape[2:]) != (1, 1):
        raise ValueError(
            f"corr2d_multi_in_out_1x1 只处理 1×1 的核，收到的核形状是 {tuple(K.shape)}；"
            "其他大小请用 corr2d_multi_in_out"
        )
    c, h, w = X.shape
    o = K.shape[0]
    if K.shape[1] != c:
        raise ValueError(f"输入有 {c} 个通道，卷积核却有 {K.shape[1]} 个通道：两者必须相同")
    dtype = torch.result_type(X, K)  # 与 corr2d_multi_in_out 一样提升类型：整数图像配浮点核也行
    Y = K.reshape(o, c).to(dtype) @ X.reshape(c, h * w).to(dtype)  # (O, C) @ (C, H*W) → (O, H*W)
    return Y.reshape(o, h, w)


def pool2d(
    X: Tensor,
    pool_size: IntOrPair,
    *,
    mode: Literal["max", "avg"] = "max",
    padding: IntOrPair = 0,
    stride: IntOrPair | None = None,
) -> Tensor:
    """二维汇聚：在每个窗口里取最大值（``"max"``）或平均值（``"avg"``）。

    汇聚层没有参数；多通道输入时每个通道各自汇聚，通道数不变。

    填充的约定与 PyTorch 的默认值相同：

    * 最大汇聚把填充看作 ``-inf``，填充永远不会被选中；
    * 平均汇聚把填充看作 0，并且总是除以窗口大小 ``kh×kw``
      （即 ``F.avg_pool2d`` 的 ``count_include_pad=True``），所以边缘的平均值会被拉向 0（输入非负时就是偏小）。

    和 PyTorch 一样，每一侧的填充最多是窗口的一半，这样每个窗口里都至少有一个真实的输入。

    Args:
        X: 形状 ``(H, W)`` 或 ``(C, H, W)`` 的输入；整数张量先转成默认浮点类型。
        pool_size: 窗口大小，整数或 ``(kh, kw)``。
        mode: ``"max"`` 或 ``"avg"``。
        padding: 每一侧的填充，整数或 ``(ph, pw)``。
        stride: 步幅；``None`` 表示等于窗口大小（窗口互不重叠）。

    Raises:
        ValueError: 形状、模式、填充或步幅不合法，或窗口比填充后的输入大。

    >>> X = torch.arange(9.).reshape(3, 3)
    >>> pool2d(X, 2, stride=1)
    tensor([[4., 5.],
            [7., 8.]])
    >>> pool2d(X, 2, stride=1, mode="avg")
    tensor([[2., 3.],
            [5., 6.]])
    >>> pool2d(torch.arange(16.).reshape(4, 4), 2)  # 默认步幅 = 窗口大小
    tensor([[ 5.,  7.],
            [13., 15.]])
    """
    _check_ndim(X, (2, 3), "pool2d 的输入 X ", "（应为 (H, W) 或 (C, H, W)）")
    if mode not in ("max", "avg"):
        raise ValueError(f"mode 只能是 'max' 或 'avg'，收到的是 {mode!r}")
    kh, kw = _positive_pair(pool_size, "pool_size")
    ph, pw = _non_negative_pair(padding, "padding")
    # 不给步幅时，步幅等于窗口大小：窗口互不重叠
    sh, sw = (kh, kw) if stride is None else _positive_pair(stride, "stride")
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(
            f"每一侧的填充 {(ph, pw)} 不能超过窗口 {(kh, kw)} 的一半，"
            "否则有的窗口里全是填充"
        )
    padded = (X.shape[-2] + 2 * ph, X.shape[-1] + 2 * pw)
    if kh > padded[0] or kw > padded[1]:
        raise ValueError(
            f"汇聚窗口 {(kh, kw)} 比填充后的输入 {padded} 还大："
            "请减小窗口或增加 padding"
        )
    if not X.is_floating_point():
        X = X.to(torch.get_default_dtype())
    if ph or pw:
        fill = float("-inf") if mode == "max" else 0.0
        X = F.pad(X, (pw, pw, ph, ph), value=fill)
    H, W = (X.shape[-2] - kh) // sh + 1, (X.shape[-1] - kw) // sw + 1
    Y = torch.zeros((*X.shape[:-2], H, W), dtype=X.dtype, device=X.device)
    for i in range(H):
        for j in range(W):
            window = X[..., i * sh : i * sh + kh, j * sw : j * sw + kw]
            if mode == "max":
                Y[..., i, j] = window.amax(dim=(-2, -1))
            else:
                Y[..., i, j] = window.sum(dim=(-2, -1)) / (kh * kw)
    return Y


def receptive_field(layers: Sequence[tuple[int, int]]) -> int:
    """一串卷积（或汇聚）层之后，一个输出元素沿一个方向能“看到”多少个输入元素。

    从输出往回走：每一层让感受野增加 ``(k - 1) × j``，其中 ``j`` 是此前各层步幅的乘积
    （该层的一步在原始输入上跨过多少个位置）。填充只移动位置，不改变大小。

    Args:
        layers: 从输入到输出依次给出每层的 ``(kernel_size, stride)``。

    >>> receptive_field([(3, 1), (3, 1)])        # 两层 3×3 卷积 = 一层 5×5 的视野
    5
    >>> receptive_field([(5, 1), (2, 2), (5, 1), (2, 2)])  # LeNet 的卷积与汇聚部分
    16
    """
    size, jump = 1, 1
    for index, layer in enumerate(layers):
        try:
            kernel_size, stride = layer
        except (TypeError, ValueError):
            raise ValueError(
                f"第 {index} 层应当是 (kernel_size, stride) 两个整数，收到的是 {layer!r}"
            ) from None
        for name, value in (("kernel_size", kernel_size), ("stride", stride)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"第 {index} 层的 {name} 必须是正整数，收到的是 {value!r}")
        size += (kernel_size - 1) * jump
        jump *= stride
    return size


class Conv2D(nn.Module):
    """从零实现的单通道卷积层：``corr2d(x, weight) + bias``。

    ``weight`` 与 ``bias`` 都是 :class:`nn.Parameter`，前向计算直接使用它们
    （而不是 ``.data``），所以梯度能一路传到参数上。

    Args:
        kernel_size: 卷积核大小，整数或 ``(kh, kw)``。

    >>> _ = torch.manual_seed(0)
    >>> conv = Conv2D((1, 2))
    >>> conv
    Conv2D(kernel_size=(1, 2))
    >>> conv(torch.ones(6, 8)).shape
    torch.Size([6, 7])
    """

    def __init__(self, kernel_size: IntOrPair) -> None:
        super().__init__()
        self.kernel_size = _positive_pair(kernel_size, "kernel_size")
        self.weight = nn.Parameter(torch.rand(self.kernel_size))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x: Tensor) -> Tensor:
        return corr2d(x, self.weight) + self.bias  # (H, W) → (H-kh+1, W-kw+1)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}"
