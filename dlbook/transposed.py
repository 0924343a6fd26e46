"""转置卷积的从零实现，以及卷积与转置卷积的输出尺寸公式。

卷积把一个窗口里的许多输入“收集”成一个输出；转置卷积反过来，把每个输入元素乘上整个卷积核，
“撒”到输出的一块区域上，重叠的地方相加。步幅 ``s`` 让相邻输入撒下的区域彼此错开 ``s`` 格，
于是输出比输入大：这就是 DCGAN 的生成器用来放大特征图的运算。

这里的函数故意写得直白，只适合小输入；测试把它们逐一与 ``F.conv_transpose2d``、
``nn.ConvTranspose2d`` 对照。同一个运算还有另外两种写法，本模块也都给出了：

- 卷积是线性映射 ``vec(Y) = C vec(X)``（:func:`conv_matrix` 写出矩阵 ``C``），转置卷积就是乘以 ``Cᵀ``，
  也就是卷积对输入求梯度时做的运算；
- 在输入元素之间插入 ``s - 1`` 个 0（:func:`zero_insert`），四周补 ``d(k - 1) - p`` 圈 0（``d`` 为空洞率），
  再用翻转后的卷积核做步幅为 1 的普通卷积（:func:`conv_transpose2d_as_conv`）。

>>> X = torch.tensor([[0., 1.], [2., 3.]])
>>> K = torch.tensor([[0., 1.], [2., 3.]])
>>> trans_conv2d(X, K)  # 四个输入元素各撒下一份 X[i, j]·K，重叠处相加
tensor([[ 0.,  0.,  1.],
        [ 0.,  4.,  6.],
        [ 4., 12.,  9.]])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from dlbook.conv import IntOrPair, _check_ndim, _non_negative_pair, _pair, _positive_pair, corr2d
from dlbook.conv import conv_output_size as conv_output_size

__all__ = [
    "conv_matrix",
    "conv_output_size",
    "conv_transpose2d",
    "conv_transpose2d_as_conv",
    "conv_transpose_output_size",
    "trans_conv2d",
    "zero_insert",
]


def conv_transpose_output_size(
    size: int,
    kernel_size: int,
    *,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    dilation: int = 1,
) -> int:
    """转置卷积沿一个方向的输出尺寸：``(n - 1)s - 2p + d(k - 1) + output_padding + 1``。

    不看填充时，``n`` 个输入撒下的区域起点依次相隔 ``s``，最后一个从 ``(n-1)s`` 开始，
    再占去（加了空洞之后的）核长 ``d(k-1) + 1``；``padding`` 从两端各裁掉 ``p`` 行（列），
    ``output_padding`` 在末端多留几行（列）。

    步幅大于 1 的卷积会把几种输入尺寸映射到同一个输出尺寸（向下取整），转置卷积只能还原其中最小的那个；
    ``output_padding`` 用来选出别的那几个，所以它要小于步幅（PyTorch 还允许它小于空洞率，这里照同样的规则检查）。

    Args:
        size: 输入的高或宽 ``n``。
        kernel_size: 卷积核的高或宽 ``k``。
        stride: 步幅 ``s``。
        padding: 两端各裁掉的行（列）数 ``p``。
        output_padding: 末端多出的行（列）数。
        dilation: 空洞率 ``d``。

    Raises:
        ValueError: 参数不合法，或算出的输出尺寸不是正数。

    >>> conv_transpose_output_size(3, 3, stride=2, padding=1)  # 3×3 → 5×5
    5
    >>> conv_output_size(5, 3, stride=2, padding=1)  # 卷积把 5×5 变回 3×3
    3
    >>> conv_output_size(6, 3, stride=2, padding=1)  # 6×6 也变成 3×3 ……
    3
    >>> # …… 要回到 6 得多留一行
    >>> conv_transpose_output_size(3, 3, stride=2, padding=1, output_padding=1)
    6
    >>> # DCGAN 的标准放大：尺寸翻倍
    >>> conv_transpose_output_size(4, 4, stride=2, padding=1)
    8
    """
    for name, value, low in (
        ("size", size, 1),
        ("kernel_size", kernel_size, 1),
        ("stride", stride, 1),
        ("padding", padding, 0),
        ("output_padding", output_padding, 0),
        ("dilation", dilation, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} 必须是不小于 {low} 的整数，收到的是 {value!r}")
    if output_padding >= max(stride, dilation):
        raise ValueError(
            f"output_padding={output_padding} 必须小于步幅 {stride} 或空洞率 {dilation}（取较大者）"
        )
    out = (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1
    if out < 1:
        raise ValueError(f"输出尺寸 {out} 不是正数：padding={padding} 裁掉的比转置卷积撒出的还多")
    return out


def trans_conv2d(X: Tensor, K: Tensor, *, stride: IntOrPair = 1, padding: IntOrPair = 0) -> Tensor:
    """单通道的二维转置卷积：每个输入元素乘上整个卷积核，撒到输出上相应的位置，重叠处相加。

    输入 ``X[i, j]`` 撒下的那一块左上角在 ``(i·sh, j·sw)``。全部撒完后，``padding`` 从上下（左右）
    各裁掉 ``ph``（``pw``）行（列）。

    Args:
        X: 形状 ``(H, W)`` 的输入。
        K: 形状 ``(kh, kw)`` 的卷积核。
        stride: 相邻输入撒下的区域错开几格；整数或 ``(sh, sw)``。
        padding: 两端各裁掉的行（列）数；整数或 ``(ph, pw)``。

    Returns:
        形状 ``(H', W')`` 的输出，尺寸见 :func:`conv_transpose_output_size`。

    >>> X = torch.tensor([[1., 2.], [3., 4.]])
    >>> # 步幅等于核的大小：各块互不重叠
    >>> trans_conv2d(X, torch.ones(2, 2), stride=2)
    tensor([[1., 1., 2., 2.],
            [1., 1., 2., 2.],
            [3., 3., 4., 4.],
            [3., 3., 4., 4.]])
    """
    _check_ndim(X, (2,), "trans_conv2d 的输入 X ", "；多通道输入请用 conv_transpose2d")
    _check_ndim(K, (2,), "trans_conv2d 的卷积核 K ", "；多通道卷积核请用 conv_transpose2d")
    return conv_transpose2d(X[None, None], K[None, None], stride=stride, padding=padding)[0, 0]


def conv_transpose2d(
    X: Tensor,
    K: Tensor,
    bias: Tensor | None = None,
    *,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
) -> Tensor:
    """多通道的二维转置卷积，参数与 ``F.conv_transpose2d`` 相同（不含 ``groups``）。

    对每个输入位置 ``(i, j)``，把这里的 ``C_in`` 个输入值与卷积核相乘、对输入通道求和，得到一块
    ``(C_out, kh, kw)`` 的贡献，加到输出左上角 ``(i·sh, j·sw)`` 处（空洞率 ``d`` 时核的相邻元素相隔
    ``d`` 格）；最后从两端各裁掉 ``padding``，在末端留出 ``output_padding``，再加上偏置。

    注意卷积核的形状是 ``(C_in, C_out, kh, kw)``：输入通道在前，与 ``nn.Conv2d`` 的
    ``(C_out, C_in, kh, kw)`` 正好相反。所以把 ``C → C'`` 的卷积的权重原样拿来，就是 ``C' → C``
    的转置卷积的权重——它做的正是那个卷积的转置（见 :func:`conv_matrix`）。

    Args:
        X: 形状 ``(B, C_in, H, W)`` 或 ``(C_in, H, W)`` 的输入。
        K: 形状 ``(C_in, C_out, kh, kw)`` 的卷积核。
        bias: 形状 ``(C_out,)`` 的偏置，或 ``None``。
        stride: 步幅，整数或 ``(sh, sw)``。
        padding: 两端各裁掉的行（列）数，整数或 ``(ph, pw)``。
        output_padding: 末端多留的行（列）数，必须小于步幅或空洞率。
        dilation: 空洞率，整数或 ``(dh, dw)``。

    Returns:
        形状 ``(B, C_out, H', W')``（或 ``(C_out, H', W')``）的输出，尺寸见
        :func:`conv_transpose_output_size`。

    >>> X = torch.ones(1, 2, 3, 3)      # 2 个输入通道
    >>> K = torch.ones(2, 4, 3, 3)      # 2 → 4 个通道
    >>> conv_transpose2d(X, K, stride=2, padding=1).shape
    torch.Size([1, 4, 5, 5])
    """
    _check_ndim(X, (3, 4), "conv_transpose2d 的输入 X ", "（应为 (B, C_in, H, W) 或 (C_in, H, W)）")
    _check_ndim(K, (4,), "conv_transpose2d 的卷积核 K ", "（应为 (C_in, C_out, kh, kw)）")
    if X.ndim == 3:
        return conv_transpose2d(
            X[None], K, bias, stride=stride, padding=padding,
            output_padding=output_padding, dilation=dilation,
        )[0]  # fmt: skip
    if X.shape[1] != K.shape[0]:
        raise ValueError(
            f"输入有 {X.shape[1]} 个通道，卷积核的第 0 维却是 {K.shape[0]}：转置卷积的核形状是 "
            "(C_in, C_out, kh, kw)"
        )
    sh, sw = _positive_pair(stride, "stride")
    ph, pw = _non_negative_pair(padding, "padding")
    oph, opw = _non_negative_pair(output_padding, "output_padding")
    dh, dw = _positive_pair(dilation, "dilation")
    B, _, H, W = X.shape
    c_out, kh, kw = K.shape[1:]
    out_h = conv_transpose_output_size(
        H, kh, stride=sh, padding=ph, output_padding=oph, dilation=dh
    )
    out_w = conv_transpose_output_size(
        W, kw, stride=sw, padding=pw, output_padding=opw, dilation=dw
    )
    # 先在不裁剪的“全尺寸”画布上撒，末端再多留 output_padding 行（列）。
    full_h, full_w = (H - 1) * sh + dh * (kh - 1) + 1 + oph, (W - 1) * sw + dw * (kw - 1) + 1 + opw
    dtype = torch.result_type(X, K)
    Y = torch.zeros((B, c_out, full_h, full_w), dtype=dtype, device=X.device)
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1  # 加了空洞之后的核覆盖的范围
    for i in range(H):
        for j in range(W):
            # X[:, :, i, j] 是 (B, C_in)；与 (C_in, C_out, kh, kw) 的核相乘并对 C_in 求和
            patch = torch.einsum("bc,cokl->bokl", X[:, :, i, j].to(dtype), K.to(dtype))
            Y[:, :, i * sh : i * sh + span_h : dh, j * sw : j * sw + span_w : dw] += patch
    Y = Y[:, :, ph : ph + out_h, pw : pw + out_w]  # 两端各裁掉 padding
    if bias is not None:
        if tuple(bias.shape) != (c_out,):
            raise ValueError(f"偏置应有 {c_out} 个元素（每个输出通道一个），收到的形状是 {tuple(bias.shape)}")
        Y = Y + bias.reshape(1, -1, 1, 1)
    return Y


def zero_insert(X: Tensor, stride: IntOrPair) -> Tensor:
    """在最后两维的相邻元素之间插入 ``stride - 1`` 个 0（“分数步幅”一词的来历）。

    >>> zero_insert(torch.tensor([[1., 2.], [3., 4.]]), 2)
    tensor([[1., 0., 2.],
            [0., 0., 0.],
            [3., 0., 4.]])
    """
    sh, sw = _positive_pair(stride, "stride")
    if X.ndim < 2:
        raise ValueError(f"zero_insert 在最后两维上插 0，输入至少要是二维的，收到的形状是 {tuple(X.shape)}")
    *lead, H, W = X.shape
    Y = X.new_zeros((*lead, (H - 1) * sh + 1, (W - 1) * sw + 1))
    Y[..., ::sh, ::sw] = X
    return Y


def conv_transpose2d_as_conv(
    X: Tensor,
    K: Tensor,
    *,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
) -> Tensor:
    """把转置卷积写成普通卷积：插 0、补边、翻转卷积核，再做步幅为 1 的 ``F.conv2d``。

    1. 在输入元素之间插入 ``s - 1`` 个 0（:func:`zero_insert`）；
    2. 四周补 ``d(k - 1) - p`` 圈 0（这个数是负数时改为裁掉），下方和右侧再多补 ``output_padding``；
    3. 卷积核上下、左右翻转，并交换前两维：``(C_in, C_out, kh, kw)`` → ``(C_out, C_in, kh, kw)``；
    4. 步幅 1、同样的空洞率做普通卷积。

    结果与 :func:`conv_transpose2d` 相同。这种写法浪费了大量乘 0 的计算，但它说明转置卷积
    不过是一种特殊的卷积。参数与返回值见 :func:`conv_transpose2d`，只是这里没有偏置，
    输入也只接受四维的 ``(B, C_in, H, W)``；参数的检查与它相同。

    >>> X = torch.arange(4.).reshape(1, 1, 2, 2)
    >>> K = torch.arange(9.).reshape(1, 1, 3, 3)
    >>> ours = conv_transpose2d_as_conv(X, K, stride=2)
    >>> torch.equal(ours, conv_transpose2d(X, K, stride=2))
    True
    """
    _check_ndim(X, (4,), "conv_transpose2d_as_conv 的输入 X ", "（应为 (B, C_in, H, W)）")
    _check_ndim(K, (4,), "conv_transpose2d_as_conv 的卷积核 K ", "（应为 (C_in, C_out, kh, kw)）")
    sh, sw = _positive_pair(stride, "stride")
    ph, pw = _non_negative_pair(padding, "padding")
    oph, opw = _non_negative_pair(output_padding, "output_padding")
    dh, dw = _positive_pair(dilation, "dilation")
    kh, kw = K.shape[2:]
    # 只为检查：output_padding 太大、输出边长不是正数时，与 conv_transpose2d 报同样的错
    conv_transpose_output_size(X.shape[2], kh, stride=sh, padding=ph, output_padding=oph, dilation=dh)
    conv_transpose_output_size(X.shape[3], kw, stride=sw, padding=pw, output_padding=opw, dilation=dw)
    qh, qw = dh * (kh - 1) - ph, dw * (kw - 1) - pw  # 每侧补多少；负数表示裁掉
    Z = zero_insert(X, stride)
    Z = F.pad(Z, (qw, qw + opw, qh, qh + oph))  # (左, 右, 上, 下)；F.pad 的负数就是裁剪
    weight = K.flip(-2, -1).transpose(0, 1)  # 翻转并交换通道：(C_out, C_in, kh, kw)
    return F.conv2d(Z, weight, dilation=(dh, dw))


def conv_matrix(
    K: Tensor, input_shape: tuple[int, int], *, stride: IntOrPair = 1, padding: IntOrPair = 0
) -> Tensor:
    """单通道卷积（互相关）写成矩阵：``corr2d(X, K).flatten() == conv_matrix(K, X.shape) @ X.flatten()``。

    第 ``j`` 列是把第 ``j`` 个输入像素设为 1、其余为 0 时卷积的输出，也就是这个像素影响了哪些输出。
    矩阵的形状是 ``(H'·W', H·W)``：卷积把 ``H·W`` 维的向量压成 ``H'·W'`` 维；它的转置把
    ``H'·W'`` 维映射回 ``H·W`` 维，这正是步幅、填充相同的转置卷积 :func:`trans_conv2d`
    （``input_shape`` 不是映射到同一输出尺寸的几种里最小的那个时，转置卷积还要加上 ``output_padding``）。

    >>> C = conv_matrix(torch.ones(3, 3), (5, 5), stride=2, padding=1)
    >>> C.shape                          # 5×5 → 3×3 的卷积是一个 9×25 的矩阵
    torch.Size([9, 25])
    >>> Y = torch.arange(9.).reshape(3, 3)
    >>> Z = trans_conv2d(Y, torch.ones(3, 3), stride=2, padding=1)
    >>> torch.equal((C.T @ Y.flatten()).reshape(5, 5), Z)
    True
    """
    H, W = _pair(input_shape, "input_shape")
    columns = []
    for index in range(H * W):
        E = torch.zeros(H * W, dtype=K.dtype, device=K.device)
        E[index] = 1
        columns.append(corr2d(E.reshape(H, W), K, padding=padding, stride=stride).flatten())
    return torch.stack(columns, dim=1)  # (H'·W', H·W)
