"""
自定义层
========

PyTorch 没有提供的层，可以自己写。不带参数的层只需要一个 `forward`；带参数的层还要把参数登记好，
并且在前向计算里直接使用它们。这个示例先写一个不带参数的 `CenteredLayer`，再把 `dlbook.layers.MyLinear`
与 `nn.Linear` 逐项对照，最后看两种常见的错误写法：它们能正常算出输出，参数却一步也不会被训练。
"""

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

import dlbook
from dlbook.layers import CenteredLayer, MyLinear
from dlbook.plot import show
from dlbook.text import pad

dlbook.seed_everything(0)
device = dlbook.get_device()

# %% [markdown]
# ## 不带参数的层
#
# `CenteredLayer` 从输入中减去它的均值。它没有参数，`forward` 只有一行。

# %%
layer = CenteredLayer()
print(layer(torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])))
print("参数：", list(layer.parameters()))

# %% [markdown]
# 它可以像内置的层一样放进更大的网络。网络的输出均值应当是 0；由于浮点数求和有舍入误差，
# 打印出来的可能是一个很小的数，而不是精确的 0。

# %%
net = nn.Sequential(nn.Linear(8, 128), CenteredLayer()).to(device)
Y = net(torch.rand(4, 8, device=device))
print(f"输出的均值：{Y.mean().item():.2e}")

# %% [markdown]
# ## 带参数的层：`MyLinear`
#
# `MyLinear(in_features, out_features)` 把权重和偏置创建为 `nn.Parameter` 并赋给属性，它们就被登记到了模块里。
# 权重的形状、参数名和初始化都照搬 `nn.Linear`，所以在同一个随机种子下，两者的初始值一模一样：

# %%
dlbook.seed_everything(42)
ours = MyLinear(5, 3).to(device)
dlbook.seed_everything(42)
builtin = nn.Linear(5, 3).to(device)
print(ours)
print("参数：", [(name, tuple(p.shape)) for name, p in ours.named_parameters()])
print("初始权重相同：", torch.equal(ours.weight, builtin.weight),
      " 初始偏置相同：", torch.equal(ours.bias, builtin.bias))

# %% [markdown]
# 同样的输入给出同样的输出，反向传播给出同样的梯度：

# %%
X = torch.randn(4, 5, device=device)
ours(X).square().sum().backward()
builtin(X).square().sum().backward()
tol = dict(rtol=1e-5, atol=1e-6)  # 两者的求和顺序可能不同，只差浮点舍入
print("输出一致：", torch.allclose(ours(X), builtin(X), **tol))
print("权重梯度一致：",
      torch.allclose(ours.weight.grad, builtin.weight.grad, **tol))
print("偏置梯度一致：",
      torch.allclose(ours.bias.grad, builtin.bias.grad, **tol))

# %% [markdown]
# 因为参数名和形状都相同，`MyLinear` 可以直接加载 `nn.Linear` 的 `state_dict`，反过来也行。
# 它也能像内置的层一样用来搭网络：

# %%
mixed = nn.Sequential(MyLinear(64, 8), nn.ReLU(), MyLinear(8, 1)).to(device)
print(mixed(torch.rand(2, 64, device=device)))

# %% [markdown]
# ## 错误写法一：在前向计算里用 `.data`
#
# 原课程的写法把参数登记好了，前向计算却写成 `self.weight.data`。`.data` 返回一个与参数共享数据、
# 但**脱离了计算图**的张量：用它算出的结果不记得自己与参数的关系，反向传播到不了参数。

