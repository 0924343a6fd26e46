"""运行环境的小判断，供 ``train`` 与 ``plot`` 共用。"""

from __future__ import annotations

import sys

__all__ = ["in_jupyter_kernel"]


def in_jupyter_kernel() -> bool:
    """是否在 Jupyter 内核（ipykernel）里运行；普通的 IPython 终端不算。"""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and hasattr(shell, "kernel")
