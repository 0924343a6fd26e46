"""dlbook.transposed 的从零实现逐一对照 PyTorch：F.conv_transpose2d、nn.ConvTranspose2d、nn.Conv2d。"""

from __future__ import annotations

import itertools
import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

from dlbook.conv import corr2d
from dlbook.transposed import (
    conv_matrix,
    conv_output_size,
    conv_transpose2d,
    conv_transpose2d_as_conv,
    conv_transpose_output_size,
    trans_conv2d,
    zero_insert,
)

DTYPE = torch.float64  # 双精度：与 PyTorch 的差别只剩求和顺序带来的舍入


def _random_cases(n: int, seed: int) -> list[dict]:
    """随机生成 n 组合法的转置卷积设置：批量、通道、尺寸、核、步幅、填充、输出填充、空洞率。"""
    rng = random.Random(seed)
    cases: list[dict] = []
    while len(cases) < n:
        case = dict(
            batch=rng.randint(1, 3),
            c_in=rng.randint(1, 4),
            c_out=rng.randint(1, 4),
            size=(rng.randint(1, 6), rng.randint(1, 6)),
            kernel=(rng.randint(1, 5), rng.randint(1, 5)),
            stride=(rng.randint(1, 3), rng.randint(1, 3)),
            padding=(rng.randint(0, 2), rng.randint(0, 2)),
            dilation=(rng.randint(1, 2), rng.randint(1, 2)),
        )
        case["output_padding"] = tuple(
            rng.randint(0, max(s, d) - 1) for s, d in zip(case["stride"], case["dilation"])
        )
        try:
            for axis in range(2):
                conv_transpose_output_size(
                    case["size"][axis], case["kernel"][axis], stride=case["stride"][axis],
                    padding=case["padding"][axis], output_padding=case["output_padding"][axis],
                    dilation=case["dilation"][axis],
                )  # fmt: skip
        except ValueError:  # 填充裁掉的比撒出的还多：换一组
            continue
        cases.append(case)
    return cases


CASES = _random_cases(60, seed=0)


def _ids(case: dict) -> str:
    return "-".join(f"{k}{v}" for k, v in case.items()).replace(" ", "")


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_conv_transpose2d_matches_torch(case: dict) -> None:
    g = torch.Generator().manual_seed(hash(_ids(case)) % 2**31)
    X = torch.randn(case["batch"], case["c_in"], *case["size"], generator=g, dtype=DTYPE)
    K = torch.randn(case["c_in"], case["c_out"], *case["kernel"], generator=g, dtype=DTYPE)
    b = torch.randn(case["c_out"], generator=g, dtype=DTYPE)
    options = {k: case[k] for k in ("stride", "padding", "output_padding", "dilation")}
    expected = F.conv_transpose2d(X, K, b, **options)
    assert_close(conv_transpose2d(X, K, b, **options), expected)
    assert_close(conv_transpose2d_as_conv(X, K, **options) + b.reshape(1, -1, 1, 1), expected)


@pytest.mark.parametrize("case", CASES[:20], ids=_ids)
def test_transposed_conv_is_the_gradient_of_conv(case: dict) -> None:
    """同一个权重：卷积 C → C' 对输入的梯度，就是把上游梯度做 C' → C 的转置卷积。"""
    g = torch.Generator().manual_seed(1)
    stride, padding, dilation = case["stride"], case["padding"], case["dilation"]
    W = torch.randn(case["c_out"], case["c_in"], *case["kernel"], generator=g, dtype=DTYPE)
    # 挑一个卷积能处理、并且输出尺寸不为空的输入尺寸
    size = tuple(max(s, d * (k - 1) + 1) + 2 for s, k, d in zip(case["size"], case["kernel"], dilation))
    X = torch.randn(case["batch"], case["c_in"], *size, generator=g, dtype=DTYPE, requires_grad=True)
    Y = F.conv2d(X, W, stride=stride, padding=padding, dilation=dilation)
    upstream = torch.randn(Y.shape, generator=g, dtype=DTYPE)
    (grad,) = torch.autograd.grad(Y, X, upstream)
    # 转置卷积只能还原出最小的那个输入尺寸，其余几行（列）靠 output_padding 补上
    output_padding = tuple(
        n - conv_transpose_output_size(m, k, stride=s, padding=p, dilation=d)
        for n, m, k, s, p, d in zip(size, Y.shape[2:], case["kernel"], stride, padding, dilation)
    )
    ours = conv_transpose2d(
        upstream, W, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation
    )
    assert_close(ours, grad)


