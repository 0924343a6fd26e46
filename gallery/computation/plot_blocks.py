"""
层和块
======

在 PyTorch 里，一个层、几个层组成的部件、乃至整个模型，都是 `nn.Module` 的子类，我们统称为**块**。
这个示例先用 `nn.Sequential` 搭一个多层感知机，再用自定义的类写出同一个模型，接着手写一个顺序块
`MySequential`，最后看一个带常数权重和 Python 控制流的块，以及块怎样像积木一样互相嵌套。
"""

# %%
import torch
import torch.nn.functional as F
from torch import nn

import dlbook
from dlbook.layers import FixedHiddenMLP, MySequential

dlbook.seed_everything(0)
device = dlbook.get_device()
print("设备：", device)

# %% [markdown]
# ## `nn.Sequential`：把层串起来
#
# 20 维的输入，256 个隐藏单元，10 个输出。`nn.Sequential` 按参数的顺序依次调用每一层，
# 上一层的输出就是下一层的输入。

# %%
net = nn.Sequential(
    nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10),
).to(device)
X = torch.rand(2, 20, device=device)  # (B, 20)
print("输出形状：", tuple(net(X).shape))
net

# %% [markdown]
# `net(X)` 调用的是 `net.__call__(X)`。它除了调用我们写的 `forward`，还会运行登记在模块上的**钩子**
# （hook）。所以永远写 `net(X)`，不要直接调 `net.forward(X)`：后者会悄悄跳过钩子。

# %%
calls = []


def record_shape(module, inputs, output):
    """前向钩子：记下这次调用的输出形状。"""
    calls.append(tuple(output.shape))


handle = net.register_forward_hook(record_shape)
y_call, y_forward = net(X), net.forward(X)
handle.remove()
print("两种调用的结果相同：", torch.equal(y_call, y_forward))
print("钩子被调用的次数：", len(calls), "（只有 net(X) 触发了它）")

# %% [markdown]
# ## 自定义块：写一个类
#
# 自定义块只需要做两件事：在 `__init__` 里创建子模块（先调用 `super().__init__()`），在 `forward` 里写出
# 由输入算出输出的过程。反向传播由自动微分负责，参数的初始化由各个子模块自己负责。

# %%
class MLP(nn.Module):
    def __init__(self, in_features: int = 20, hidden: int = 256,
                 out_features: int = 10) -> None:
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.out = nn.Linear(hidden, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(F.relu(self.hidden(x)))  # (B, 20) → (B, 256) → (B, 10)


mlp = MLP().to(device)
print(mlp)
print("参数个数：", sum(p.numel() for p in mlp.parameters()),
      "= 20×256 + 256 + 256×10 + 10")

# %% [markdown]
# 两个子模块是赋给属性 `self.hidden`、`self.out` 的，`nn.Module` 会截获这样的赋值，把它们登记为子模块；
# 所以 `print` 能列出它们，`parameters()` 能找到它们的参数。把 `MLP` 的参数换成 `net` 的，
# 两个模型算出的结果就完全一样：它们是同一个函数的两种写法。

# %%
with torch.no_grad():
    mlp.hidden.weight.copy_(net[0].weight)
    mlp.hidden.bias.copy_(net[0].bias)
    mlp.out.weight.copy_(net[2].weight)
    mlp.out.bias.copy_(net[2].bias)
print("MLP 与 nn.Sequential 的输出相同：", torch.equal(mlp(X), net(X)))

# %% [markdown]
# ## 手写一个顺序块
#
# `dlbook.layers.MySequential` 只有十几行：构造时用 `add_module("0", ...)`、`add_module("1", ...)`
# 依次登记子模块，前向计算时按登记的顺序逐个调用。用同样的三个层搭出来，输出和 `state_dict`
# 的键都与 `nn.Sequential` 一致。

# %%
my_net = MySequential(net[0], net[1], net[2])
print("输出相同：", torch.equal(my_net(X), net(X)))
print("state_dict 的键：", list(my_net.state_dict()))

# %% [markdown]
# 登记这一步不能省。如果只把子模块存进一个普通的 Python 列表，模块就看不见它们：
# `parameters()` 是空的，优化器拿不到任何参数，`.to(device)` 也不会搬动它们。
# 需要一个“模块列表”时，用 `nn.ModuleList`。

# %%
class ListSequential(nn.Module):
    def __init__(self, *modules: nn.Module) -> None:
        super().__init__()
        self.layers = list(modules)  # 普通列表：子模块没有登记

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


hidden_list = ListSequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))
print("普通列表：", len(list(hidden_list.parameters())), "个参数张量")
module_list = nn.ModuleList([nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10)])
print("nn.ModuleList：", len(list(module_list.parameters())), "个参数张量")

