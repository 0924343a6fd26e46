"""不需要数据文件的部分：TensorLoader、类别名，以及下载目录的簿记（进程在不在、主机名）。

它们放在 test_data.py 之外：那个文件在没有 Debian 软件包 dataset-fashion-mnist 的机器上整个跳过，
这些测试却在哪里都该运行。
"""

from __future__ import annotations

import pytest
import torch

from dlbook import data
from dlbook.data import FASHION_MNIST_CLASSES, FASHION_MNIST_CLASSES_ZH, TensorLoader


def _toy(n: int = 10):
    y = torch.arange(n)
    return y[:, None] * 10 + torch.arange(3), y  # X 的每一行能认出它的标签


def test_class_names():
    assert len(FASHION_MNIST_CLASSES) == len(FASHION_MNIST_CLASSES_ZH) == 10
    assert FASHION_MNIST_CLASSES[0] == "T-shirt/top" and FASHION_MNIST_CLASSES[9] == "Ankle boot"
    assert FASHION_MNIST_CLASSES_ZH == (
        "T恤", "裤子", "套衫", "连衣裙", "外套", "凉鞋", "衬衫", "运动鞋", "包", "短靴",
    )  # fmt: skip


def test_loader_in_order():
    X, y = _toy()
    loader = TensorLoader(X, y, batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [yb.tolist() for _, yb in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert torch.equal(torch.cat([xb for xb, _ in batches]), X)
    single = TensorLoader(X, y, batch_size=1)  # 最小的批量
    assert len(single) == 10 and [yb.tolist() for _, yb in single][:2] == [[0], [1]]


def test_loader_drop_last():
    X, y = _toy()
    for shuffle in (False, True):
        loader = TensorLoader(X, y, batch_size=4, drop_last=True, shuffle=shuffle)
        sizes = [len(yb) for _, yb in loader]
        assert len(loader) == 2 and sizes == [4, 4]


def test_loader_shuffles_each_epoch_reproducibly():
    X, y = _toy(100)
    loader = TensorLoader(X, y, batch_size=32, shuffle=True, seed=3)
    epoch1 = torch.cat([yb for _, yb in loader])
    epoch2 = torch.cat([yb for _, yb in loader])
    assert sorted(epoch1.tolist()) == list(range(100))
    assert not torch.equal(epoch1, epoch2) and not torch.equal(epoch1, y)
    same_seed = TensorLoader(X, y, batch_size=32, shuffle=True, seed=3)
    assert torch.equal(torch.cat([yb for _, yb in same_seed]), epoch1)
    other_seed = TensorLoader(X, y, batch_size=32, shuffle=True, seed=4)
    assert not torch.equal(torch.cat([yb for _, yb in other_seed]), epoch1)
    for xb, yb in loader:  # 打乱后 X 与 y 仍然一一对应
        assert torch.equal(xb[:, 0], yb * 10)
    default = TensorLoader(X, y, batch_size=32, shuffle=True)  # 默认种子是 0
    seed_0 = TensorLoader(X, y, batch_size=32, shuffle=True, seed=0)
    assert torch.equal(torch.cat([yb for _, yb in default]), torch.cat([yb for _, yb in seed_0]))


def test_loader_stays_on_the_tensors_device():
    # meta 设备没有自己的随机数生成器：走在 CPU 上生成排列的后备路径。
    X = torch.empty(10, 3, device="meta")
    y = torch.empty(10, dtype=torch.long, device="meta")
    for xb, yb in TensorLoader(X, y, batch_size=4, shuffle=True):
        assert xb.device.type == yb.device.type == "meta"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"X": torch.zeros(3, 2), "y": torch.zeros(4), "batch_size": 2}, "数量必须相同"),
        ({"X": torch.zeros(3, 2), "y": torch.zeros(3, device="meta"), "batch_size": 2}, "同一设备"),
        ({"X": torch.zeros(3, 2), "y": torch.zeros(3), "batch_size": 0}, "batch_size"),
    ],
)
def test_loader_rejects_bad_input(kwargs, message):
    X, y = kwargs.pop("X"), kwargs.pop("y")
    with pytest.raises(ValueError, match=message):
        TensorLoader(X, y, **kwargs)


def test_windows_never_probes_a_pid(monkeypatch):
    # Windows 上 os.kill(pid, 0) 发的是 Ctrl+C（signal.CTRL_C_EVENT == 0）：不能用来问进程在不在
    def kill(pid, sig):
        raise AssertionError("Windows 上不应调用 os.kill")

    monkeypatch.setattr(data.os, "kill", kill)
    monkeypatch.setattr(data.os, "name", "nt")
    assert data._alive(12345)


def test_host_names_keep_only_safe_characters(monkeypatch):
    # 主机名写进临时目录名 .download-<pid>-<主机>-…，“-” 是分隔符，不能留在主机名里
    monkeypatch.setattr(data.socket, "gethostname", lambda: "ci-runner_01.local")
    assert data._host() == "ci_runner_01.local"
    monkeypatch.setattr(data.socket, "gethostname", lambda: "")
    assert data._host() == "host"


def test_a_process_of_another_user_counts_as_alive(monkeypatch):
    def kill(pid, sig):
        raise PermissionError("operation not permitted")

    monkeypatch.setattr(data.os, "kill", kill)
    assert data._alive(1)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "8"])
def test_batch_size_must_be_a_positive_int_when_the_loader_is_made(batch_size):
    # 不是整数的批量从前要到遍历时才出错，或者（True）悄悄当成 1
    with pytest.raises(ValueError, match="batch_size 应为正整数"):
        TensorLoader(torch.zeros(4, 1), torch.zeros(4), batch_size=batch_size)


def test_a_numpy_integer_batch_size_is_fine():
    import numpy as np

    loader = TensorLoader(torch.zeros(4, 1), torch.zeros(4), batch_size=np.int64(3))
    assert loader.batch_size == 3 and type(loader.batch_size) is int and len(loader) == 2
