"""从零实现的层与块：“深度学习计算”一章讲的几个 ``nn.Module``。

* :class:`MyLinear`：带参数的层，与 ``nn.Linear`` 同样的形状、参数名和初始化，可以互换权重；
* :class:`CenteredLayer`：不带参数的层，减去输入的均值；
* :class:`MySequential`：手写的顺序块，按顺序调用子模块；
* :class:`FixedHiddenMLP`：带一个不参与训练的常数权重（缓冲区）和 Python 控制流的块。

写自定义层时最要紧的一条：要训练的张量必须登记为 :class:`nn.Parameter`（赋给模块的属性即可），
而且前向计算必须直接使用这些参数本身，不能用 ``.data`` 或 ``.detach()`` 把它们从计算图里摘出来。
测试把 :class:`MyLinear` 逐一与 ``nn.Linear`` 对照：同样的权重给出同样的输出和梯度，同样的随机种子给出同样的初始值。

>>> _ = torch.manual_seed(0)
>>> layer = MyLinear(4, 3)
>>> [(name, tuple(p.shape)) for name, p in layer.named_parameters()]
[('weight', (3, 4)), ('bias', (3,))]
>>> layer(torch.ones(2, 4)).shape
torch.Size([2, 3])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["CenteredLayer", "FixedHiddenMLP", "MyLinear", "MySequential"]


class MyLinear(nn.Module):
    """从零实现的全连接层 ``y = x @ W.T + b``。

    形状、参数名（``weight``、``bias``）和默认初始化都与 ``nn.Linear`` 相同，所以两者的
    ``state_dict`` 可以互相加载；在同一个随机种子下，两者的初始值也一模一样。

    权重的形状是 ``(out_features, in_features)``：每一行对应一个输出单元。
    初始化与 ``nn.Linear`` 一样，权重和偏置都取自均匀分布 ``U(-1/√in_features, 1/√in_features)``
    （权重用的是 ``kaiming_uniform_(a=√5)``，算出来正是这个范围）。

    Args:
        in_features: 输入特征数。
        out_features: 输出特征数。
        bias: 是否带偏置。

    >>> _ = torch.manual_seed(0)
    >>> ours = MyLinear(5, 3)
    >>> ours
    MyLinear(in_features=5, out_features=3, bias=True)
    >>> _ = torch.manual_seed(0)
    >>> builtin = nn.Linear(5, 3)
    >>> (torch.equal(ours.weight, builtin.weight),
    ...  torch.equal(ours.bias, builtin.bias))
    (True, True)

    参数是 ``nn.Parameter``，前向计算直接使用它们，所以梯度能传到参数上：

    >>> ours(torch.ones(2, 5)).sum().backward()
    >>> ours.bias.grad
    tensor([2., 2., 2.])
    """

    def __init__(self, in_features: int, out_features: int, *, bias: bool = True) -> None:
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} 必须是正整数，收到的是 {value!r}")
        self.in_features = in_features
        self.out_features = out_features
        # 赋给属性的 nn.Parameter 会自动登记到模块里：parameters()、state_dict()、.to() 都能看到它。
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """按 ``nn.Linear`` 的方式重新初始化：权重与偏置都取自 ``U(-1/√in_features, 1/√in_features)``。"""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        # 直接用参数本身（不是 .data）：这样运算会被记进计算图，反向传播才能求出参数的梯度。
        y = x @ self.weight.T  # (..., in) @ (in, out) → (..., out)
        if self.bias is not None:
            y = y + self.bias
        return y

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class CenteredLayer(nn.Module):
    """不带参数的层：从输入中减去它的均值（对所有元素求均值），输出的均值为 0。

    >>> layer = CenteredLayer()
    >>> layer(torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]))
    tensor([-2., -1.,  0.,  1.,  2.])
    >>> list(layer.parameters())
    []
    """

    def forward(self, x: Tensor) -> Tensor:
        return x - x.mean()


class MySequential(nn.Module):
    """手写的顺序块：把子模块依次串起来，前一个的输出是后一个的输入。

    子模块用 :meth:`~torch.nn.Module.add_module` 以 ``"0"``、``"1"``…… 为名登记，所以它们的参数
    会出现在 ``parameters()`` 里，``state_dict`` 的键也与 ``nn.Sequential`` 相同（``"0.weight"``……）。
    如果只把子模块存进一个普通的 Python 列表，模块就“看不见”它们：参数不会被优化器拿到，
    ``.to(device)`` 也不会搬动它们。

    Args:
        *modules: 按执行顺序排列的子模块。

    >>> _ = torch.manual_seed(0)
    >>> net = MySequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    >>> len(net), net[1]
    (3, ReLU())
    >>> list(net.state_dict())
    ['0.weight', '0.bias', '2.weight', '2.bias']
    >>> net(torch.rand(2, 4)).shape
    torch.Size([2, 1])
    """

    def __init__(self, *modules: nn.Module) -> None:
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, nn.Module):
                raise TypeError(f"第 {index} 个参数应当是 nn.Module，收到的是 {type(module).__name__}")
            self.add_module(str(index), module)

    def __len__(self) -> int:
        return len(self._modules)

    def __getitem__(self, index: int) -> nn.Module:
        modules = list(self._modules.values())
        try:
            return modules[index]
        except IndexError:
            raise IndexError(f"下标 {index} 超出范围：这个块只有 {len(modules)} 个子模块") from None

    def forward(self, x: Tensor) -> Tensor:
        for module in self._modules.values():  # 按登记的顺序
            x = module(x)
        return x


class FixedHiddenMLP(nn.Module):
    """一个“不规矩”的块：常数权重、重复使用同一层，以及依赖数据的 Python 控制流。

    前向计算依次是：

    1. 全连接层 ``linear``；
    2. 乘以一个随机生成、但**不参与训练**的常数矩阵 ``rand_weight``，加 1，再过 ReLU；
    3. **再用一次**同一个 ``linear``（两次调用共享同一组参数）；
    4. 只要所有元素绝对值之和大于 1，就把输出减半（``while`` 循环，次数取决于数据）；
    5. 返回所有元素之和（一个标量）。

    常数矩阵用 :meth:`~torch.nn.Module.register_buffer` 登记为**缓冲区**：它不在
    ``parameters()`` 里，优化器不会更新它；但它（默认登记的持久缓冲区）在 ``state_dict()`` 里，会随模型保存和加载，
    也会随 ``.to(device)`` 一起搬到别的设备上。

    Args:
        features: 输入（也是隐藏层）的特征数。

    >>> _ = torch.manual_seed(0)
    >>> net = FixedHiddenMLP(20)
    >>> [name for name, _ in net.named_parameters()]
    ['linear.weight', 'linear.bias']
    >>> [name for name, _ in net.named_buffers()]
    ['rand_weight']
    >>> out = net(torch.rand(2, 20))
    >>> out.shape, bool(out.abs() <= 1)
    (torch.Size([]), True)
    """

    def __init__(self, features: int = 20) -> None:
        super().__init__()
        if isinstance(features, bool) or not isinstance(features, int) or features < 1:
            raise ValueError(f"features 必须是正整数，收到的是 {features!r}")
        self.register_buffer("rand_weight", torch.rand(features, features))
        self.linear = nn.Linear(features, features)

    def forward(self, x: Tensor) -> Tensor:
        x = self.linear(x)  # (B, F)
        x = F.relu(x @ self.rand_weight + 1)  # 常数矩阵：参与计算，但不被训练
        x = self.linear(x)  # 同一层再用一次，参数共享
        while x.abs().sum() > 1:  # 控制流：循环几次取决于数据
            x = x / 2
        return x.sum()
