"""dlbook.roofline：公式的数值、测量函数的单位（与独立计时对照）和坏输入。测量本身不设速度门槛。"""

from __future__ import annotations

import pytest
import torch

from dlbook import roofline
from dlbook.roofline import (
    KERNELS,
    attainable,
    call_overhead,
    host_to_device_bandwidth,
    matmul_flops,
    matmul_intensity,
    memory_bandwidth,
)


def test_matmul_intensity_is_2n3_over_3n2_bytes():
    assert matmul_intensity(3) == pytest.approx(2 * 27 / (3 * 9 * 4))
    assert matmul_intensity(3, bytes_per_element=2) == pytest.approx(2 * matmul_intensity(3))
    assert matmul_intensity(2048) == pytest.approx(2048 / 6)
    with pytest.raises(ValueError):
        matmul_intensity(0)


def test_attainable_is_the_lower_of_the_two_roofs():
    peak, bw = 100.0, 10.0
    assert attainable(1.0, peak_flops=peak, bandwidth=bw) == 10.0
    assert attainable(10.0, peak_flops=peak, bandwidth=bw) == 100.0  # 脊点
    assert attainable(50.0, peak_flops=peak, bandwidth=bw) == 100.0
    with pytest.raises(ValueError, match="正数"):
        attainable(0.0, peak_flops=peak, bandwidth=bw)
    assert attainable(0.5, peak_flops=0.5, bandwidth=0.5) == 0.25  # 小于 1 的正数也可以


@pytest.fixture
def fake_timer(monkeypatch):
    """让每个被计时的 step 都“用时 0.25 秒”：换算出的数就正好是每次搬的字节数或做的运算次数的 4 倍
    （不用 1 秒：乘和除 1 分不出来）。"""
    outputs = []

    def fake(step, *, steps, repeat, device):
        outputs.append(step())
        return 0.25

    monkeypatch.setattr(roofline, "_best_seconds", fake)
    return outputs


@pytest.mark.parametrize(("kernel", "nbytes"), [("read", 4), ("copy", 8), ("add", 12)])
def test_memory_bandwidth_counts_the_bytes_each_kernel_moves(fake_timer, kernel, nbytes):
    assert memory_bandwidth(1000, kernel=kernel) == 4 * nbytes * 1000
    (out,) = fake_timer
    assert out.shape == (() if kernel == "read" else (1000,))


def test_matmul_flops_counts_2n3_per_multiply(fake_timer):
    assert matmul_flops(7) == 4 * 2 * 7**3
    assert fake_timer[0].shape == (7, 7)


def test_call_overhead_is_the_time_of_one_call(fake_timer):
    assert call_overhead() == 0.25
    # 计时的是对一个只有一个元素的张量做的一次就地加法（从 0 加到 1）
    (x,) = fake_timer
    assert x.shape == (1,) and x.item() == 1.0


@pytest.fixture
def timed_outputs(monkeypatch):
    """不替换计时，只记下每个被计时的 step 算出的结果：核对它真的算了名字说的那件事，而不是只看用时。"""
    outputs = []
    original = roofline._best_seconds

    def spy(step, **kwargs):
        outputs.append(step().clone())
        return original(step, **kwargs)

    monkeypatch.setattr(roofline, "_best_seconds", spy)
    return outputs


@pytest.mark.parametrize("kernel", KERNELS)
def test_each_timed_kernel_computes_what_it_names(timed_outputs, kernel):
    torch.manual_seed(0)
    memory_bandwidth(16, kernel=kernel, steps=1, repeat=1)
    torch.manual_seed(0)
    a = torch.rand(16)
    expected = {"read": lambda: a.sum(), "copy": lambda: a, "add": lambda: a + torch.rand_like(a)}[kernel]()
    torch.testing.assert_close(timed_outputs[0], expected)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_matmul_multiplies_the_two_matrices_in_the_asked_dtype(timed_outputs, dtype):
    # 硬件一页用 bfloat16 测峰值：若悄悄用了 float32，印出的就是别的数
    torch.manual_seed(0)
    matmul_flops(4, dtype=dtype, steps=1, repeat=1)
    torch.manual_seed(0)
    a, b = torch.rand(4, 4, dtype=dtype), torch.rand(4, 4, dtype=dtype)
    (out,) = timed_outputs
    assert out.dtype == dtype
    torch.testing.assert_close(out, a @ b)


@pytest.mark.parametrize("kernel", KERNELS)
def test_memory_bandwidth_is_bytes_per_second(kernel):
    bw = memory_bandwidth(2**20, kernel=kernel, steps=3, repeat=2)
    assert 1e8 < bw < 1e13  # 0.1 GB/s 到 10 TB/s：任何一台真机器都在这个范围里


def test_call_overhead_is_seconds_per_call():
    seconds = call_overhead(steps=200, repeat=2)
    assert 1e-8 < seconds < 1e-2


def test_the_smallest_sizes_are_accepted(fake_timer):
    assert memory_bandwidth(1, kernel="add") == 4 * 12
    assert matmul_flops(1) == 4 * 2
    assert matmul_intensity(1, bytes_per_element=1) == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    "kwargs",
    [{"intensity": 0.0}, {"peak_flops": 0.0}, {"bandwidth": 0.0}, {"bandwidth": -1.0}],
)
def test_attainable_needs_positive_numbers(kwargs):
    args = {"intensity": 1.0, "peak_flops": 1.0, "bandwidth": 1.0, **kwargs}
    with pytest.raises(ValueError, match="正数"):
        attainable(args.pop("intensity"), **args)


def test_matmul_intensity_rejects_zero_bytes():
    with pytest.raises(ValueError, match="bytes_per_element"):
        matmul_intensity(4, bytes_per_element=0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: memory_bandwidth(0), "numel"),
        (lambda: memory_bandwidth(10, kernel="triad"), "kernel 只能是"),
        (lambda: matmul_flops(0), "n 至少为 1"),
        (lambda: call_overhead(repeat=0), "repeat"),
        (lambda: host_to_device_bandwidth(10, "cpu", pinned=False), "只在 CUDA 设备上"),
        # 先查设备、再查 numel：这一条在没有 GPU 的机器上也能查（还没分配任何 GPU 内存就报错）
        (lambda: host_to_device_bandwidth(0, "cuda", pinned=False), "numel 至少为 1"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
