"""
一维梯度下降与学习率
====================

在 $f(x) = x^2$ 上从 $x_0 = 10$ 出发做 10 步梯度下降，分别用学习率 0.2、0.05 和 1.1：
第一个很快收敛，第二个太慢，第三个越走越远。因为 $f$ 是二次函数，每一步都可以写出闭式解，
示例把迭代结果与闭式解逐一核对。最后换一个非凸函数，看梯度下降停在局部极小值上。
"""

# %%
import math

import matplotlib.pyplot as plt
import torch

import dlbook
from dlbook.plot import show

dlbook.seed_everything(0)


def derivative(f, x: float) -> float:
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (d,) = torch.autograd.grad(f(t), t)
    return d.item()


def gd(f, x0: float, lr: float, steps: int = 10) -> list[float]:
    """梯度下降：x ← x - lr·f'(x)，返回包括起点在内的所有点。"""
    xs = [x0]
    for _ in range(steps):
        xs.append(xs[-1] - lr * derivative(f, xs[-1]))
    return xs


def square(x):
    return x**2


# %% [markdown]
# ## 三个学习率
#
# 对 $f(x) = x^2$，$f'(x) = 2x$，一步梯度下降是 $x_{t+1} = x_t - 2\eta x_t = (1-2\eta)\,x_t$，
# 所以 $x_t = (1-2\eta)^t x_0$：$|1 - 2\eta| < 1$（即 $0 < \eta < 1$）时收敛，
# 越接近 $\eta = 0.5$ 越快；$\eta > 1$ 时每一步都越过最小值、落到更远的另一侧。

# %%
runs = {lr: gd(square, 10.0, lr) for lr in (0.2, 0.05, 1.1)}
for lr, xs in runs.items():
    closed = [(1 - 2 * lr) ** t * 10.0 for t in range(len(xs))]
    err = max(abs(a - b) for a, b in zip(xs, closed))
    print(f"学习率 {lr:<4}：10 步后 x = {xs[-1]:9.4f}，"
          f"与闭式解 (1-2η)^t·x₀ 的最大差 {err:.1e}")

fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.6))
for ax, (lr, xs) in zip(axes, runs.items()):
    n = max(abs(v) for v in xs)
    grid = torch.linspace(-n, n, 201)
    ax.plot(grid, grid**2, color="tab:blue")
    ax.plot(xs, [v**2 for v in xs], "o-", color="tab:orange", ms=4)
    ax.set(title=f"学习率 {lr}", xlabel="$x$")
axes[0].set_ylabel("$f(x)$")
fig.tight_layout()
show(fig)

# %% [markdown]
# 学习率 0.05 的每一步都只走了剩余距离的 10%，10 步后还在 $x\approx 3.5$；学习率 1.1 时
# $1 - 2\eta = -1.2$，$x$ 每步变号、绝对值放大 1.2 倍。
#
# ## 泰勒展开：为什么小步长一定让函数下降
#
# 按一阶泰勒展开，$f(x - \eta f'(x))$ 等于 $f(x) - \eta f'(x)^2 + O(\eta^2)$。只要 $f'(x)\ne 0$，
# 足够小的 $\eta$ 就能让 $\eta f'(x)^2$ 压过高阶项，函数值一定下降。步长大了，被忽略的高阶项就不能忽略了：

# %%
x = 3.0
for lr in (0.001, 0.01, 0.1, 0.5, 1.0, 1.5):
    drop = square(x) - square(x - lr * 2 * x)
    print(f"学习率 {lr:<5}：实际下降 {drop:8.4f}，"
          f"一阶近似 η·f'(x)² = {lr * (2 * x) ** 2:8.4f}")

# %% [markdown]
# ## 局部极小值
#
# 对非凸函数 $f(x) = x\cos(cx)$（$c = 0.15\pi$），先在 $[-12, 12]$ 上把所有局部极小值找出来，
# 再从 $x_0 = 10$ 出发、以学习率 2 做 40 步梯度下降。

# %%
c = 0.15 * math.pi


def wavy(x):
    return x * torch.cos(c * x)


grid = torch.linspace(-12, 12, 2401, dtype=torch.float64)
values = wavy(grid)
is_min = (values[1:-1] < values[:-2]) & (values[1:-1] < values[2:])
x_mins, f_mins = grid[1:-1][is_min].tolist(), values[1:-1][is_min].tolist()
for x_min, f_min in zip(x_mins, f_mins):
    print(f"局部极小值：x ≈ {x_min:6.2f}，f ≈ {f_min:6.3f}")

xs = gd(wavy, 10.0, lr=2.0, steps=40)
print(f"第 1 步跳到 x = {xs[1]:.3f}；40 步后 x = {xs[-1]:.4f}，"
      f"导数 {derivative(wavy, xs[-1]):+.4f}，"
      f"f = {wavy(torch.tensor(xs[-1])):.3f}")

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(grid, values)
ax.plot(xs, wavy(torch.tensor(xs)), "o-", ms=3)
ax.set(xlabel="$x$", ylabel="$f(x)$", title=r"$x\cos(0.15\pi x)$，学习率 2")
show(fig)

# %% [markdown]
# 起点左边不远（$x\approx 7.27$）就是更深的谷底，但学习率 2 的第一步迈得太大，直接越过了它，
# 落到另一个山谷里，之后只能在那个山谷里找局部极小值 $x\approx -1.83$。那里 $\eta f''(x)\approx 1.96$，
# 离稳定的上限 2 只差一点，所以每一步都越过谷底、左右来回跳，跳的幅度慢慢变小：40 步后还没完全收敛。
# 梯度下降只看脚下的坡度，它不知道别处还有更低的地方。