# %% [markdown]
# ## 常数权重与控制流
#
# `forward` 是普通的 Python 代码，可以做任何事。`dlbook.layers.FixedHiddenMLP` 里有一个随机生成后
# 就固定不变的矩阵 `rand_weight`，同一个全连接层被调用了两次，最后还有一个 `while` 循环：
# 只要输出的绝对值之和大于 1，就把它减半。
#
# 常数矩阵用 `register_buffer` 登记为**缓冲区**：它不是参数，优化器不会更新它；
# 但它属于模型的状态，默认会出现在 `state_dict` 里（`persistent=False` 登记的除外），也会随 `.to()` 一起搬动或转换类型。

# %%
fixed = FixedHiddenMLP(20).to(device)
print("参数：", [name for name, _ in fixed.named_parameters()])
print("缓冲区：", [name for name, _ in fixed.named_buffers()])
print("state_dict：", list(fixed.state_dict()))
for scale in (1, 100, 10_000):
    print(f"输入放大 {scale:>6} 倍，输出 = {fixed(scale * X).item():+.4f}")

# %% [markdown]
# 不论输入多大，`while` 循环都把结果压到绝对值不超过 1：循环的次数取决于数据，这是 `nn.Sequential`
# 表达不了的。
#
# 如果把常数矩阵存成普通的张量属性，模块同样看不见它。下面的写法与原课程相同：
# 在 CPU 上一切正常，但 `state_dict` 里没有这个矩阵（保存模型时会丢掉它），
# `.to()` 也不会转换它。用 `.double()` 把模型转成双精度就能看出来——参数变成了 `float64`，
# 常数矩阵还是 `float32`，前向计算随即报错。搬到 GPU 上时出的是同一类问题。

# %%
class PlainConstantMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rand_weight = torch.rand(20, 20)  # 普通张量：没有登记
        self.linear = nn.Linear(20, 20)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.linear(x) @ self.rand_weight + 1)
        return self.linear(x).sum()


plain = PlainConstantMLP()
print("state_dict：", list(plain.state_dict()))
plain.double()
print("转换后：linear.weight 是", plain.linear.weight.dtype,
      "，rand_weight 是", plain.rand_weight.dtype)
try:
    plain(torch.rand(2, 20, dtype=torch.float64))
except RuntimeError as error:
    print(f"RuntimeError：\n{error}")
fixed64 = FixedHiddenMLP(20).double()
print("登记为缓冲区则一起转换：",
      fixed64.rand_weight.dtype, fixed64.linear.weight.dtype)

# %% [markdown]
# ## 块的嵌套
#
# 块可以包含块。下面的 `NestMLP` 里有一个 `nn.Sequential`，外面再用一个 `nn.Sequential`
# 把它、一个全连接层和 `FixedHiddenMLP` 串起来。打印出来的是一棵树。

# %%
class NestMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(),
                                 nn.Linear(64, 32), nn.ReLU())
        self.linear = nn.Linear(32, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.net(x))


chimera = nn.Sequential(
    NestMLP(), nn.Linear(16, 20), FixedHiddenMLP(20),
).to(device)
print(chimera)
print(f"输出：{chimera(X).item():.4f}")
