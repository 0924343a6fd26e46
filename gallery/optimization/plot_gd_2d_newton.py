"""
二维梯度下降与牛顿法
====================

在 $f(\\mathbf{x}) = x_1^2 + 2x_2^2$ 上画出梯度下降的轨迹：两个方向的曲率不同，
同一个学习率对一个方向太小、对另一个方向可能太大。牛顿法用二阶导数（黑塞矩阵）给每个方向
配上合适的步长，在二次函数上一步到位；但在非凸函数上，它可能径直走向极大值。
"""

# %%
import math

import matplotlib.pyplot as plt
import torch

import dlbook
from dlbook.optim import SGD, trajectory
from dlbook.plot import show
from dlbook.text import pad

dlbook.seed_everything(0)


def f_2d(x):
    return x[0] ** 2 + 2 * x[1] ** 2


def contour(ax, f, xs: torch.Tensor, title: str) -> None:
    """在 f 的等高线上画出轨迹 xs（形状 (步数+1, 2)）。"""
    g1, g2 = torch.meshgrid(
        torch.linspace(-5.5, 1.5, 120), torch.linspace(-4.5, 4.5, 120),
        indexing="ij",
    )
    ax.contour(
        g1, g2, f(torch.stack([g1, g2])),
        levels=12, colors="tab:blue", linewidths=0.6,
    )
    ax.plot(xs[:, 0], xs[:, 1], "o-", color="tab:orange", ms=3)
    # 坐标范围固定：发散的轨迹会冲出画框，这正是要看的
    ax.set(
        xlabel="$x_1$", ylabel="$x_2$", title=title,
        xlim=(-5.5, 1.5), ylim=(-4.5, 4.5), aspect="equal",
    )


# %% [markdown]
# ## 梯度下降的轨迹
#
# 梯度是 $\nabla f = (2x_1, 4x_2)$，所以一步梯度下降把两个坐标分别乘上 $1-2\eta$ 和 $1-4\eta$。
# 轨迹由 `dlbook.optim.trajectory` 记录：它把一个优化器放在函数上跑若干步，返回走过的每个点；
# 这里的优化器就是不带动量的 `SGD`，也就是普通的梯度下降。

# %%
x0 = [-5.0, -2.0]
lrs = (0.1, 0.4, 0.55)
paths = {
    lr: trajectory(lambda p, lr=lr: SGD(p, lr=lr), f_2d, x0, steps=20)
    for lr in lrs
}
print(pad("学习率", 6), pad("x₁ 每步乘", 10, align=">"),
      pad("x₂ 每步乘", 10, align=">"), pad("20 步后的 x", 20, align=">"),
      pad("f", 10, align=">"))
for lr, xs in paths.items():
    end = f"({xs[-1, 0]:+.3g}, {xs[-1, 1]:+.3g})"
    print(f"{lr:<6} {1 - 2 * lr:+10.2f} {1 - 4 * lr:+10.2f} {end:>20} "
          f"{f_2d(xs[-1]):10.4g}")

fig, axes = plt.subplots(1, 3, figsize=(7.5, 3.3))
for ax, (lr, xs) in zip(axes, paths.items()):
    contour(ax, f_2d, xs, f"学习率 {lr}")
fig.tight_layout()
show(fig)

# %% [markdown]
# 学习率 0.1 稳稳地收敛；0.4 时 $x_2$ 方向每一步都越过谷底（乘以 $-0.6$），轨迹开始之字形来回；
# 超过 0.5 后 $|1-4\eta| > 1$，$x_2$ 方向发散，而 $x_1$ 方向其实还能接受更大的步长。
# 能用的最大学习率由曲率最大的方向决定，曲率小的方向只能跟着慢慢走——这正是后面动量法和自适应学习率要解决的问题。
#
# ## 牛顿法
#
# 二阶泰勒展开 $f(\mathbf{x}+\boldsymbol{\epsilon}) \approx f(\mathbf{x}) + \nabla f^\top \boldsymbol{\epsilon} +
# \frac12 \boldsymbol{\epsilon}^\top \mathbf{H} \boldsymbol{\epsilon}$ 对 $\boldsymbol{\epsilon}$ 求最小，得到
# 牛顿步 $\boldsymbol{\epsilon} = -\mathbf{H}^{-1}\nabla f$。在二次函数上二阶展开是精确的，所以一步就到最小值：

