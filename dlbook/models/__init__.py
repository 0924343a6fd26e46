"""教材里用到的模型，写法参照 torchvision：类型标注、论文出处、``forward`` 里标出形状。

``MODELS`` 把名字映射到构造函数，测试会遍历它，所以新加的模型自动受到同一套检查。

>>> model = MODELS["lenet"](num_classes=10)
>>> type(model).__name__, type(model).input_shape
('LeNet', (1, 28, 28))
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from dlbook.models.lenet import LeNet

__all__ = ["MODELS", "LeNet"]

MODELS: dict[str, Callable[..., nn.Module]] = {
    "lenet": LeNet,
}
