"""dlbook.device 与 dlbook.mode：设备选择、随机种子、运行模式。

这台机器没有 GPU：CUDA/MPS 的存在与否用 monkeypatch 模拟。
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import dlbook
from dlbook import device as device_module
from dlbook.device import get_device, seed_everything, to_device
from dlbook.mode import current_mode, pick


@pytest.fixture
def machine(monkeypatch):
    """模拟一台机器：``machine(cuda=2, mps=False)`` 表示有两块 GPU、没有 MPS。"""
    monkeypatch.delenv("DLBOOK_DEVICE", raising=False)

    def configure(*, cuda: int = 0, mps: bool = False) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
        monkeypatch.setattr(device_module, "_mps_available", lambda: mps)

    configure()
    return configure


def test_package_exports():
    assert dlbook.get_device is get_device and dlbook.seed_everything is seed_everything
    assert dlbook.current_mode is current_mode and dlbook.pick is pick


# ---------------------------------------------------------------------------
# get_device
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"),
    [(0, False, "cpu"), (0, True, "mps"), (1, True, "cuda"), (2, False, "cuda")],
)
def test_automatic_choice_order(machine, cuda, mps, expected):
    machine(cuda=cuda, mps=mps)
    assert get_device() == torch.device(expected)


def test_real_machine_default_is_usable():
    torch.zeros(1, device=get_device())


@pytest.mark.parametrize("name", ["cpu", "CPU", " cpu "])
def test_explicit_cpu(machine, name):
    machine(cuda=1)
    assert get_device(name) == torch.device("cpu")


def test_explicit_cuda_index(machine):
    machine(cuda=2)
    assert get_device("cuda:1") == torch.device("cuda", 1)
    assert get_device("cuda") == torch.device("cuda")
    with pytest.raises(RuntimeError, match="只有 2 块 GPU"):
        get_device("cuda:2")


@pytest.mark.parametrize("name", ["cuda", "cuda:0"])
def test_cuda_requested_but_missing(machine, name):
    with pytest.raises(RuntimeError, match="CUDA"):
        get_device(name)


def test_mps_requested_but_missing(machine):
    with pytest.raises(RuntimeError, match="MPS"):
        get_device("mps")
    machine(mps=True)
    assert get_device("mps") == torch.device("mps")


def test_torch_device_is_accepted_and_checked_the_same(machine):
    machine(cuda=2)
    assert get_device(torch.device("cuda", 1)) == torch.device("cuda", 1)
    assert get_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(RuntimeError, match="只有 2 块 GPU"):
        get_device(torch.device("cuda", 2))


@pytest.mark.parametrize("name", [0, 1.5, ["cpu"]])
def test_other_types_are_a_type_error(machine, name):
    with pytest.raises(TypeError, match="字符串.*torch.device"):
        get_device(name)


@pytest.mark.parametrize("name", ["tpu", "gpu", "cuda:x", "cuda:", "cpu0", ""])
def test_unknown_names(machine, name):
    with pytest.raises(ValueError, match="未知的设备"):
        get_device(name)


def test_environment_variable(machine, monkeypatch):
    machine(cuda=1)
    monkeypatch.setenv("DLBOOK_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")
    assert get_device("cuda") == torch.device("cuda")  # 参数优先于环境变量
    monkeypatch.setenv("DLBOOK_DEVICE", "")
    assert get_device() == torch.device("cuda")  # 空值等于没设


def test_environment_variable_names_itself_in_errors(machine, monkeypatch):
    monkeypatch.setenv("DLBOOK_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="环境变量 DLBOOK_DEVICE"):
        get_device()
    monkeypatch.setenv("DLBOOK_DEVICE", "tpu")
    with pytest.raises(ValueError, match="环境变量 DLBOOK_DEVICE：未知的设备 'tpu'"):
        get_device()


# ---------------------------------------------------------------------------
# seed_everything
# ---------------------------------------------------------------------------


def _draw() -> tuple[float, float, torch.Tensor]:
    return random.random(), float(np.random.rand()), torch.rand(3)


def test_seed_everything_makes_all_generators_repeat():
    seed_everything(7)
    first = _draw()
    seed_everything(7)
    second = _draw()
    assert first[:2] == second[:2] and torch.equal(first[2], second[2])
    seed_everything(8)
    assert _draw()[0] != first[0]


def test_seed_everything_returns_nothing_to_display():
    # 示例单元格的最后一个表达式会显示在页面上：返回一个生成器就会印出 <torch._C.Generator at 0x…>
    assert seed_everything(3) is None


# ---------------------------------------------------------------------------
# mode
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [("quick", "quick"), ("full", "full"), (" FULL ", "full")]
)
def test_mode_from_environment(monkeypatch, value, expected):
    monkeypatch.setenv("DLBOOK_MODE", value)
    assert current_mode() == expected


@pytest.mark.parametrize(("cuda", "expected"), [(False, "quick"), (True, "full")])
def test_default_mode_follows_cuda(monkeypatch, cuda, expected):
    monkeypatch.delenv("DLBOOK_MODE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert current_mode() == expected
    monkeypatch.setenv("DLBOOK_MODE", "")
    assert current_mode() == expected


def test_invalid_mode(monkeypatch):
    monkeypatch.setenv("DLBOOK_MODE", "fast")
    with pytest.raises(ValueError, match=r"DLBOOK_MODE='fast'.*quick, full"):
        current_mode()


def test_pick(monkeypatch):
    monkeypatch.setenv("DLBOOK_MODE", "quick")
    assert pick(quick=1, full=10) == 1
    monkeypatch.setenv("DLBOOK_MODE", "full")
    assert pick(quick=1, full=10) == 10
    assert pick(quick=None, full=[1, 2]) == [1, 2]
    with pytest.raises(TypeError):
        pick(1, 10)  # 只接受关键字参数


class _FakeBatch:
    def __init__(self, device: str) -> None:
        self.device = torch.device(device)
        self.calls: list[tuple[torch.device, bool]] = []

    def to(self, device: torch.device, *, non_blocking: bool = False) -> _FakeBatch:
        self.calls.append((device, non_blocking))
        return self


@pytest.mark.parametrize(
    ("source", "target", "non_blocking"),
    [("cpu", "cuda", True), ("cuda", "cpu", False), ("cpu", "cpu", False), ("cpu", "mps", False)],
)
def test_batches_move_asynchronously_only_from_cpu_to_cuda(source, target, non_blocking):
    # 从 GPU 往 CPU 异步复制时，CPU 上的计算可能在复制完成前就读了内存
    batch = _FakeBatch(source)
    to_device(batch, torch.device(target))
    assert batch.calls == [(torch.device(target), non_blocking)]
