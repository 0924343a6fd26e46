"""``python -m dlbook.bench`` 与 ``python -m dlbook.speedrun`` 共用的命令行参数类型，以及 ``--device`` 的解析。

argparse 对类型函数抛出的 ``ValueError`` 只报 ``invalid <函数名> value``；这里统一抛
:class:`argparse.ArgumentTypeError`，消息写明错在哪里，argparse 会在前面加上参数名。

>>> positive_int("3"), positive_float("0.5"), seed("0")
(3, 0.5, 0)
>>> positive_int("abc")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: 应为正整数，而不是 'abc'
>>> positive_float("nan")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: 应为有限的正数，而不是 'nan'
>>> seed("-1")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: 应为 0 到 4294967295 之间的整数，而不是 '-1'
"""

from __future__ import annotations

import argparse
import math
import sys
import traceback

import torch

from dlbook.device import get_device

__all__ = ["device", "positive_float", "positive_int", "print_failure", "seed"]

_MAX_SEED = 2**32 - 1  # NumPy 的种子上限；seed_everything 也给 NumPy 播种


def _int_between(text: str, low: int, high: float, expected: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{expected}，而不是 {text!r}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{expected}，而不是 {text!r}")
    return value


def positive_int(text: str) -> int:
    return _int_between(text, 1, math.inf, "应为正整数")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"应为有限的正数，而不是 {text!r}")
    return value


def seed(text: str) -> int:
    return _int_between(text, 0, _MAX_SEED, f"应为 0 到 {_MAX_SEED} 之间的整数")


def device(parser: argparse.ArgumentParser, name: str | None) -> torch.device:
    """``--device`` 的值（``None`` 时按 ``DLBOOK_DEVICE`` 或自动选择）；不可用时由 ``parser`` 报错退出。"""
    try:
        return get_device(name)
    except (ValueError, RuntimeError) as exc:
        # 没给 --device 时错的是环境变量 DLBOOK_DEVICE，消息里已经写明
        parser.error(f"--device：{exc}" if name is not None else str(exc))


def print_failure(what: str, exc: BaseException) -> None:
    """在 ``except`` 块里调用：把 ``what：exc`` 打到 stderr。dlbook 自己的 ``ValueError``（配置写错了）只打这一行；
    其余的错误（编译器、CUDA 的）先打回溯，要有回溯才知道坏在哪里。"""
    if not isinstance(exc, ValueError):
        traceback.print_exc()
    print(f"{what}：{exc}", file=sys.stderr)
