"""dlbook.systolic：逐拍模拟的脉动阵列对照 torch.matmul，拍数对照公式。"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.testing import assert_close

from dlbook.systolic import systolic_cycles, systolic_matmul


@pytest.mark.parametrize(("m", "k", "n"), list(itertools.product([1, 2, 5], [1, 3, 7], [1, 4])))
def test_systolic_matmul_matches_torch_matmul(m, k, n):
    g = torch.Generator().manual_seed(m * 100 + k * 10 + n)
    A = torch.randn(m, k, generator=g, dtype=torch.float64)
    B = torch.randn(k, n, generator=g, dtype=torch.float64)
    C, cycles = systolic_matmul(A, B)
    assert_close(C, A @ B)
    assert cycles == systolic_cycles(m, n, k) == m + n + k - 2


def test_integer_and_mixed_dtypes_promote_like_matmul():
    A = torch.tensor([[1, 2], [3, 4]])
    B = torch.tensor([[0.5, 0.0], [0.0, 2.0]], dtype=torch.float64)
    C, _ = systolic_matmul(A, B)
    assert C.dtype == torch.float64
    assert_close(C, A.double() @ B)


@pytest.mark.parametrize(
    ("A", "B", "message"),
    [
        (torch.zeros(2, 3), torch.zeros(2, 3), "A 有 3 列，B 却有 2 行"),
        (torch.zeros(3), torch.zeros(3, 2), "二维矩阵"),
    ],
)
def test_bad_shapes_are_rejected(A, B, message):
    with pytest.raises(ValueError, match=message):
        systolic_matmul(A, B)


def test_cycles_rejects_empty_dimensions():
    with pytest.raises(ValueError, match="至少为 1"):
        systolic_cycles(0, 4, 4)


@pytest.mark.parametrize(("m", "k", "n"), [(1, 1, 1), (3, 5, 4), (4, 2, 6)])
def test_every_pe_does_exactly_k_useful_multiply_adds(m, k, n):
    # 利用率 = 有用的乘加 / 拍数：每个 PE 恰好做 K 次有用的乘加，其余的拍手里至少有一个补进来的 0
    busy: list[torch.Tensor] = []
    _, cycles = systolic_matmul(torch.ones(m, k), torch.ones(k, n), busy=busy)
    (useful,) = busy
    assert useful.shape == (m, n)
    assert torch.equal(useful, torch.full((m, n), k))
    assert useful.sum().item() / (m * n * cycles) == pytest.approx(k / (m + n + k - 2))
    # 数的是真正流进来的输入，不是乘积非零的次数：全是 0 的矩阵也一样要做 K 次乘加
    zeros: list[torch.Tensor] = []
    systolic_matmul(torch.zeros(m, k), torch.zeros(k, n), busy=zeros)
    assert torch.equal(zeros[0], torch.full((m, n), k))
