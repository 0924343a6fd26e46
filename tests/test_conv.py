"""dlbook.conv 的从零实现逐一对照 PyTorch：F.conv2d、F.max_pool2d、F.avg_pool2d、nn.Conv2d。"""

from __future__ import annotations

import itertools
import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

from dlbook.conv import (
    Conv2D,
    conv_output_size,
    corr2d,
    corr2d_multi_in,
    corr2d_multi_in_out,
    corr2d_multi_in_out_1x1,
    pool2d,
    pool_output_size,
    receptive_field,
)

DTYPE = torch.float64  # 双精度：与 PyTorch 的差别只剩求和顺序带来的舍入


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else v


def _random_conv_cases(n: int, seed: int) -> list[tuple]:
    """随机生成 n 组合法的 (输入形状, 核形状, padding, stride)。"""
    rng = random.Random(seed)
    cases: list[tuple] = []
    while len(cases) < n:
        shape = (rng.randint(1, 9), rng.randint(1, 9))
        kernel = (rng.randint(1, 4), rng.randint(1, 4))
        padding = rng.choice([0, 1, 2, (0, 1), (2, 0)])
        stride = rng.choice([1, 2, 3, (1, 2), (3, 1)])
        ph, pw = _pair(padding)
        if kernel[0] <= shape[0] + 2 * ph and kernel[1] <= shape[1] + 2 * pw:
            cases.append((shape, kernel, padding, stride))
    return cases


CONV_CASES = _random_conv_cases(40, seed=0)


@pytest.mark.parametrize(("shape", "kernel", "padding", "stride"), CONV_CASES, ids=str)
def test_corr2d_matches_conv2d(shape, kernel, padding, stride) -> None:
    g = torch.Generator().manual_seed(hash((shape, kernel)) % 2**31)
    X = torch.randn(shape, generator=g, dtype=DTYPE)
    K = torch.randn(kernel, generator=g, dtype=DTYPE)
    expected = F.conv2d(X[None, None], K[None, None], padding=padding, stride=stride)[0, 0]
    assert_close(corr2d(X, K, padding=padding, stride=stride), expected)


def test_corr2d_doctest_example_by_hand() -> None:
    X = torch.arange(9.0).reshape(3, 3)
    K = torch.arange(4.0).reshape(2, 2)
    Y = corr2d(X, K)
    assert Y[0, 0].item() == 0 * 0 + 1 * 1 + 3 * 2 + 4 * 3 == 19
    assert_close(Y, torch.tensor([[19.0, 25.0], [37.0, 43.0]]))


def test_corr2d_gradients_match_conv2d() -> None:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(6, 7, generator=g, dtype=DTYPE, requires_grad=True)
    K = torch.randn(3, 2, generator=g, dtype=DTYPE, requires_grad=True)
    weights = torch.randn(conv_output_size(6, 3, padding=1, stride=2),
                          conv_output_size(7, 2, padding=1, stride=2), generator=g, dtype=DTYPE)
    (corr2d(X, K, padding=1, stride=2) * weights).sum().backward()
    ours = (X.grad, K.grad)
    X2, K2 = X.detach().clone().requires_grad_(), K.detach().clone().requires_grad_()
    (F.conv2d(X2[None, None], K2[None, None], padding=1, stride=2)[0, 0] * weights).sum().backward()
    assert_close(ours, (X2.grad, K2.grad))


def test_corr2d_integer_inputs() -> None:
    X = torch.arange(9).reshape(3, 3)
    K = torch.tensor([[1, -1]])
    assert torch.equal(corr2d(X, K), torch.full((3, 2), -1))


MULTI_CASES = [
    # (C, O, H, W, kh, kw, padding, stride)
    (1, 1, 5, 5, 3, 3, 0, 1),
    (2, 3, 3, 3, 2, 2, 0, 1),
    (3, 2, 6, 7, 3, 3, 1, 1),
    (3, 4, 8, 8, 5, 5, 2, 2),
    (4, 1, 7, 5, 1, 3, (0, 1), (2, 1)),
    (2, 5, 4, 9, 2, 4, 1, (1, 3)),
]


