"""
五种优化器在同一个函数上的轨迹
==============================

所有优化器都可以写成同一个模板：第 $t$ 步先算出一阶矩 $m_t$ 和二阶矩 $V_t$，
再走 $\\Delta w_t = \\mathrm{lr}\\cdot m_t/(\\sqrt{V_t}+\\epsilon)$。这个示例把 `dlbook.optim` 里从零实现的
SGD、动量法、AdaGrad、RMSProp 和 Adam 放到同一个病态的二次函数 $f(\\mathbf{x}) = 0.1x_1^2 + 2x_2^2$ 上，
画出它们的轨迹，并核对它们与 `torch.optim` 里同名优化器走出的每一步是否一致。
"""

# %%
import matplotlib.pyplot as plt
import torch

import dlbook
from dlbook import optim
from dlbook.plot import show
from dlbook.text import pad

dlbook.seed_everything(0)


def f(x):
    return 0.1 * x[0] ** 2 + 2 * x[1] ** 2


x0, steps = [-5.0, -2.0], 20

# %% [markdown]
# ## 同一个起点，五种走法
#
# 两个坐标方向的曲率相差 20 倍（黑塞矩阵是 $\mathrm{diag}(0.2, 4)$）。每个优化器的超参数放在一处，
# 同时写下它在 `torch.optim` 里对应的写法。

# %%
recipes = {  # 名称: (从零实现, torch.optim 中的对应物)
    "SGD，lr 0.4": (
        lambda p: optim.SGD(p, lr=0.4),
        lambda p: torch.optim.SGD(p, lr=0.4),
    ),
    "动量法，lr 0.4，μ 0.5": (
        lambda p: optim.SGD(p, lr=0.4, momentum=0.5),
        lambda p: torch.optim.SGD(p, lr=0.4, momentum=0.5),
    ),
    "AdaGrad，lr 2": (
        lambda p: optim.Adagrad(p, lr=2.0),
        lambda p: torch.optim.Adagrad(p, lr=2.0),
    ),
    "RMSProp，lr 0.4，α 0.9": (
        lambda p: optim.RMSprop(p, lr=0.4, alpha=0.9),
        lambda p: torch.optim.RMSprop(p, lr=0.4, alpha=0.9),
    ),
    "Adam，lr 0.3": (
        lambda p: optim.Adam(p, lr=0.3),
        lambda p: torch.optim.Adam(p, lr=0.3),
    ),
}

paths = {}
print(pad("优化器", 23), pad(f"{steps} 步后的 x", 20), pad("f", 10),
      "与 torch.optim 的最大差")
for name, (ours, theirs) in recipes.items():
    paths[name] = xs = optim.trajectory(ours, f, x0, steps=steps)
    ref = optim.trajectory(theirs, f, x0, steps=steps)
    end = f"({xs[-1, 0]:+.4f}, {xs[-1, 1]:+.4f})"
    print(pad(name, 23), f"{end:<20} {f(xs[-1]):<10.2e}",
          f"{(xs - ref).abs().max():.1e}")

# %%
fig, axes = plt.subplots(2, 3, figsize=(8, 4.6), sharey=True)  # 右下角空着
g1, g2 = torch.meshgrid(
    torch.linspace(-5.5, 2.0, 120), torch.linspace(-2.5, 2.5, 120),
    indexing="ij",
)
for ax, (name, xs) in zip(axes.flat, paths.items()):
    ax.contour(
        g1, g2, f(torch.stack([g1, g2])),
        levels=10, colors="tab:blue", linewidths=0.6,
    )
    ax.plot(xs[:, 0], xs[:, 1], "o-", color="tab:orange", ms=2.5)
    ax.set(
        title=name, xlabel="$x_1$",
        xlim=(-5.5, 2.0), ylim=(-2.5, 2.5), aspect="equal",
    )
axes[-1, -1].set_axis_off()
for ax in axes[:, 0]:
    ax.set_ylabel("$x_2$")
fig.tight_layout()
show(fig)

# %% [markdown]
# - **SGD**：学习率受曲率大的 $x_2$ 方向限制（$\eta < 2/4 = 0.5$），于是 $x_2$ 来回振荡，曲率小的 $x_1$ 方向却走得很慢。
# - **动量法**：把最近的梯度累加起来，振荡方向上正负抵消，平缓方向上同号叠加、越走越快。
# - **AdaGrad**：每个坐标除以自己累计梯度平方和的平方根，两个方向的步长自动拉平；但累计和只增不减，步长越来越小。
# - **RMSProp**：把累计和换成指数移动平均，步长不会一直缩小。
# - **Adam**：一阶矩和二阶矩都用指数移动平均并做偏差修正，相当于“动量法 + RMSProp”。
#   梯度方向稳定时 $\hat m_t/\sqrt{\hat V_t}\approx\pm 1$，所以每个坐标每步都走大约 lr 那么远，与梯度大小无关：
#   轨迹几乎是等步长的，在 $x_2$ 方向冲过了头，接近最小值时步子也不会自动变小。实际训练中 Adam 常配合学习率衰减。
#
# ## 一阶矩与二阶矩
#
# 把每个优化器第一步之后的状态取出来，就能看到它们各自的 $m_t$ 与 $V_t$ 存在哪里：
# 状态的名字与 PyTorch 相同（`momentum_buffer`、`sum`、`square_avg`、`exp_avg`、`exp_avg_sq`）。

# %%
for name, (ours, _) in recipes.items():
    x = torch.tensor(x0, requires_grad=True)
    opt = ours([x])
    f(x).backward()
    opt.step()
    state = {}
    for k, v in opt.state[x].items():
        if isinstance(v, torch.Tensor) and v.numel() > 1:
            state[k] = [round(e, 3) for e in v.tolist()]
        else:
            state[k] = float(v)
    print(f"{name}：")
    print(f"  {state}")
