"""
参数初始化
==========

PyTorch 的每个层在创建时都会用一个合理的默认方式初始化自己的参数。这个示例先看清默认的初始化是什么，
再用 `nn.init` 里的内置方法和自己写的方法重新初始化，最后说明为什么不能把所有权重设成同一个常数。
"""

# %%
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

import dlbook
from dlbook.plot import show

dlbook.seed_everything(0)
device = dlbook.get_device()

# %% [markdown]
# ## 默认初始化
#
# `nn.Linear(n_in, n_out)` 的权重和偏置都取自均匀分布 $U(-1/\sqrt{n_\text{in}},\ 1/\sqrt{n_\text{in}})$。
# 均匀分布 $U(-a, a)$ 的标准差是 $a/\sqrt{3}$。用一个 $256\to 512$ 的层核对一下：

# %%
layer = nn.Linear(256, 512)
bound = 1 / math.sqrt(256)
w = layer.weight.detach()
print(f"理论范围 ±{bound:.4f}，实际 [{w.min():.4f}, {w.max():.4f}]")
print(f"理论标准差 {bound / math.sqrt(3):.4f}，实际 {w.std():.4f}")

# %% [markdown]
# 范围只取决于输入个数 $n_\text{in}$：输入越多，每个权重越小，这样输出的方差不会随着输入个数增长而变大。
#
# ## 用 `apply` 初始化整个网络
#
# `net.apply(fn)` 对网络里的每一个模块（包括网络自己）调用一次 `fn`，先子模块、后父模块。
# 初始化函数因此要先判断模块的类型，只处理全连接层。`nn.init` 里以下划线结尾的函数都是原地修改参数的。

# %%
net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)).to(device)
visited = []
net.apply(lambda m: visited.append(type(m).__name__))
print("apply 的访问顺序：", visited)


def init_normal(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, mean=0.0, std=0.01)
        nn.init.zeros_(m.bias)


net.apply(init_normal)
print("正态分布 N(0, 0.01²)：",
      net[0].weight[0].detach(), net[0].bias[0].detach())


def init_constant(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        nn.init.constant_(m.weight, 1.0)
        nn.init.zeros_(m.bias)


net.apply(init_constant)
print("常数 1：", net[0].weight[0].detach(), net[0].bias[0].detach())

# %% [markdown]
# 也可以只对某一层调用 `apply`，给不同的层用不同的方法。下面第一层用 Xavier 均匀分布
# $U(-a, a)$（$a = \sqrt{6/(n_\text{in}+n_\text{out})}$），最后一层的权重全设成 42。

# %%
def init_xavier(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)


def init_42(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        nn.init.constant_(m.weight, 42.0)


net[0].apply(init_xavier)
net[2].apply(init_42)
print(f"Xavier 的范围 ±{math.sqrt(6 / (4 + 8)):.4f}：",
      net[0].weight[0].detach())
print("常数 42：", net[2].weight.detach())

# %% [markdown]
# ## 自定义初始化
#
# `nn.init` 里没有的分布，就自己写。例如让每个权重以 $1/4$ 的概率取自 $U(5, 10)$，以 $1/2$ 的概率为 0，
# 以 $1/4$ 的概率取自 $U(-10, -5)$：先从 $U(-10, 10)$ 采样，再把绝对值小于 5 的置零。
# 修改参数要放在 `torch.no_grad()` 里，这样这次修改不会被记进计算图。

# %%
def init_mixture(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        with torch.no_grad():
            nn.init.uniform_(m.weight, -10.0, 10.0)
            m.weight *= m.weight.abs() >= 5


big = nn.Linear(200, 200).to(device)
big.apply(init_mixture)
w = big.weight.detach()
print(f"为 0：{(w == 0).float().mean():.3f}（应为 1/2）  "
      f"≥ 5：{(w >= 5).float().mean():.3f}（应为 1/4）  "
      f"≤ −5：{(w <= -5).float().mean():.3f}（应为 1/4）")

# %% [markdown]
# 参数也可以直接赋值，同样放在 `torch.no_grad()` 里：

# %%
with torch.no_grad():
    net[0].weight += 1
    net[0].weight[0, 0] = 42.0
print(net[0].weight[0].detach())

# %% [markdown]
# 把四种初始化在一个 $256\to 256$ 的层上得到的权重分布画出来。注意横轴的刻度相差很大。

# %%
def weights_after(init) -> torch.Tensor:
    layer = nn.Linear(256, 256)
    if init is not None:
        layer.apply(init)
    return layer.weight.detach().flatten().cpu()


panels = [("默认：U(−1/16, 1/16)", None),
          ("正态 N(0, 0.01²)", init_normal),
          ("Xavier：U(−0.108, 0.108)", init_xavier),
          ("自定义的混合分布", init_mixture)]
fig, axes = plt.subplots(2, 2, figsize=(6.4, 4.4), layout="constrained")
for ax, (title, init) in zip(axes.flat, panels):
    ax.hist(weights_after(init).numpy(), bins=60, color="tab:blue")
    ax.set(title=title, xlabel="权重", yticks=[])
show(fig)

# %% [markdown]
# ## 为什么不能全设成同一个常数
#
# 如果隐藏层的权重全是同一个常数，下一层连到这些单元的权重也彼此相同（下面整个网络都用同一个常数），
# 所有隐藏单元算出的值就完全相同，反向传播时收到的梯度也完全相同，更新之后仍然相同——
# 不论训练多久，这些单元都只是同一个单元的复制品。随机初始化的一个作用就是**打破对称**。
# 下面在同一份数据上训练两个网络，数一数隐藏层的权重矩阵里有几行互不相同。目标函数
# $y = x_1^2 + x_2^2$ 不是单调的，一个 tanh 单元拟合不了它，需要几个单元配合。

# %%
def distinct_rows(weight: torch.Tensor) -> int:
    return len(torch.unique(weight.detach().cpu(), dim=0))


X = torch.randn(64, 4, device=device)
y = X[:, :2].square().sum(dim=1, keepdim=True)
steps = 300
for name, init in [("默认随机初始化", None), ("全部设为常数 1", init_constant)]:
    dlbook.seed_everything(0)
    model = nn.Sequential(
        nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1),
    ).to(device)
    if init is not None:
        model.apply(init)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        loss = F.mse_loss(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f"{name}：训练 {steps} 步后损失 {loss.item():.4f}，8 个隐藏单元的"
          f"权重有 {distinct_rows(model[0].weight)} 种不同的取值")
# 永远预测平均值时的均方误差，就是这批目标值的方差
print(f"对照：这 64 个目标值的方差 {y.var(unbiased=False).item():.4f}")

# %% [markdown]
# 常数初始化的网络训练了同样多步，8 个隐藏单元始终一模一样，整个网络只相当于一个隐藏单元；
# 它的损失停在这批目标值的方差附近（$x_1^2+x_2^2$ 的方差理论上是 4，64 个样本的方差会有出入），
# 和“永远预测平均值”差不多。
# 随机初始化的网络则一开始就让各个单元各不相同，能够分工拟合这个碗状的函数。
