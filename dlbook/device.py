"""选择计算设备并设置随机种子。

设备的优先顺序：显式参数 → 环境变量 ``DLBOOK_DEVICE`` → CUDA → MPS → CPU。
"""

from __future__ import annotations

import os
import random
import re

import torch

__all__ = ["get_device", "model_device", "seed_everything", "to_device"]

ENV_VAR = "DLBOOK_DEVICE"
_VALID = re.compile(r"^(cpu|mps(:0)?|cuda(:\d+)?)$")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def _origin(source: str) -> str:
    return "" if source == "参数" else f"{source}："


def get_device(name: str | torch.device | None = None) -> torch.device:
    """返回要使用的 :class:`torch.device`。

    Args:
        name: ``"cpu"``、``"cuda"``、``"cuda:1"`` 或 ``"mps"``（也可以是 :class:`torch.device`，同样检查）；
            为 ``None`` 时读取环境变量 ``DLBOOK_DEVICE``，再依次尝试 CUDA、MPS、CPU。

    Raises:
        ValueError: 设备名无法识别。
        RuntimeError: 指定的设备在这台机器上不可用。
        TypeError: ``name`` 既不是字符串也不是 :class:`torch.device`。

    >>> get_device("cpu")
    device(type='cpu')
    >>> get_device("tpu")
    Traceback (most recent call last):
    ...
    ValueError: 未知的设备 'tpu'：可选 cpu、cuda、cuda:N、mps
    """
    source = "参数"
    if name is None:
        name = os.environ.get(ENV_VAR) or None
        source = f"环境变量 {ENV_VAR}"
    if name is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")

    if isinstance(name, torch.device):
        name = str(name)
    elif not isinstance(name, str):
        raise TypeError(f"设备应是字符串（如 'cuda'）或 torch.device，而不是 {type(name).__name__} {name!r}")
    key = name.strip().lower()
    if not _VALID.match(key):
        raise ValueError(f"{_origin(source)}未知的设备 {name!r}：可选 cpu、cuda、cuda:N、mps")
    if key.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(f"{_origin(source)}要求设备 {name!r}，但这台机器上没有可用的 CUDA")
        index = int(key.split(":")[1]) if ":" in key else 0
        if index >= torch.cuda.device_count():
            raise RuntimeError(
                f"{_origin(source)}要求设备 {name!r}，但只有 {torch.cuda.device_count()} 块 GPU"
            )
    if key.startswith("mps") and not _mps_available():
        raise RuntimeError(f"{_origin(source)}要求设备 'mps'，但这台机器上没有可用的 MPS")
    return torch.device(key)


def model_device(model: torch.nn.Module) -> torch.device:
    """模型参数所在的设备；没有参数的模型算作在 CPU 上。

    >>> model_device(torch.nn.Linear(2, 2))
    device(type='cpu')
    >>> model_device(torch.nn.ReLU())
    device(type='cpu')
    """
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """把一个批量搬到 ``device``。只有从 CPU 搬到 CUDA 时才用 ``non_blocking=True``（与锁页内存配合，
    复制与 GPU 上的计算重叠）；反过来从 GPU 往 CPU 异步复制时，CPU 上紧接着的计算可能在复制完成之前就读了内存。

    >>> x = torch.ones(2)
    >>> to_device(x, torch.device("cpu")) is x
    True
    """
    return t.to(device, non_blocking=t.device.type == "cpu" and device.type == "cuda")


def seed_everything(seed: int = 0) -> None:
    """为 Python、NumPy（若已安装）和 PyTorch 设置随机种子。

    只为副作用调用，不返回值：示例脚本第一个单元格最后一行常常就是它，返回值会显示在页面上。
    需要独立的随机数流时用 ``torch.Generator().manual_seed(seed)``。

    >>> seed_everything(0)
    >>> a = torch.rand(2)
    >>> seed_everything(0)
    >>> torch.equal(a, torch.rand(2))
    True
    """
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:  # pragma: no cover - numpy 是依赖，这里只是保险
        pass
    torch.manual_seed(seed)