def test_output_size_matches_conv_transpose_layer() -> None:
    """上千种设置逐一对照 nn.ConvTranspose2d；两边都拒绝（或 PyTorch 给出空输出）也算一致。"""
    mismatches, checked = [], 0
    settings = itertools.product(range(1, 7), range(1, 5), range(1, 4), range(0, 3), range(0, 3), (1, 2))
    with torch.no_grad():
        for n, k, s, p, op, d in settings:
            if op >= max(s, d):  # nn.ConvTranspose2d 也不接受：output_padding 必须小于步幅或空洞率
                continue
            layer = nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, output_padding=op, dilation=d)
            try:
                theirs = layer(torch.zeros(1, 1, n, n)).shape[-1] or None  # 0：空输出，我们的公式报错
            except RuntimeError:
                theirs = None
            try:
                ours = conv_transpose_output_size(n, k, stride=s, padding=p, output_padding=op, dilation=d)
            except ValueError:
                ours = None
            checked += 1
            if ours != theirs:
                mismatches.append(((n, k, s, p, op, d), ours, theirs))
    assert checked > 500
    assert not mismatches


def test_output_size_formulas_are_inverse_for_dcgan_layers() -> None:
    """核 4、步幅 2、填充 1：卷积把尺寸减半，转置卷积把它翻倍。"""
    for n in (4, 7, 8, 14, 16):
        up = conv_transpose_output_size(n, 4, stride=2, padding=1)
        assert up == 2 * n
        assert conv_output_size(up, 4, stride=2, padding=1) == n


def test_conv_output_size_is_reexported() -> None:
    assert conv_output_size(5, 3, stride=2, padding=1) == 3


def test_output_size_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="output_padding"):
        conv_transpose_output_size(3, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="不是正数"):
        conv_transpose_output_size(1, 1, padding=1)
    with pytest.raises(ValueError, match="stride"):
        conv_transpose_output_size(3, 3, stride=0)


def test_five_by_five_and_three_by_three_examples() -> None:
    """5×5 → 3×3（核 3、步幅 2、填充 1）的卷积，和把它倒过来的 3×3 → 5×5 的转置卷积。"""
    X = torch.arange(25.0).reshape(5, 5)
    K = torch.ones(3, 3)
    Y = corr2d(X, K, stride=2, padding=1)
    assert Y.shape == (3, 3)
    assert Y[0, 0] == 0 + 1 + 5 + 6  # 左上角的窗口里只有 4 个真实输入
    Z = trans_conv2d(Y, K, stride=2, padding=1)
    assert Z.shape == (5, 5)
    assert_close(Z, F.conv_transpose2d(Y[None, None], K[None, None], stride=2, padding=1)[0, 0])


def test_conv_matrix_transpose_is_transposed_conv() -> None:
    g = torch.Generator().manual_seed(0)
    for (h, w), k, s, p in [((5, 5), (3, 3), 2, 1), ((4, 6), (2, 3), 1, 0), ((7, 5), (3, 2), (2, 1), (1, 0))]:
        K = torch.randn(k, generator=g, dtype=DTYPE)
        X = torch.randn(h, w, generator=g, dtype=DTYPE)
        C = conv_matrix(K, (h, w), stride=s, padding=p)
        Y = corr2d(X, K, stride=s, padding=p)
        assert_close(C @ X.flatten(), Y.flatten())
        back = (C.T @ Y.flatten()).reshape(h, w)
        op = tuple(
            n - conv_transpose_output_size(m, kk, stride=ss, padding=pp)
            for n, m, kk, ss, pp in zip((h, w), Y.shape, k, _pair(s), _pair(p))
        )
        expected = F.conv_transpose2d(Y[None, None], K[None, None], stride=s, padding=p, output_padding=op)
        assert_close(back, expected[0, 0])
        # 伴随关系：<CX, Y> = <X, CᵀY>
        assert_close(torch.dot(C @ X.flatten(), Y.flatten()), torch.dot(X.flatten(), back.flatten()))


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else v


