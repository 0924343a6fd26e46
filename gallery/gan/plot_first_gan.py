"""
第一个 GAN：学会一个一维的双峰分布
==================================

真实数据来自 $\\pm 2$ 处两个高斯的混合。生成器把 4 维的标准正态噪声变成一个数，判别器给每个数打分。
我们用 `dlbook.gan.train_gan` 交替训练两者，每隔一段时间画出生成样本的直方图和判别器的输出 $D(x)$：
生成的分布一步步长出两个峰，判别器也越来越分不清真假，最后 $D(x)$ 在数据所在的地方接近 $1/2$。
"""

# %%
import math

import matplotlib.pyplot as plt
import torch

import dlbook
from dlbook.data import TensorLoader
from dlbook.gan import (
    MLPDiscriminator, MLPGenerator, gaussian_mixture, generate, train_gan,
)
from dlbook.plot import show

dlbook.seed_everything(0)
# 网络很小：在 CPU 上多线程的同步开销比计算本身还大
torch.set_num_threads(1)
device = dlbook.get_device()
print("设备：", device, " 模式：", dlbook.current_mode())

# %% [markdown]
# ## 数据与网络
#
# 训练集是从混合分布中抽出的 12800 个数，每轮 100 个批量。两个网络都是两个隐藏层、每层 64 个单元的多层感知机；
# 判别器最后一层输出 logit，不接 sigmoid（损失函数用 `softplus` 以数值稳定的方式处理它）。

# %%
centers, std = torch.tensor([[-2.0], [2.0]]), 0.5
latent_dim = 4
batch_size = 128
epochs = dlbook.pick(quick=8, full=16)  # 每轮 100 步
lr = 1e-3  # 两个网络相同；Adam 的 β1 = 0.5 是 GAN 的常用设置

X = gaussian_mixture(100 * batch_size, centers, std=std, seed=0)
loader = TensorLoader(
    X.to(device), torch.zeros(len(X), device=device),
    batch_size=batch_size, shuffle=True,
)
G = MLPGenerator(latent_dim, out_dim=1).to(device)
D = MLPDiscriminator(1).to(device)
print(G)
print(D)

# %% [markdown]
# ## 训练
#
# `train_gan` 每个批量先更新一次判别器，再更新一次生成器，默认用非饱和的生成器损失。`on_epoch_end` 在每轮结束时
# 用同一批固定的噪声生成 5000 个样本、在网格上算出 $D(x)$，存下来画图；训练开始前也记一次。

# %%
z_fixed = torch.randn(5000, latent_dim)
grid = torch.linspace(-5, 5, 201)
snapshots = {}


def snapshot(history):
    step = len(history.step_d_loss) if history is not None else 0
    with torch.no_grad():
        d_grid = torch.sigmoid(D(grid[:, None].to(device))).cpu()
    snapshots[step] = (generate(G, z_fixed).flatten(), d_grid)


snapshot(None)
history = train_gan(
    G, D, loader, epochs=epochs, latent_dim=latent_dim,
    g_optimizer=torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999)),
    d_optimizer=torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999)),
    on_epoch_end=snapshot,
)
print(f"最后一轮：{history.summary()}")
print(f"共 {len(history.step_d_loss)} 步，用时 {sum(history.seconds):.1f} 秒")

# %% [markdown]
# ## 生成的分布怎样变化
#
# 灰色曲线是真实的密度，蓝色直方图是生成的样本，红线是判别器的输出 $D(x)$（右边的纵轴）。
# 一开始生成器的输出挤在 0 附近，判别器还没有训练，$D(x)$ 是一条随意的曲线。很快判别器就在 0 附近打出低分；
# 生成器顺着 $D$ 升高的方向移动样本，先向两边铺开，再分成两团，最后收紧成两个峰，数据所在之处的 $D(x)$ 也随之趋近 $1/2$。

# %%
def density(x: torch.Tensor) -> torch.Tensor:
    normal = torch.distributions.Normal(centers.flatten(), std)
    return normal.log_prob(x[:, None]).exp().mean(dim=1)


