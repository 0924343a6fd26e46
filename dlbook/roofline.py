"""量一台设备的三个上限：每次调用的固定开销、内存带宽、矩阵乘法的算力；再用屋顶线模型把它们放在一起。

一个运算有多快，取决于三者中最先碰到的那个：

- **固定开销**：PyTorch 每调用一个运算，都要在 Python 和调度器里走一遍，在 GPU 上还要启动一个内核。
  张量很小时，时间几乎全花在这里（:func:`call_overhead`）。
- **内存带宽**：每秒能从内存读多少字节（:func:`memory_bandwidth`）。逐元素运算每读写几个字节才做一次运算，
  受它限制。
- **算力**：每秒能做多少次浮点运算（:func:`matmul_flops`）。大矩阵乘法每个字节要参与很多次运算，受它限制。

**屋顶线模型**（Williams、Waterman、Patterson，2009）用**计算强度** ``I``（每读写一个字节做几次浮点运算）
把后两者连起来：能达到的速度是 ``min(峰值算力, I × 带宽)``（:func:`attainable`）。两条线的交点
``峰值算力 / 带宽`` 叫脊点：强度低于它的运算受带宽限制，高于它的受算力限制。

>>> matmul_intensity(1024)  # 1024×1024 的 float32 矩阵相乘：读两个、写一个矩阵
170.66666666666666
>>> attainable(0.25, peak_flops=1e12, bandwidth=1e11), attainable(100, peak_flops=1e12, bandwidth=1e11)
(25000000000.0, 1000000000000.0)
"""

from __future__ import annotations

import torch

from dlbook.bench import time_interleaved

__all__ = [
    "KERNELS",
    "attainable",
    "call_overhead",
    "host_to_device_bandwidth",
    "matmul_flops",
    "matmul_intensity",
    "memory_bandwidth",
]


def _best_seconds(step, *, steps: int, repeat: int, device: torch.device) -> float:
    """``step()`` 每次的用时（秒）：计时 ``repeat`` 遍，取最快的一遍（别的程序只会让它变慢）。"""
    return time_interleaved({"step": step}, steps=steps, warmup=2, repeat=repeat, device=device)["step"]


def call_overhead(device: torch.device | str = "cpu", *, steps: int = 2000, repeat: int = 5) -> float:
    """对一个只有一个元素的张量做一次就地加法要多少秒：这几乎全是每次调用的固定开销。"""
    device = torch.device(device)
    x = torch.zeros(1, device=device)
    return _best_seconds(lambda: x.add_(1.0), steps=steps, repeat=repeat, device=device)


KERNELS = ("read", "copy", "add")  # memory_bandwidth 可以用的三种只搬数据的运算


def memory_bandwidth(
    numel: int,
    device: torch.device | str = "cpu",
    *,
    kernel: str = "read",
    steps: int = 10,
    repeat: int = 5,
) -> float:
    """用一种几乎不计算、只搬数据的运算处理 ``numel`` 个 float32，每秒读写多少字节。

    ``kernel`` 选运算，字节数按它名义上读写的量算：

    - ``"read"``：求和，只读，``4 × numel`` 字节；
    - ``"copy"``：复制到另一个张量，读一遍写一遍，``8 × numel`` 字节；
    - ``"add"``：``a + b`` 写进第三个张量，读两遍写一遍，``12 × numel`` 字节。

    三者量到的带宽往往不同：CPU 写一个缓存行之前常常先要把它读进来，实际的读写量比名义上多；
    少数几个核心时，求和又可能受限于加法本身的延迟。画屋顶线时取三者中最高的一个，作为“实测最高带宽”。
    张量放得进 CPU 的缓存时，量到的是缓存的带宽，比内存快得多；要量内存，张量要比缓存大得多。
    """
    if numel < 1:
        raise ValueError(f"numel 至少为 1，而不是 {numel}")
    if kernel not in KERNELS:
        raise ValueError(f"kernel 只能是 {', '.join(KERNELS)} 之一，而不是 {kernel!r}")
    device = torch.device(device)
    a = torch.rand(numel, device=device)
    if kernel == "read":
        out = torch.empty((), device=device)
        step, nbytes = (lambda: torch.sum(a, dim=0, out=out)), 4 * numel
    elif kernel == "copy":
        out = torch.empty_like(a)
        step, nbytes = (lambda: out.copy_(a)), 8 * numel
    else:
        b, out = torch.rand_like(a), torch.empty_like(a)
        step, nbytes = (lambda: torch.add(a, b, out=out)), 12 * numel
    return nbytes / _best_seconds(step, steps=steps, repeat=repeat, device=device)


def matmul_flops(
    n: int,
    device: torch.device | str = "cpu",
    *,
    dtype: torch.dtype = torch.float32,
    steps: int = 5,
    repeat: int = 3,
) -> float:
    """两个 ``n × n`` 矩阵相乘，每秒做多少次浮点运算：一次乘法是 ``2n³`` 次（``n³`` 次乘、``n³`` 次加）。"""
    if n < 1:
        raise ValueError(f"n 至少为 1，而不是 {n}")
    device = torch.device(device)
    a = torch.rand(n, n, device=device, dtype=dtype)
    b = torch.rand(n, n, device=device, dtype=dtype)
    out = torch.empty(n, n, device=device, dtype=dtype)
    seconds = _best_seconds(lambda: torch.mm(a, b, out=out), steps=steps, repeat=repeat, device=device)
    return 2 * n**3 / seconds


def host_to_device_bandwidth(
    numel: int, device: torch.device | str = "cuda", *, pinned: bool, steps: int = 10, repeat: int = 3
) -> float:
    """把 ``numel`` 个 float32 从主机内存复制到 GPU，每秒多少字节。``pinned=True`` 时源张量在锁页内存里。"""
    device = torch.device(device)
    if device.type != "cuda":
        raise ValueError(f"主机到设备的复制只在 CUDA 设备上有意义，而不是 {device}")
    if numel < 1:
        raise ValueError(f"numel 至少为 1，而不是 {numel}")
    src = torch.rand(numel, pin_memory=pinned)
    dst = torch.empty(numel, device=device)
    seconds = _best_seconds(
        lambda: dst.copy_(src, non_blocking=pinned), steps=steps, repeat=repeat, device=device
    )
    return 4 * numel / seconds


def matmul_intensity(n: int, bytes_per_element: int = 4) -> float:
    """``n × n`` 矩阵乘法的计算强度：``2n³`` 次运算，除以读两个、写一个矩阵的 ``3n² × 字节数``。

    它随 ``n`` 线性增长，所以大矩阵乘法总是受算力限制。实际的内核分块读写，读入的字节数比这多一些。
    """
    if n < 1 or bytes_per_element < 1:
        raise ValueError(f"n 和 bytes_per_element 都至少为 1，而不是 {n} 和 {bytes_per_element}")
    return 2 * n**3 / (3 * n**2 * bytes_per_element)


def attainable(intensity: float, *, peak_flops: float, bandwidth: float) -> float:
    """屋顶线模型：计算强度为 ``intensity``（次/字节）的运算最多能达到每秒多少次运算。"""
    if intensity <= 0 or peak_flops <= 0 or bandwidth <= 0:
        raise ValueError("intensity、peak_flops 和 bandwidth 都应为正数")
    return min(peak_flops, intensity * bandwidth)
