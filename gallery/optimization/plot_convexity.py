"""
凸集、凸函数与詹森不等式
========================

凸性是优化理论里最好用的性质：凸函数的任何局部极小值都是全局极小值。这个示例不做证明，
而是用随机抽样去“检验”定义：凸集的交集仍然是凸集而并集不一定是；凸函数的弦总在函数图像上方；
詹森不等式 $\\mathbb{E}[f(X)] \\ge f(\\mathbb{E}[X])$；以及用二阶导数和黑塞矩阵判断凸性。
"""

# %%
import matplotlib.pyplot as plt
import torch
from matplotlib.patches import Circle

import dlbook
from dlbook.plot import show
from dlbook.text import pad

dlbook.seed_everything(0)
g = torch.Generator().manual_seed(0)

# %% [markdown]
# ## 凸集：交集是凸的，并集不一定
#
# 集合 $\mathcal{X}$ 是凸的，当且仅当其中任意两点 $a, b$ 的连线都在集合里：
# 对所有 $\lambda \in [0, 1]$，$\lambda a + (1-\lambda) b \in \mathcal{X}$。
# 取两个相交的圆盘 $A$、$B$，在集合里随机抽点对，检查它们连线上的点是否还在集合里。

# %%
centers, radius = torch.tensor([[0.0, 0.0], [1.5, 0.0]]), 1.0


def in_A(p):
    return (p - centers[0]).norm(dim=-1) <= radius


def in_B(p):
    return (p - centers[1]).norm(dim=-1) <= radius


def violations(member, n: int = 20000) -> tuple[int, torch.Tensor | None]:
    """在集合里抽 n 对点，数一数连线上的随机一点落在集合外的次数。

    还返回一个反例（没有反例时是 None）。
    """
    scale, shift = torch.tensor([4.0, 3.0]), torch.tensor([1.25, 1.5])
    cloud = torch.rand(200000, 2, generator=g) * scale - shift
    inside = cloud[member(cloud)]
    a = inside[torch.randint(len(inside), (n,), generator=g)]
    b = inside[torch.randint(len(inside), (n,), generator=g)]
    lam = torch.rand(n, 1, generator=g)
    c = lam * a + (1 - lam) * b
    bad = ~member(c)
    example = None
    if bad.any():  # 反例取“越出最远”的那条连线，画出来最清楚
        distance = (c[bad, None] - centers).norm(dim=-1)  # 到两个圆心的距离
        outside = (distance - radius).min(dim=1).values
        k = int(outside.argmax())
        example = torch.stack([a[bad][k], b[bad][k]])
    return int(bad.sum()), example


for name, member in [("A", in_A),
                     ("A ∩ B", lambda p: in_A(p) & in_B(p)),
                     ("A ∪ B", lambda p: in_A(p) | in_B(p))]:
    count, example = violations(member)
    print(f"{name:<6}: 20000 条连线中有 {count:>4} 条越出集合")
    if name == "A ∪ B":
        counter = example

fig, axes = plt.subplots(1, 2, figsize=(8, 3))
titles = ["交集 $A\\cap B$（凸）", "并集 $A\\cup B$（非凸，黑线是一个反例）"]
for ax, title in zip(axes, titles):
    for c in centers:
        ax.add_patch(Circle(c.tolist(), radius, fill=False))
    ax.set(xlim=(-1.2, 2.7), ylim=(-1.2, 1.2), aspect="equal", title=title)
gx, gy = torch.meshgrid(
    torch.linspace(-1.2, 2.7, 300), torch.linspace(-1.2, 1.2, 200),
    indexing="xy",
)
grid = torch.stack([gx, gy], dim=-1)
axes[0].contourf(
    gx, gy, (in_A(grid) & in_B(grid)).float(),
    levels=[0.5, 1.5], colors=["tab:blue"], alpha=0.4,
)
axes[1].contourf(
    gx, gy, (in_A(grid) | in_B(grid)).float(),
    levels=[0.5, 1.5], colors=["tab:orange"], alpha=0.4,
)
axes[1].plot(counter[:, 0], counter[:, 1], "k.-")
show(fig)

# %% [markdown]
# ## 凸函数：弦在图像上方
#
# 定义在凸集上的函数 $f$ 是凸的，当且仅当对任意 $a, b$ 与 $\lambda\in[0,1]$：
#
# $$\lambda f(a) + (1-\lambda) f(b) \ge f(\lambda a + (1-\lambda) b).$$
#
# 对 $\frac12 x^2$、$\cos(\pi x)$ 和 $e^x$ 随机抽取十万组 $(a, b, \lambda)$，数一数不等式被违反的次数。

