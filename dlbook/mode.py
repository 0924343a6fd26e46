"""运行模式：``quick``（两核 CPU 上约十分钟跑完整个图库）与 ``full``（真实配方）。

同一个示例脚本用 :func:`pick` 在两种模式之间选择设置，例如::

    epochs = dlbook.pick(quick=1, full=10)

模式由环境变量 ``DLBOOK_MODE`` 决定；未设置时，有 CUDA 就是 ``full``，否则是 ``quick``。
"""

from __future__ import annotations

import os
from typing import Literal, TypeVar

__all__ = ["MODES", "Mode", "current_mode", "pick"]

Mode = Literal["quick", "full"]
MODES: tuple[Mode, ...] = ("quick", "full")
ENV_VAR = "DLBOOK_MODE"

T = TypeVar("T")


def current_mode() -> Mode:
    """返回当前运行模式。

    >>> from unittest import mock
    >>> with mock.patch.dict("os.environ", {"DLBOOK_MODE": "quick"}):
    ...     current_mode()
    'quick'
    >>> with mock.patch.dict("os.environ", {"DLBOOK_MODE": "fast"}):
    ...     current_mode()
    Traceback (most recent call last):
    ...
    ValueError: DLBOOK_MODE='fast' 不是有效的模式，可选值：quick, full
    """
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if not value:
        import torch

        return "full" if torch.cuda.is_available() else "quick"
    if value not in MODES:
        raise ValueError(
            f"{ENV_VAR}={os.environ[ENV_VAR]!r} 不是有效的模式，可选值：{', '.join(MODES)}"
        )
    return value  # type: ignore[return-value]


def pick(*, quick: T, full: T) -> T:
    """按当前模式在两个设置中选一个。

    >>> from unittest import mock
    >>> with mock.patch.dict("os.environ", {"DLBOOK_MODE": "full"}):
    ...     pick(quick=1, full=10)
    10
    """
    return full if current_mode() == "full" else quick