# %%
class DataLinear(nn.Module):
    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.randn(out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight.data.T + self.bias.data  # 错误：.data 切断了梯度


broken = DataLinear(5, 3).to(device)
print("parameters() 里有：", [name for name, _ in broken.named_parameters()])
out = broken(X)
print("输出 requires_grad：", out.requires_grad, "，grad_fn：", out.grad_fn)

# %% [markdown]
# 参数都登记了，`print` 和 `parameters()` 看上去一切正常。单独使用时，输出不需要梯度，`backward()` 会直接报错，
# 至少我们能发现问题：

# %%
try:
    out.sum().backward()
except RuntimeError as error:
    print(f"RuntimeError：\n{error}")

# %% [markdown]
# 真正危险的是把它放在一个正常的层后面：输出经由前一层的参数仍然连着计算图，`backward()` 不报错，
# 前一层照常训练，这一层的 `.grad` 却始终是 `None`，优化器跳过它，一步也不更新。

# %%
net = nn.Sequential(nn.Linear(5, 3), nn.ReLU(), DataLinear(3, 1)).to(device)
net(X).sum().backward()
for name, param in net.named_parameters():
    print(f"{name:9s} 的梯度：{'None' if param.grad is None else '有'}")

# %% [markdown]
# ## 错误写法二：用普通张量当参数
#
# 另一种写法是用 `torch.randn(..., requires_grad=True)` 创建普通张量。它能求梯度，但没有登记到模块里：
# `parameters()` 是空的，`state_dict()` 也是空的（保存模型时它们会丢失），`.to(device)` 也不会搬动它们。

# %%
class PlainTensorLinear(nn.Module):
    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        # 错误：没有登记
        self.weight = torch.randn(out_features, in_features, requires_grad=True)
        self.bias = torch.randn(out_features, requires_grad=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight.T + self.bias


plain = PlainTensorLinear(5, 3)
print("list(plain.parameters())：", list(plain.parameters()))
print("plain.state_dict()：", plain.state_dict())
try:
    torch.optim.SGD(plain.parameters(), lr=0.1)
except ValueError as error:
    print("ValueError：", error)

# %% [markdown]
# 单独使用时优化器会拒绝空的参数列表；放进一个更大的网络里，优化器拿到的是其余层的参数，
# 同样不会报错，这一层的参数同样永远停在初始值。
#
# ## 训练看看
#
# 用三种写法各搭一个网络：第一层都是 `nn.Linear(1, 32)`，激活函数是 tanh，输出层分别用
# `MyLinear`、`DataLinear` 和 `PlainTensorLinear`。三个网络的初始参数完全相同，拟合同一条曲线
# $y = \sin 3x$，训练同样多步。

# %%
def make_net(output_layer: type[nn.Module]) -> nn.Sequential:
    dlbook.seed_everything(0)
    hidden, head = nn.Linear(1, 32), nn.Linear(32, 1)
    out = output_layer(32, 1)
    with torch.no_grad():  # 三个网络的输出层都从同样的初始值出发
        out.weight.copy_(head.weight)
        out.bias.copy_(head.bias)
    return nn.Sequential(hidden, nn.Tanh(), out)


x = torch.linspace(-2, 2, 100).reshape(-1, 1)
y = torch.sin(3 * x)
steps = dlbook.pick(quick=500, full=2000)
curves, nets = {}, {}
print(pad("输出层", 17), "优化器管理的参数张量",
      "最终损失", "输出层权重的最大变化", sep="  ")
for cls in (MyLinear, DataLinear, PlainTensorLinear):
    model = make_net(cls)
    head_before = model[2].weight.detach().clone()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(steps):
        loss = F.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    change = (model[2].weight.detach() - head_before).abs().max().item()
    n_tensors = len(optimizer.param_groups[0]["params"])
    print(f"{cls.__name__:17s}  {n_tensors:>20d}  "
          f"{losses[-1]:>8.4f}  {change:>20.4f}")
    curves[cls.__name__], nets[cls.__name__] = losses, model

# %% [markdown]
# （这一段在 CPU 上训练：数据很小，搬到 GPU 上反而更慢。）`MyLinear` 的输出层在学；
# 另外两个网络只有第一层在学，输出层的权重一点都没变。下图中两条虚线完全重合：两种错误写法的效果一模一样，
# 都是把输出层冻结在了随机初始值上。第一层再怎么努力也弥补不了，损失明显高于正确的写法，拟合的曲线够不到峰顶和谷底。
# 更麻烦的是，整个过程没有任何报错或警告。

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7.2, 3.4), layout="constrained")
styles = {"MyLinear": "-", "DataLinear": "--", "PlainTensorLinear": ":"}
for name, losses in curves.items():
    ax1.semilogy(losses, styles[name], label=name)
ax1.set(xlabel="训练步数", ylabel="均方误差", title="训练损失")
ax2.plot(x, y, color="gray", linewidth=4, alpha=0.4, label="目标 sin 3x")
with torch.no_grad():
    for name, model in nets.items():
        ax2.plot(x, model(x), styles[name], label=name)
ax2.set(xlabel="x", title="训练后的拟合")
# 两幅图共用一个图例
handles, labels = ax2.get_legend_handles_labels()
fig.legend(handles, labels, loc="outside lower center", ncols=4)
show(fig)
