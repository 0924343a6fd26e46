"""脉动阵列（systolic array）的逐拍模拟：TPU 这类 AI 芯片做矩阵乘法的方式。

阵列是 ``M × N`` 个处理单元（PE），排成网格，每个 PE 只做一件事：把从左边来的数和从上边来的数相乘，
加到自己的累加器上，然后把左边来的数传给右边的邻居、上边来的数传给下边的邻居。
计算 ``C = A B``（``A`` 是 ``M × K``，``B`` 是 ``K × N``）时，``A`` 的第 ``i`` 行从左边送进第 ``i`` 行 PE，
``B`` 的第 ``j`` 列从上边送进第 ``j`` 列 PE；第 ``i`` 行晚 ``i`` 拍开始送，第 ``j`` 列晚 ``j`` 拍，
于是 ``A[i, k]`` 和 ``B[k, j]`` 正好在第 ``i + j + k`` 拍同时到达 PE ``(i, j)``。
最后一对数在第 ``(M-1) + (N-1) + (K-1)`` 拍相遇，一共要 ``M + N + K - 2`` 拍。

每个数从内存读出一次，却在阵列里被一整行（列）PE 用了一遍：这就是它省内存带宽的地方。
PE 之间只有相邻的连线，没有缓存、没有指令，所以同样的芯片面积能放下多得多的乘加单元。

这里模拟的是最容易看懂的**输出驻留**（output-stationary）阵列：结果留在 PE 里，``A`` 和 ``B`` 都流动。
谷歌 TPU 的矩阵单元用的是**权重驻留**（weight-stationary）：先把一块权重装进阵列，激活值从左边一行行流进，
部分和向下流出。道理相同：每个数读一次，被一整行（列）PE 重复使用。

>>> A = torch.tensor([[1., 2.], [3., 4.]])
>>> C, cycles = systolic_matmul(A, torch.eye(2))
>>> C, cycles
(tensor([[1., 2.],
        [3., 4.]]), 4)
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["systolic_cycles", "systolic_matmul"]


def systolic_cycles(m: int, n: int, k: int) -> int:
    """``M × N`` 的脉动阵列算一次 ``(M × K)(K × N)`` 要多少拍：``M + N + K - 2``。

    >>> systolic_cycles(128, 128, 128)  # 理想情况下每拍 128² 次乘加；前后各有填满、排空的时间
    382
    """
    if min(m, n, k) < 1:
        raise ValueError(f"矩阵的每一维至少为 1，而不是 {(m, n, k)}")
    return m + n + k - 2


def systolic_matmul(A: Tensor, B: Tensor, *, busy: list[Tensor] | None = None) -> tuple[Tensor, int]:
    """逐拍模拟输出驻留（output-stationary）的脉动阵列，返回 ``(A @ B, 用了几拍)``。

    每一拍：先把寄存器里的数各向右、向下移一格，左边界和上边界补进这一拍要送的数
    （还没轮到或已经送完时补 0），然后每个 PE 把手里的两个数相乘、加到累加器上。

    传入列表 ``busy`` 时，在里面放一个 ``M × N`` 的整数张量：每个 PE 有几拍手里的两个数都是真的送进来的数
    （而不是补的 0），即做了几次有用的乘加。它与每个 PE 的拍数之比就是阵列的利用率。
    """
    if A.ndim != 2 or B.ndim != 2:
        raise ValueError(f"A 和 B 都应是二维矩阵，而不是 {A.ndim} 维和 {B.ndim} 维")
    m, k = A.shape
    k2, n = B.shape
    if k != k2:
        raise ValueError(f"A 有 {k} 列，B 却有 {k2} 行，不能相乘")
    dtype = torch.promote_types(A.dtype, B.dtype)
    A, B = A.to(dtype), B.to(dtype)
    a = torch.zeros(m, n, dtype=dtype, device=A.device)  # 每个 PE 手里“从左边来”的数
    b = torch.zeros(m, n, dtype=dtype, device=A.device)  # 每个 PE 手里“从上边来”的数
    acc = torch.zeros(m, n, dtype=dtype, device=A.device)
    va = torch.zeros(m, n, dtype=torch.bool, device=A.device)  # a 里是不是真的送进来的数
    vb = torch.zeros(m, n, dtype=torch.bool, device=A.device)
    useful = torch.zeros(m, n, dtype=torch.int64, device=A.device)
    rows, cols = torch.arange(m, device=A.device), torch.arange(n, device=A.device)
    cycles = systolic_cycles(m, n, k)
    for t in range(cycles):
        a = torch.cat([torch.zeros(m, 1, dtype=dtype, device=A.device), a[:, :-1]], dim=1)
        b = torch.cat([torch.zeros(1, n, dtype=dtype, device=A.device), b[:-1, :]], dim=0)
        # 第 i 行在第 t 拍送进 A[i, t - i]，第 j 列送进 B[t - j, j]
        ka, kb = t - rows, t - cols
        ok_a, ok_b = (ka >= 0) & (ka < k), (kb >= 0) & (kb < k)
        a[ok_a, 0] = A[rows[ok_a], ka[ok_a]]
        b[0, ok_b] = B[kb[ok_b], cols[ok_b]]
        va = torch.cat([ok_a.unsqueeze(1), va[:, :-1]], dim=1)
        vb = torch.cat([ok_b.unsqueeze(0), vb[:-1, :]], dim=0)
        acc += a * b
        useful += va & vb
    if busy is not None:
        busy[:] = [useful]
    return acc, cycles
