"""运行环境的小判断，供 ``train``、``gan`` 与 ``plot`` 共用。"""

from __future__ import annotations

import sys

__all__ = ["in_jupyter_kernel", "show_progress"]


def in_jupyter_kernel() -> bool:
    """是否在 Jupyter 内核（ipykernel）里运行；普通的 IPython 终端不算。"""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and hasattr(shell, "kernel")


def show_progress(progress: bool | None) -> bool:
    """训练循环要不要显示 tqdm 进度条：``progress`` 给出时照办，``None`` 时只在终端里显示（Jupyter 内核里不显示）。"""
    if progress is not None:
        return progress
    return sys.stderr.isatty() and not in_jupyter_kernel()