# 第 0、100、200、400、800…… 步
shown = [s for s in snapshots if s == 0 or math.log2(s / 100).is_integer()]
ncols = 3
nrows = math.ceil(len(shown) / ncols)
fig, axes = plt.subplots(
    nrows, ncols, figsize=(6.4, 2.2 * nrows + 0.4),
    sharey=True, layout="constrained", squeeze=False,
)
for i, (ax, step) in enumerate(zip(axes.flat, shown)):
    samples, d_grid = snapshots[step]
    ax.plot(grid, density(grid), color="gray", label="真实密度")
    ax.hist(
        samples.numpy(), bins=80, range=(-5, 5), density=True,
        color="tab:blue", alpha=0.6, label="生成样本",
    )
    ax.set(title=f"第 {step} 步", xlabel="x", ylim=(0, 1.6))
    twin = ax.twinx()
    twin.plot(grid, d_grid, color="tab:red", label="D(x)")
    twin.set_ylim(0, 1)
    if i % ncols == ncols - 1:  # 最右边一列标出 D(x) 的纵轴
        twin.set_ylabel("D(x)", color="tab:red")
    else:
        twin.set_yticklabels([])
handles, labels = ax.get_legend_handles_labels()
twin_handles, twin_labels = twin.get_legend_handles_labels()
fig.legend(
    handles + twin_handles, labels + twin_labels,
    loc="outside upper center", ncols=3,
)
for ax in axes.flat[len(shown):]:
    ax.set_visible(False)
show(fig)

# %% [markdown]
# ## 损失与 D(x)、D(G(z))
#
# 每一步的损失噪声很大，这里画每 20 步的平均。理想的终点是 $D \equiv 1/2$：那时判别器损失
# $-\log D(x) - \log(1-D(G(z)))$ 等于 $2\log 2 \approx 1.386$，非饱和的生成器损失 $-\log D(G(z))$ 等于 $\log 2 \approx 0.693$。
# 与分类器不同，GAN 的损失不会一路下降，它反映的是两个网络之间的对抗，而不是生成的质量。

# %%
def smooth(values: list[float], width: int = 20) -> torch.Tensor:
    v = torch.tensor(values)
    return v[: len(v) // width * width].reshape(-1, width).mean(dim=1)


steps = torch.arange(len(smooth(history.step_d_loss))) * 20 + 10
fig, (ax_loss, ax_prob) = plt.subplots(
    1, 2, figsize=(7, 3), layout="constrained",
)
ax_loss.plot(steps, smooth(history.step_d_loss), label="判别器损失")
ax_loss.plot(steps, smooth(history.step_g_loss), label="生成器损失")
ax_loss.axhline(
    2 * math.log(2), color="tab:blue", linestyle=":", label="2 log 2",
)
ax_loss.axhline(
    math.log(2), color="tab:orange", linestyle=":", label="log 2",
)
ax_loss.set(xlabel="步数", ylabel="损失")
ax_prob.plot(steps, smooth(history.step_d_real), label="D(x)")
ax_prob.plot(steps, smooth(history.step_d_fake), label="D(G(z))")
ax_prob.axhline(0.5, color="gray", linestyle=":")
ax_prob.set(xlabel="步数", ylabel="判别器给出的平均概率", ylim=(0, 1))
for ax in (ax_loss, ax_prob):
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
show(fig)

# %% [markdown]
# ## 比一比统计量
#
# 最后比较真实分布与生成分布的几个统计量：均值、标准差，以及落在右边那个峰（$x > 0$）的比例。

# %%
from dlbook.text import pad

samples = snapshots[max(snapshots)][0]
real = gaussian_mixture(5000, centers, std=std, seed=1).flatten()
# 一个汉字占两列，f"{s:>8}" 却只数字符个数：表头用 pad 按终端里的宽度补空格
print(
    pad("", 6) + pad("均值", 8, align=">") + pad("标准差", 8, align=">")
    + pad("x > 0 的比例", 14, align=">")
)
for name, s in [("真实", real), ("生成", samples)]:
    mean, sd = s.mean().item(), s.std().item()
    right = (s > 0).float().mean().item()
    print(pad(name, 6) + f"{mean:>8.3f}{sd:>8.3f}{right:>14.3f}")