@pytest.mark.parametrize(("C", "O", "H", "W", "kh", "kw", "padding", "stride"), MULTI_CASES)
def test_corr2d_multi_in_matches_conv2d(C, O, H, W, kh, kw, padding, stride) -> None:
    g = torch.Generator().manual_seed(C * 100 + H)
    X = torch.randn(C, H, W, generator=g, dtype=DTYPE)
    K = torch.randn(C, kh, kw, generator=g, dtype=DTYPE)
    expected = F.conv2d(X[None], K[None], padding=padding, stride=stride)[0, 0]
    assert_close(corr2d_multi_in(X, K, padding=padding, stride=stride), expected)


@pytest.mark.parametrize(("C", "O", "H", "W", "kh", "kw", "padding", "stride"), MULTI_CASES)
def test_corr2d_multi_in_out_matches_conv2d(C, O, H, W, kh, kw, padding, stride) -> None:
    g = torch.Generator().manual_seed(O * 100 + W)
    X = torch.randn(C, H, W, generator=g, dtype=DTYPE)
    K = torch.randn(O, C, kh, kw, generator=g, dtype=DTYPE)
    expected = F.conv2d(X[None], K, padding=padding, stride=stride)[0]
    Y = corr2d_multi_in_out(X, K, padding=padding, stride=stride)
    assert Y.shape == expected.shape
    assert_close(Y, expected)


@pytest.mark.parametrize(
    ("C", "O", "H", "W"), [(1, 1, 1, 1), (3, 2, 3, 3), (5, 7, 4, 6), (2, 1, 8, 3)]
)
def test_corr2d_1x1_matches_conv2d_and_loop_version(C, O, H, W) -> None:
    g = torch.Generator().manual_seed(C + O)
    X = torch.randn(C, H, W, generator=g, dtype=DTYPE)
    K = torch.randn(O, C, 1, 1, generator=g, dtype=DTYPE)
    Y = corr2d_multi_in_out_1x1(X, K)
    assert Y.shape == (O, H, W)
    assert_close(Y, F.conv2d(X[None], K)[0])
    assert_close(Y, corr2d_multi_in_out(X, K))


def test_corr2d_1x1_promotes_dtypes_like_the_loop_version() -> None:
    X = torch.arange(12).reshape(3, 2, 2)  # 整数图像
    K = torch.tensor([0.5, 1.0, -1.0]).reshape(1, 3, 1, 1)
    Y = corr2d_multi_in_out_1x1(X, K)
    assert Y.dtype == torch.float32
    assert_close(Y, corr2d_multi_in_out(X, K))


def _pool_cases() -> list[tuple]:
    cases = []
    for shape, pool_size, padding, stride in itertools.product(
        [(5, 5), (2, 6, 7), (3, 4, 9)],
        [1, 2, 3, (2, 3)],
        [0, 1, (1, 0)],
        [None, 1, 2, (1, 2)],
    ):
        kh, kw = _pair(pool_size)
        ph, pw = _pair(padding)
        if ph > kh // 2 or pw > kw // 2:  # PyTorch 也要求填充不超过窗口的一半
            continue
        cases.append((shape, pool_size, padding, stride))
    return cases


POOL_CASES = _pool_cases()


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize(("shape", "pool_size", "padding", "stride"), POOL_CASES, ids=str)
def test_pool2d_matches_torch(shape, pool_size, padding, stride, mode) -> None:
    g = torch.Generator().manual_seed(len(shape) * 10 + _pair(pool_size)[1])
    # 全是负数：如果最大汇聚错把填充当成 0，结果就会出现 0
    X = torch.randn(shape, generator=g, dtype=DTYPE) - 10
    batched = X if X.ndim == 3 else X[None]  # F.*_pool2d 接受不带批量维的 (C, H, W)
    if mode == "max":
        expected = F.max_pool2d(batched, pool_size, stride=stride, padding=padding)
    else:
        expected = F.avg_pool2d(
            batched, pool_size, stride=stride, padding=padding, count_include_pad=True
        )
    expected = expected if X.ndim == 3 else expected[0]
    assert_close(pool2d(X, pool_size, mode=mode, padding=padding, stride=stride), expected)


def test_pool2d_avg_counts_padding() -> None:
    """平均汇聚的填充算作 0 且计入分母：左上角 = 1/4，而不是 1。"""
    X = torch.ones(2, 2)
    Y = pool2d(X, 2, mode="avg", padding=1, stride=1)
    assert Y[0, 0].item() == 0.25
    exclude = F.avg_pool2d(X[None], 2, stride=1, padding=1, count_include_pad=False)[0]
    assert exclude[0, 0].item() == 1.0  # 另一种约定，我们不采用