def test_zero_insert() -> None:
    X = torch.arange(1.0, 7.0).reshape(1, 2, 3)
    Z = zero_insert(X, (2, 3))
    assert Z.shape == (1, 3, 7)
    assert_close(Z[..., ::2, ::3], X)
    assert Z.sum() == X.sum()
    with pytest.raises(ValueError, match=r"至少要是二维的.*\(3,\)"):
        zero_insert(torch.ones(3), 2)


def test_trans_conv2d_by_hand() -> None:
    X = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    expected = torch.tensor([[0.0, 0.0, 1.0], [0.0, 4.0, 6.0], [4.0, 12.0, 9.0]])
    assert_close(trans_conv2d(X, K), expected)


def test_unbatched_input_and_gradients_flow() -> None:
    X = torch.randn(2, 3, 3, requires_grad=True)
    K = torch.randn(2, 3, 3, 3, requires_grad=True)
    Y = conv_transpose2d(X, K, stride=2)
    assert Y.shape == (3, 7, 7)
    Y.sum().backward()
    assert X.grad is not None and K.grad is not None


def test_rejects_wrong_shapes() -> None:
    with pytest.raises(ValueError, match="C_in, C_out"):
        conv_transpose2d(torch.zeros(1, 2, 3, 3), torch.zeros(3, 2, 3, 3))
    with pytest.raises(ValueError, match=r"偏置应有 4 个元素.*\(1,\)"):  # 不让 (1,) 悄悄广播到 4 个通道
        conv_transpose2d(torch.zeros(1, 1, 3, 3), torch.zeros(1, 4, 3, 3), torch.zeros(1))
    # 写成普通卷积的版本与 conv_transpose2d 做同样的检查，而不是给出一个 6×6 的结果
    with pytest.raises(ValueError, match="output_padding=1 必须小于"):
        conv_transpose2d_as_conv(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 3, 3), output_padding=1)
    for bad in [(1, 0), (0, 1)]:  # 高、宽各自都要查
        with pytest.raises(ValueError, match="output_padding=1 必须小于"):
            conv_transpose2d_as_conv(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 3, 3), output_padding=bad)
    with pytest.raises(ValueError, match="维"):
        trans_conv2d(torch.zeros(1, 3, 3), torch.zeros(3, 3))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: trans_conv2d(torch.zeros(1, 3, 3), torch.zeros(2, 2)), "trans_conv2d 的输入 X"),
        (lambda: trans_conv2d(torch.zeros(3, 3), torch.zeros(1, 2, 2)), "trans_conv2d 的卷积核 K"),
        (lambda: conv_transpose2d(torch.zeros(3, 3), torch.zeros(1, 1, 2, 2)), "conv_transpose2d 的输入 X"),
        (lambda: conv_transpose2d(torch.zeros(1, 3, 3), torch.zeros(1, 2, 2)), "conv_transpose2d 的卷积核 K"),
        (lambda: conv_transpose2d_as_conv(torch.zeros(1, 3, 3), torch.zeros(1, 1, 2, 2)), "_as_conv 的输入 X"),
        (lambda: conv_transpose2d_as_conv(torch.zeros(1, 1, 3, 3), torch.zeros(1, 2, 2)), "_as_conv 的卷积核 K"),
    ],
)
def test_wrong_number_of_dimensions_names_the_argument(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_defaults_are_pytorchs() -> None:
    # 不写 stride、padding 时与 PyTorch 不写时一样：步幅 1、不填充
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(2, 3, 4, 5, generator=gen, dtype=DTYPE)
    K = torch.randn(3, 2, 3, 2, generator=gen, dtype=DTYPE)
    expected = F.conv_transpose2d(X, K)
    assert_close(conv_transpose2d(X, K), expected)
    assert_close(conv_transpose2d_as_conv(X, K), expected)
    assert_close(trans_conv2d(X[0, 0], K[0, 0]), F.conv_transpose2d(X[:1, :1], K[:1, :1])[0, 0])
    layer = nn.ConvTranspose2d(3, 2, (3, 2))
    assert conv_transpose_output_size(4, 3) == layer(X.float()).shape[-2]
    C = conv_matrix(K[0, 0], (4, 5))
    assert_close(C @ X[0, 0].flatten(), corr2d(X[0, 0], K[0, 0]).flatten())
