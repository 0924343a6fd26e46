"""dlbook：可执行的中文深度学习教材所用的 Python 包。

示例脚本只需要 ``import dlbook``，再按需导入子模块::

    from dlbook import data, train, plot
    from dlbook.conv import corr2d
    from dlbook.models import LeNet
"""

from dlbook.device import get_device, seed_everything
from dlbook.mode import current_mode, pick

__all__ = ["current_mode", "get_device", "pick", "seed_everything", "__version__"]

__version__ = "0.1.0"