def test_pool2d_integer_input_becomes_float() -> None:
    Y = pool2d(torch.arange(16).reshape(4, 4), 2, mode="avg")
    assert Y.dtype == torch.get_default_dtype()
    assert_close(Y, torch.tensor([[2.5, 4.5], [10.5, 12.5]]))


@pytest.mark.parametrize(
    ("kernel_size", "dilation"), [(1, 1), (2, 1), (3, 1), (5, 1), (2, 2), (3, 2), (3, 3)]
)
def test_conv_output_size_matches_nn_conv2d(kernel_size: int, dilation: int) -> None:
    for size, padding, stride in itertools.product([1, 2, 5, 8, 13], [0, 1, 2], [1, 2, 3]):
        opts = dict(padding=padding, stride=stride, dilation=dilation)
        conv = nn.Conv2d(1, 1, kernel_size, **opts)
        x = torch.zeros(1, 1, size, size + 3)
        if dilation * (kernel_size - 1) + 1 > size + 2 * padding:
            with pytest.raises(ValueError, match="比填充后的输入"):
                conv_output_size(size, kernel_size, **opts)
            with pytest.raises(RuntimeError):  # PyTorch 同样拒绝
                conv(x)
            continue
        with torch.no_grad():
            h, w = conv(x).shape[-2:]
        assert conv_output_size(size, kernel_size, **opts) == h, (size, kernel_size, opts)
        assert conv_output_size(size + 3, kernel_size, **opts) == w, (size + 3, kernel_size, opts)


@pytest.mark.parametrize(
    ("kernel_size", "dilation"), [(1, 1), (2, 1), (3, 1), (4, 1), (2, 2), (3, 2)]
)
def test_pool_output_size_matches_nn_maxpool2d(kernel_size: int, dilation: int) -> None:
    for size, padding, stride in itertools.product([2, 5, 8, 13], [0, 1, 2], [None, 1, 2, 3]):
        if padding > kernel_size // 2 or dilation * (kernel_size - 1) + 1 > size + 2 * padding:
            continue
        pool = nn.MaxPool2d(kernel_size, stride=stride, padding=padding, dilation=dilation)
        h = pool(torch.zeros(1, 1, size, size)).shape[-1]
        assert pool_output_size(
            size, kernel_size, padding=padding, stride=stride, dilation=dilation
        ) == h, (size, kernel_size, padding, stride, dilation)


def test_pool_output_size_default_stride_is_kernel() -> None:
    assert pool_output_size(28, 2) == 14 == pool_output_size(28, 2, stride=2)
    assert pool_output_size(10, 3) == nn.MaxPool2d(3)(torch.zeros(1, 10, 10)).shape[-1] == 3


def _brute_force_receptive_field(layers: list[tuple[int, int]], rf: int) -> tuple[int, int]:
    """一叠全 1 权重的卷积：输出 (0, 0) 对输入的梯度在第 0 行非零的 (跨度, 个数)。"""
    x = torch.zeros(1, 1, rf + 4, rf + 4, dtype=DTYPE, requires_grad=True)
    y = x
    for kernel_size, stride in layers:
        y = F.conv2d(y, torch.ones(1, 1, kernel_size, kernel_size, dtype=DTYPE), stride=stride)
    y[0, 0, 0, 0].backward()
    assert x.grad is not None
    row = x.grad[0, 0, 0].nonzero().flatten()
    return int(row.max() - row.min() + 1), len(row)


def _random_stacks(n: int, seed: int) -> list[list[tuple[int, int]]]:
    rng = random.Random(seed)
    return [
        [(rng.randint(1, 5), rng.randint(1, 3)) for _ in range(rng.randint(1, 4))] for _ in range(n)
    ]


RF_STACKS = [
    [(3, 1)],
    [(3, 1), (3, 1)],
    [(3, 1), (3, 1), (3, 1)],
    [(5, 1), (2, 2), (5, 1), (2, 2)],  # LeNet 的卷积与汇聚
    [(3, 2), (3, 2), (3, 2)],
    [(7, 2), (3, 2), (3, 1), (1, 1)],
    [(1, 3), (3, 1)],  # 核比步幅小：感受野中间有“空洞”
    *_random_stacks(10, seed=1),
]