# %%
def newton_step(f, x: torch.Tensor, lr: float = 1.0) -> torch.Tensor:
    g = torch.autograd.functional.jacobian(f, x)
    H = torch.autograd.functional.hessian(f, x)
    return x - lr * torch.linalg.solve(H, g)


x = torch.tensor(x0, dtype=torch.float64)
print("黑塞矩阵：", torch.autograd.functional.hessian(f_2d, x).tolist())
print("牛顿法一步之后：", newton_step(f_2d, x).tolist())

# %% [markdown]
# 一维时牛顿步就是 $x \leftarrow x - f'(x)/f''(x)$。先看凸函数 $f(x) = \cosh(cx)$（$c = 0.5$），从 $x = 10$ 出发：

# %%
def newton_1d(f, x0: float, lr: float = 1.0, steps: int = 10) -> list[float]:
    xs = [x0]
    for _ in range(steps):
        x = torch.tensor([xs[-1]], dtype=torch.float64)
        xs.append(newton_step(lambda t: f(t[0]), x, lr).item())
    return xs


def cosh(x):
    return torch.cosh(0.5 * x)


c = 0.15 * math.pi


def wavy(x):
    return x * torch.cos(c * x)


runs = [
    ("cosh(0.5x)，学习率 1", cosh, newton_1d(cosh, 10.0)),
    ("x·cos(0.15πx)，学习率 1", wavy, newton_1d(wavy, 10.0)),
    ("x·cos(0.15πx)，学习率 0.5", wavy, newton_1d(wavy, 10.0, lr=0.5)),
]
print("牛顿法迭代 10 步后：")
for name, f, xs in runs:
    x_end = torch.tensor(xs[-1], dtype=torch.float64, requires_grad=True)
    (d,) = torch.autograd.grad(f(x_end), x_end, create_graph=True)
    (d2,) = torch.autograd.grad(d, x_end)
    kind = "极小值" if d2 > 0 else "极大值"
    print(f"{pad(name, 26)} x = {xs[-1]:8.4f}，f' = {d.item():+.1e}，"
          f"f'' = {d2.item():+.3f}（{kind}）")

fig, axes = plt.subplots(1, 3, figsize=(8, 2.8))
for ax, (name, f, xs) in zip(axes, runs):
    lo, hi = min(min(xs), -12.0), max(max(xs), 12.0)
    grid = torch.linspace(lo - 1, hi + 1, 401, dtype=torch.float64)
    ax.plot(grid, f(grid))
    ax.plot(xs, f(torch.tensor(xs)), "o-", color="tab:orange", ms=4)
    ax.set(title=name, xlabel="$x$")
fig.tight_layout()
show(fig)

# %% [markdown]
# 在凸函数上牛顿法几步就收敛到 0。在非凸函数上，牛顿法求的其实只是 $f'(x) = 0$ 的点，
# 它分不清极小值和极大值：只要途中某一步遇到 $f''(x) < 0$，牛顿步 $-f'/f''$ 就指向上坡，
# 这里的迭代最后停在了一个**极大值**上。把学习率降到 0.5 之后，迭代换了一条路，这次落进了一个极小值，
# 但这只是碰巧，并没有消除隐患。实用的做法是把 $f''$ 换成 $|f''|$，或者给黑塞矩阵加上足够大的 $\lambda\mathbf{I}$；
# 而在深度学习里，算出完整的黑塞矩阵（参数个数的平方那么多个元素）本身就太贵了，
# 所以我们转向只用一阶信息、但能按坐标调整步长的方法。
