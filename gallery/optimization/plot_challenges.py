"""
优化的挑战：泛化、局部极小值、鞍点与梯度消失
============================================

优化算法只管把训练集上的损失降下去，而我们真正关心的是没见过的数据。这个示例先画出
“经验风险”与“风险”的差别，再依次看梯度下降会遇到的三个麻烦：局部极小值、鞍点和梯度消失。
梯度全部由自动微分求出。
"""

# %%
import math

import matplotlib.pyplot as plt
import torch

import dlbook
from dlbook.plot import show

dlbook.seed_everything(0)


def grad(f, x: float) -> float:
    """一元函数 f 在 x 处的导数（自动微分）。"""
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(f(t), t)
    return g.item()


# %% [markdown]
# ## 经验风险与风险
#
# 设真实的风险（在整个数据分布上的期望损失）是 $f(x) = x\cos(\pi x)$。训练集只是有限的样本，
# 上面算出的经验风险 $g(x)$ 会带着“噪声”起伏，这里用 $g(x) = f(x) + 0.2\cos(5\pi x)$ 来模拟。
# 两者的最小值点并不重合：把经验风险优化到底，得到的未必是风险最小的参数。

# %%
def risk(x):
    return x * torch.cos(math.pi * x)


def empirical_risk(x):
    return risk(x) + 0.2 * torch.cos(5 * math.pi * x)


x = torch.linspace(0.5, 1.5, 1001, dtype=torch.float64)
i_f, i_g = int(risk(x).argmin()), int(empirical_risk(x).argmin())
print(f"风险的最小值点     x = {x[i_f]:.3f}，f = {risk(x)[i_f]:.3f}")
print(f"经验风险的最小值点 x = {x[i_g]:.3f}，g = {empirical_risk(x)[i_g]:.3f}，"
      f"这里的真实风险 f = {risk(x)[i_g]:.3f}")

fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
ax.plot(x, risk(x), label="风险 $f$")
ax.plot(x, empirical_risk(x), label="经验风险 $g$")
ax.annotate(
    "风险的最小值", (x[i_f], risk(x)[i_f]), (0.95, -0.2),
    arrowprops={"arrowstyle": "->"},
)
ax.annotate(
    "经验风险的最小值", (x[i_g], empirical_risk(x)[i_g]), (0.52, -1.1),
    arrowprops={"arrowstyle": "->"},
)
ax.set(xlabel="$x$", ylabel="风险")
# 图例放在图外：图里哪个角都会盖住一段曲线
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
show(fig)

# %% [markdown]
# ## 局部极小值
#
# 同一个 $f(x) = x\cos(\pi x)$ 在 $[-1, 2]$ 上有一个局部极小值和一个全局极小值。
# 从 $x_0 = -0.8$ 出发做梯度下降，梯度在局部极小值处变成 0，迭代就停在那里了。

# %%
def descend(f, x0: float, lr: float, steps: int) -> list[float]:
    xs = [x0]
    for _ in range(steps):
        xs.append(xs[-1] - lr * grad(f, xs[-1]))
    return xs


xs = descend(risk, -0.8, lr=0.05, steps=50)
print(f"梯度下降 50 步后停在 x = {xs[-1]:.4f}，导数 {grad(risk, xs[-1]):.1e}，"
      f"f = {risk(torch.tensor(xs[-1])):.3f}")
x = torch.linspace(-1.0, 2.0, 301, dtype=torch.float64)
best = x[risk(x).argmin()]
print(f"而 [-1, 2] 上的全局最小值约为 f = {risk(best):.3f}（x ≈ {best:.2f}）")

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(x, risk(x))
ax.plot(xs, risk(torch.tensor(xs)), "o-", ms=3, label="梯度下降")
ax.annotate(
    "局部极小值", (xs[-1], risk(torch.tensor(xs[-1]))), (-0.6, 0.6),
    arrowprops={"arrowstyle": "->"},
)
ax.annotate(
    "全局极小值", (best, risk(best)), (0.5, 1.2),
    arrowprops={"arrowstyle": "->"},
)
ax.set(xlabel="$x$", ylabel="$f(x)$")
ax.legend()
show(fig)

# %% [markdown]
# ## 鞍点
#
# 梯度为零的点不一定是极值点。$f(x) = x^3$ 在 0 处一阶、二阶导数都是 0，但它是单调递增的：
# 左侧的函数值都比 $f(0)$ 小，右侧的都比它大。
# 多元函数里更常见的是**鞍点**：$f(x, y) = x^2 - y^2$ 在原点沿 $x$ 方向是极小值，沿 $y$ 方向是极大值。
# 判断的依据是黑塞矩阵（Hessian）的特征值：全为正是局部极小值，全为负是局部极大值，有正有负就是鞍点。

# %%
def saddle(p):
    return p[0] ** 2 - p[1] ** 2


origin = torch.zeros(2, dtype=torch.float64)
H = torch.autograd.functional.hessian(saddle, origin)
gradient = torch.autograd.functional.jacobian(saddle, origin)
print("原点处的梯度：", gradient.tolist())
print("原点处的黑塞矩阵：", H.tolist(),
      " 特征值：", torch.linalg.eigvalsh(H).tolist())

fig = plt.figure(figsize=(9, 3.2))
ax1 = fig.add_subplot(1, 2, 1)
x = torch.linspace(-2, 2, 201)
ax1.plot(x, x**3)
ax1.plot([0], [0], "rx", ms=10)
ax1.set(xlabel="$x$", ylabel="$x^3$", title="$x^3$：导数为零，却不是极值")
ax2 = fig.add_subplot(1, 2, 2, projection="3d")
grid = torch.linspace(-1, 1, 41)
gx, gy = torch.meshgrid(grid, grid, indexing="ij")
ax2.plot_wireframe(
    gx.numpy(), gy.numpy(), (gx**2 - gy**2).numpy(),
    rstride=4, cstride=4, linewidth=0.6,
)
ax2.plot([0], [0], [0], "rx", ms=10)
ax2.set(xlabel="$x$", ylabel="$y$", title="$x^2-y^2$ 的鞍点")
show(fig)

# %% [markdown]
# 高维问题里，一个驻点的黑塞矩阵有成千上万个特征值，它们恰好全为正的可能性很小，
# 所以深度网络的损失曲面上，鞍点往往比局部极小值多得多。
#
# ## 梯度消失
#
# $\tanh$ 在远离原点的地方几乎是平的：$x = 4$ 处的导数 $1-\tanh^2(4)$ 只有约 0.0013。
# 如果参数恰好落在这样的区域，梯度下降每一步几乎不动，看起来像是“卡住了”。
# 这正是 ReLU 代替 sigmoid、tanh 成为默认激活函数的原因之一。

# %%
print(f"tanh 在 x = 4 处的导数：{grad(torch.tanh, 4.0):.5f}"
      f"（公式 1 - tanh²(4) = {1 - math.tanh(4) ** 2:.5f}）")
x = torch.linspace(-5, 5, 201)
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(x, torch.tanh(x), label=r"$\tanh x$")
ax.plot(x, 1 - torch.tanh(x) ** 2, "--", label=r"导数 $1-\tanh^2 x$")
ax.plot([4], [math.tanh(4)], "ro")
ax.annotate(
    "梯度几乎为 0", (4, math.tanh(4)), (1.2, 0.3),
    arrowprops={"arrowstyle": "->"},
)
ax.set(xlabel="$x$")
ax.legend()
show(fig)