@pytest.mark.parametrize("layers", RF_STACKS, ids=str)
def test_receptive_field_matches_gradient(layers: list[tuple[int, int]]) -> None:
    rf = receptive_field(layers)
    span, count = _brute_force_receptive_field(layers, rf)
    assert span == rf
    if all(k >= s for k, s in layers[:-1]):  # 没有空洞时，跨度里的每个位置都被看到
        assert count == rf


def test_receptive_field_of_nothing_is_one_pixel() -> None:
    assert receptive_field([]) == 1


def test_conv2d_matches_f_conv2d_and_gets_gradients() -> None:
    torch.manual_seed(0)
    conv = Conv2D((2, 3))
    with torch.no_grad():
        conv.bias.fill_(0.5)
    X = torch.randn(5, 6)
    Y = conv(X)
    expected = F.conv2d(X[None, None], conv.weight[None, None], conv.bias)[0, 0]
    assert_close(Y, expected)
    Y.square().sum().backward()
    assert conv.weight.grad is not None and conv.bias.grad is not None
    assert conv.weight.grad.abs().sum() > 0
    assert conv.bias.grad.abs().sum() > 0
    assert {name for name, _ in conv.named_parameters()} == {"weight", "bias"}


def test_conv2d_learns_edge_kernel() -> None:
    """从 X 与 corr2d(X, [[1, -1]]) 学回卷积核。"""
    torch.manual_seed(0)
    X = torch.ones(6, 8)
    X[:, 2:6] = 0  # 中间四列是黑的：两条竖直边缘
    K = torch.tensor([[1.0, -1.0]])
    Y = corr2d(X, K)
    conv = Conv2D((1, 2))
    # 损失是平方误差之和（不取平均）。有偏置时它的最大曲率约为 124，
    # 梯度下降的学习率必须小于 2/124 ≈ 0.016，否则发散（0.03 就会）。
    lr = 0.01
    for _ in range(150):
        loss = (conv(X) - Y).square().sum()
        conv.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in conv.parameters():
                p -= lr * p.grad
    assert_close(conv.weight.detach(), K, atol=1e-2, rtol=0)
    assert abs(conv.bias.item()) < 1e-2


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: corr2d(torch.ones(1, 3, 3), torch.ones(2, 2)), "二维|2 维"),
        (lambda: corr2d(torch.ones(3, 3), torch.ones(1, 2, 2)), "2 维"),
        (lambda: corr2d(torch.ones(3, 3), torch.ones(4, 2)), "比填充后的输入"),
        (lambda: corr2d(torch.ones(3, 3), torch.ones(0, 2)), r"卷积核的形状是 \(0, 2\)"),
        (lambda: corr2d(torch.ones(3, 3), torch.ones(4, 4), padding=(1, 0)), "比填充后的输入"),
        (lambda: corr2d(torch.ones(3, 3), torch.ones(2, 2), stride=0), "stride"),
        (lambda: corr2d(torch.ones(3, 3), torch.ones(2, 2), stride=(1, -1)), "stride"),
        (lambda: corr2d(torch.ones(3, 3), torch.ones(2, 2), stride=(1, 2, 3)), "stride"),
        (lambda: corr2d(torch.ones(3, 3), torch.ones(2, 2), padding=-1), "padding 不能是负数"),
        (lambda: pool2d(torch.ones(4, 4), 2, padding=(0, -1)), "padding 不能是负数"),
        (lambda: corr2d(torch.ones(3, 3), torch.ones(2, 2), padding=1.5), "padding"),
        (lambda: corr2d_multi_in(torch.ones(2, 3, 3), torch.ones(3, 2, 2)), "通道"),
        (lambda: corr2d_multi_in(torch.ones(3, 3), torch.ones(2, 2)), "3 维"),
        (lambda: corr2d_multi_in_out(torch.ones(2, 3, 3), torch.ones(2, 2, 2)), "4 维"),
        # 只有一个参数的维数不对：报错要指名是哪一个，而不是等到下一层函数才出错
        (lambda: corr2d_multi_in(torch.ones(3, 3), torch.ones(3, 2, 2)), "corr2d_multi_in 的输入 X"),
        (lambda: corr2d_multi_in(torch.ones(2, 3, 3), torch.ones(2, 2)), "corr2d_multi_in 的卷积核 K"),
        (lambda: corr2d_multi_in_out(torch.ones(3, 3), torch.ones(1, 3, 2, 2)), "corr2d_multi_in_out 的输入 X"),
        (lambda: corr2d_multi_in_out_1x1(torch.ones(3, 3), torch.ones(1, 3, 1, 1)), "_1x1 的输入 X"),
        (lambda: corr2d_multi_in_out_1x1(torch.ones(2, 3, 3), torch.ones(2, 1)), "_1x1 的卷积核 K"),
        (lambda: corr2d_multi_in_out_1x1(torch.ones(2, 3, 3), torch.ones(1, 2, 3, 3)), "1×1"),
        (lambda: corr2d_multi_in_out_1x1(torch.ones(2, 3, 3), torch.ones(1, 3, 1, 1)), "通道"),
        (lambda: pool2d(torch.ones(1, 1, 4, 4), 2), "2 维或 3 维"),
        (lambda: pool2d(torch.ones(4, 4), 2, mode="min"), "mode"),
        (lambda: pool2d(torch.ones(4, 4), 0), "pool_size"),
        (lambda: pool2d(torch.ones(4, 4), 2, stride=0), "stride"),
        (lambda: pool2d(torch.ones(4, 4), 2, padding=2), "一半"),
        (lambda: pool2d(torch.ones(2, 2), 3), "比填充后的输入"),
        (lambda: conv_output_size(32, 5, stride=0), "stride"),
        (lambda: conv_output_size(4, 5), "比填充后的输入"),
        (lambda: conv_output_size(4, 3, dilation=2), "比填充后的输入"),
        (lambda: conv_output_size(0, 1), "size"),
        (lambda: pool_output_size(8, 2, padding=-1), "padding"),
        (lambda: receptive_field([(0, 1)]), "kernel_size"),
        (lambda: receptive_field([(3, 0)]), "stride"),
        (lambda: receptive_field([(3,)]), "kernel_size, stride"),
        (lambda: Conv2D(0), "kernel_size"),
    ],
)
def test_invalid_arguments_raise_value_error(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


# 尺寸检查逐个维度、在边界上判断：高和宽不同、两个方向的填充不同，差一行就该报错
EDGES = [
    # (输入的高宽, 核或窗口的高宽, padding, 合法吗)
    ((2, 5), (4, 3), (1, 0), True),  # 填充后的高 4 正好等于核高
    ((2, 5), (5, 3), (1, 0), False),
    ((5, 2), (3, 4), (0, 1), True),
    ((5, 2), (3, 5), (0, 1), False),
]


@pytest.mark.parametrize(("size", "kernel", "padding", "valid"), EDGES)
def test_corr2d_size_check_at_the_edge(size, kernel, padding, valid) -> None:
    X, K = torch.randn(size, dtype=torch.float64), torch.randn(kernel, dtype=torch.float64)
    if valid:
        expected = F.conv2d(X[None, None], K[None, None], padding=padding)[0, 0]
        assert_close(corr2d(X, K, padding=padding), expected)
    else:
        with pytest.raises(ValueError, match="比填充后的输入"):
            corr2d(X, K, padding=padding)
        with pytest.raises(RuntimeError):
            F.conv2d(X[None, None], K[None, None], padding=padding)


POOL_EDGES = [
    *EDGES,
    ((4, 4), (2, 3), (0, 1), True),  # 填充正好是窗口的一半
    ((4, 4), (2, 3), (0, 2), False),
    ((4, 4), (3, 2), (1, 1), True),
    ((4, 4), (3, 2), (2, 0), False),
]


@pytest.mark.parametrize(("size", "window", "padding", "valid"), POOL_EDGES)
def test_pool2d_size_and_padding_checks_at_the_edge(size, window, padding, valid) -> None:
    X = torch.randn(2, *size, dtype=torch.float64)  # (C, H, W)：高宽取的是最后两维
    if valid:
        expected = F.max_pool2d(X, window, stride=1, padding=padding)
        assert_close(pool2d(X, window, stride=1, padding=padding), expected)
    else:
        with pytest.raises(ValueError, match="比填充后的输入|一半"):
            pool2d(X, window, stride=1, padding=padding)
        with pytest.raises(RuntimeError):
            F.max_pool2d(X, window, stride=1, padding=padding)


@pytest.mark.parametrize("value", [True, (1, False), [2, True]])
def test_booleans_are_not_sizes(value) -> None:
    # bool 是 int 的子类：stride=True 不报错的话，读者以为写的是一个开关
    with pytest.raises(ValueError, match="stride 应当是一个整数或两个整数"):
        corr2d(torch.ones(3, 3), torch.ones(2, 2), stride=value)