# %%
functions = [  # （打印用的名字，图上的标题，函数）
    ("x²/2", r"$\frac{1}{2}x^2$", lambda x: 0.5 * x**2),
    ("cos(πx)", r"$\cos(\pi x)$", lambda x: torch.cos(torch.pi * x)),
    ("exp(x)", r"$e^x$", torch.exp),
]
a, b = torch.rand(2, 100000, generator=g, dtype=torch.float64) * 4 - 2
lam = torch.rand(100000, generator=g, dtype=torch.float64)
for name, _, f in functions:
    gap = lam * f(a) + (1 - lam) * f(b) - f(lam * a + (1 - lam) * b)
    print(f"{name:<8} 违反次数 {int((gap < -1e-12).sum()):>6}，"
          f"弦与函数值之差的最小值 {gap.min().item() + 0.0:+.4f}")

fig, axes = plt.subplots(1, 3, figsize=(9, 2.6))
x = torch.linspace(-2, 2, 201)
for ax, (_, title, f) in zip(axes, functions):
    ax.plot(x, f(x))
    chord = torch.tensor([-1.5, 1.0])
    ax.plot(chord, f(chord), "o--", color="tab:red")
    ax.set(title=title)
fig.tight_layout()
show(fig)

# %% [markdown]
# $\cos(\pi x)$ 在 $[-2, 2]$ 上不是凸函数，随机抽样很快就找到了反例；另外两个函数一次也没有违反。
#
# ## 詹森不等式
#
# 把凸函数的定义从两点推广到任意多点（任意概率分布），就是**詹森不等式**：
# 对凸函数 $f$ 和随机变量 $X$，$\mathbb{E}[f(X)] \ge f(\mathbb{E}[X])$，即“函数值的期望不小于期望的函数值”。
# 对凹函数（例如 $\log$）不等号反向。下面用一个指数分布的样本检验它。

# %%
X = torch.empty(100000, dtype=torch.float64).exponential_(1.0, generator=g)
for name, f in [("x²", torch.square),
                ("exp(-x)", lambda t: torch.exp(-t)),
                ("log x（凹）", torch.log)]:
    lhs, rhs = f(X).mean().item(), f(X.mean()).item()
    sign = "≥" if lhs >= rhs else "<"
    print(f"f = {pad(name, 12)} E[f(X)] = {lhs:+.4f}   "
          f"f(E[X]) = {rhs:+.4f}   {sign}")

# %% [markdown]
# ## 二阶条件
#
# 二阶可导的一元函数是凸的，当且仅当处处 $f''(x) \ge 0$；多元函数则要求黑塞矩阵处处半正定，
# 也就是特征值都不小于 0。用自动微分在一些点上算一算：

# %%
def second_derivative(f, x: float) -> float:
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (d1,) = torch.autograd.grad(f(t), t, create_graph=True)
    (d2,) = torch.autograd.grad(d1, t)
    return d2.item()


for name, f in [("x⁴", lambda t: t**4),
                ("cos(πx)", lambda t: torch.cos(torch.pi * t))]:
    values = [second_derivative(f, x) for x in (-1.0, -0.5, 0.0, 0.5, 1.0)]
    print(f"{name:<8} 在 -1, -0.5, 0, 0.5, 1 处的二阶导数：",
          [round(v, 2) + 0.0 for v in values])

points = torch.randn(5, 2, generator=g, dtype=torch.float64)
for name, f in [("x₁² + 2x₂²", lambda p: p[0] ** 2 + 2 * p[1] ** 2),
                ("x₁² - x₂²", lambda p: p[0] ** 2 - p[1] ** 2),
                ("log(e^x₁ + e^x₂)", lambda p: torch.logsumexp(p, 0))]:
    hessians = [torch.autograd.functional.hessian(f, p) for p in points]
    smallest = min(torch.linalg.eigvalsh(H).min().item() for H in hessians)
    # 舍入误差造成的 -1e-17 记作 0
    smallest = 0.0 if abs(smallest) < 1e-12 else smallest
    print(f"{name:<18} 5 个随机点上黑塞矩阵的最小特征值：{smallest:+.4f}")

# %% [markdown]
# $x^4$ 在 0 处的二阶导数恰好为 0，它仍然是凸函数（条件是 $\ge 0$）。
# $\log(e^{x_1}+e^{x_2})$ 就是 softmax 回归损失里的 log-sum-exp，它的黑塞矩阵半正定但有一个特征值为 0
# （沿 $(1,1)$ 方向函数是线性的），所以最小特征值是 0（数值上是 $10^{-16}$ 量级的舍入误差）。
