"""
模式崩溃：在八个高斯上诱发它，再治好它
======================================

真实数据是圆周上 8 个小高斯的混合。让生成器的学习率是判别器的 10 倍，生成器就会把所有噪声都挤成一团，落在某个模式附近甚至两个模式之间，
判别器追过去，它再整体跳到别处：这就是**模式崩溃**。我们用“覆盖了几个模式”和“高质量样本的比例”来度量它，
再看一个简单的补救——让判别器看到整个小批量的标准差（小批量标准差特征，ProGAN 所用）——怎样在同样失衡的学习率下
让生成器覆盖（几乎）全部 8 个模式；最后与“把学习率调平衡”比较。
"""

# %%
import matplotlib.pyplot as plt
import torch

import dlbook
from dlbook.data import TensorLoader
from dlbook.gan import (
    MinibatchStdDev,
    MLPDiscriminator,
    MLPGenerator,
    gaussian_mixture,
    generate,
    modes_covered,
    ring_centers,
    train_gan,
)
from dlbook.plot import show

dlbook.seed_everything(0)
# 网络很小：在 CPU 上多线程的同步开销比计算本身还大
torch.set_num_threads(1)
device = dlbook.get_device()
print("设备：", device, " 模式：", dlbook.current_mode())

# %% [markdown]
# ## 数据与度量
#
# 8 个中心均匀分布在半径 2 的圆上，每个分量的标准差 0.05。度量参照 VEEGAN、PacGAN 等论文的做法：
# 生成 2500 个样本，离最近的中心不超过 3 个标准差的算“高质量”，某个中心附近至少有 20 个高质量样本才算覆盖了这个模式。
# 那两篇论文只要有 1 个高质量样本离某个中心最近就算覆盖；这里的标准更严，得到的数字不能与论文里的直接比较。
# 真实数据自己的得分是：

# %%
centers, std = ring_centers(8, radius=2.0), 0.05
real = gaussian_mixture(2500, centers, std=std, seed=0)
print("真实数据：", modes_covered(real, centers, std=std))

# %% [markdown]
# ## 三种设置
#
# 网络都是两个隐藏层、每层 64 个单元的多层感知机，噪声 8 维，批量 128，Adam（$\beta_1=0.5$）。每 100 步记一次。
#
# - **失衡**：生成器学习率 0.002，判别器 0.0002。生成器跑得太快，判别器还没来得及在一个模式上学会拒绝，生成器就整体搬家了。
# - **失衡 + 小批量标准差**：学习率同上，判别器的输入多一个特征：这一批样本各坐标标准差的平均（`MinibatchStdDev`）。
# - **平衡**：两者学习率都是 0.001，判别器不加特征。
#
# 完整模式对每种设置用 5 个随机种子各训练 3000 步；quick 模式只用 1 个种子、1200 步。

# %%
steps_per_record, batch_size, latent_dim = 100, 128, 8
records = dlbook.pick(quick=12, full=30)  # 记录次数；总步数 = records × 100
seeds = dlbook.pick(quick=[0], full=[0, 1, 2, 3, 4])
settings = {
    "失衡": dict(lr_g=2e-3, lr_d=2e-4, minibatch_std=False),
    "失衡 + 小批量标准差": dict(lr_g=2e-3, lr_d=2e-4, minibatch_std=True),
    "平衡": dict(lr_g=1e-3, lr_d=1e-3, minibatch_std=False),
}


def train_ring(seed: int, *, lr_g: float, lr_d: float, minibatch_std: bool):
    """训练一次。

    返回生成器、记录，以及每 100 步的（固定噪声生成的样本, 覆盖情况）。
    """
    torch.manual_seed(seed)
    X = gaussian_mixture(
        steps_per_record * batch_size, centers, std=std, seed=seed,
    ).to(device)
    loader = TensorLoader(
        X, torch.zeros(len(X), device=device),
        batch_size=batch_size, shuffle=True, seed=seed,
    )
    G = MLPGenerator(latent_dim).to(device)
    D = MLPDiscriminator(minibatch_std=minibatch_std).to(device)
    z = torch.randn(
        2500, latent_dim, generator=torch.Generator().manual_seed(seed),
    )
    trace = []

    def record(history):
        samples = generate(G, z)
        trace.append((samples, modes_covered(samples, centers, std=std)))

    g_optimizer = torch.optim.Adam(G.parameters(), lr=lr_g, betas=(0.5, 0.999))
    d_optimizer = torch.optim.Adam(D.parameters(), lr=lr_d, betas=(0.5, 0.999))
    history = train_gan(
        G, D, loader, epochs=records, latent_dim=latent_dim,
        g_optimizer=g_optimizer, d_optimizer=d_optimizer,
        on_epoch_end=record,
    )
    return G, history, trace


runs = {}
for name, options in settings.items():
    for seed in seeds:
        runs[name, seed] = train_ring(seed, **options)
    G, history, trace = runs[name, seeds[0]]
    print(
        f"{name}（种子 {seeds[0]}）：{trace[-1][1]}，"
        f"用时 {sum(history.seconds):.1f} 秒"
    )

# %% [markdown]
# ## 训练过程
#
# 每行一种设置，从左到右是训练中的几个时刻（黑色叉号是 8 个中心，蓝点是同一批 2500 个噪声生成的样本）。
# 每幅的标题是步数和覆盖的模式数（共 8 个）。

# %%
shown = sorted({1, 2, records // 4, records // 2, records})
fig, axes = plt.subplots(
    len(settings), len(shown),
    figsize=(1.45 * len(shown), 1.6 * len(settings)), layout="constrained",
)
for row, name in zip(axes, settings):
    trace = runs[name, seeds[0]][2]
    for ax, r in zip(row, shown):
        samples, coverage = trace[r - 1]
        ax.scatter(
            samples[:, 0], samples[:, 1], s=1, alpha=0.3,
            color="tab:blue", rasterized=True,
        )
        ax.scatter(
            centers[:, 0], centers[:, 1], s=25, marker="x", color="black",
        )
        ax.set(xlim=(-3, 3), ylim=(-3, 3), aspect="equal", xticks=[], yticks=[])
        ax.set_title(f"{r * steps_per_record} 步：{coverage.modes}/8")
    row[0].set_ylabel(name)
show(fig)

# %% [markdown]
# ## 哪些模式活了下来
#
# 把每个生成样本归到离它最近的中心，画出每次记录时各模式分到的样本比例（纵轴是 8 个模式，横轴是步数）。
# 失衡的生成器每次只占住一个模式附近，而且占住的模式不断变化：这是模式崩溃的典型样子，生成器在模式之间“跳来跳去”，
# 判别器追着它跑，它的样本往往还落在两个模式之间，连“高质量”都算不上。加了小批量标准差特征之后，
# 样本很快铺开，离各个模式最近的样本比例都接近 1/8。

# %%
def nearest_share(samples: torch.Tensor) -> torch.Tensor:
    # 每个样本离哪个中心最近
    nearest = torch.cdist(samples, centers).argmin(dim=1)
    return torch.bincount(nearest, minlength=len(centers)) / len(samples)


extent = (0.5 * steps_per_record, (records + 0.5) * steps_per_record, 7.5, -0.5)
fig, axes = plt.subplots(
    1, 2, figsize=(7, 3), layout="constrained", sharey=True,
)
for ax, name in zip(axes, list(settings)[:2]):
    trace = runs[name, seeds[0]][2]
    shares = [nearest_share(samples) for samples, _ in trace]
    share = torch.stack(shares, dim=1)  # (8, 记录次数)
    image = ax.imshow(
        share.numpy(), aspect="auto", cmap="magma", vmin=0, vmax=1,
        extent=extent,
    )
    ax.set(title=name, xlabel="步数", yticks=range(8))
axes[0].set_ylabel("模式")
fig.colorbar(image, ax=axes, label="离该模式最近的样本比例")
show(fig)

# %%
G, _, trace = runs["失衡", seeds[0]]
print("失衡的生成器，最后各模式附近的高质量样本数：", list(trace[-1][1].counts))
G, _, trace = runs["失衡 + 小批量标准差", seeds[0]]
print("加了小批量标准差特征：", list(trace[-1][1].counts))

# %% [markdown]
# ## 补救为什么有效
#
# 判别器原本一次只看一个样本：一个落在某个模式中心的假样本与真样本无从区分，哪怕整批假样本都挤在同一个点上。
# 小批量标准差特征把“这一批有多分散”告诉了判别器。真样本的批量分布在整个圆上，两个坐标的标准差都约为 1.4；
# 崩溃的生成器给出的批量挤在少数几处，这个特征明显更小。判别器据此就能拒绝整批假样本，
# 生成器要骗过它，就必须把样本铺开到和真实数据一样分散。

# %%
mbstd = MinibatchStdDev()
G_collapsed = runs["失衡", seeds[0]][0]
fake = generate(G_collapsed, torch.randn(batch_size, latent_dim))
real_std = mbstd(real[:batch_size])[0, -1].item()
fake_std = mbstd(fake)[0, -1].item()
print(f"真样本批量的特征：{real_std:.3f}")
print(f"崩溃的生成器的批量：{fake_std:.3f}"
      f"（真样本的 {fake_std / real_std:.0%}）")

# %% [markdown]
# ## 汇总
#
# 每种设置在各个种子上的最终结果：覆盖的模式数，以及高质量样本的比例。

# %%
quality = {}  # 每种设置在各个种子上的平均高质量样本比例
for name in settings:
    finals = [runs[name, seed][2][-1][1] for seed in seeds]
    modes = [c.modes for c in finals]
    quality[name] = sum(c.high_quality for c in finals) / len(finals)
    covered = (f"覆盖模式数 {modes}，平均 {sum(modes) / len(modes):.1f}/8"
               if len(modes) > 1 else f"覆盖 {modes[0]}/8 个模式")
    print(f"{name}：{covered}；高质量样本 {quality[name]:.1%}")

# %% [markdown]
# 第三行的设置没有任何补救，只是把两者的学习率调平。在这个玩具问题上，它说明崩溃首先是节奏失调造成的，
# 调好节奏本身就是一种补救；小批量标准差的价值在于学习率失衡时也能撑住，而实际训练时往往并不知道
# “平衡”的学习率是多少。两者的高质量样本比例相比：

# %%
pair = {name: quality[name] for name in ("失衡 + 小批量标准差", "平衡")}
better = max(pair, key=pair.get)
worse = min(pair.values())
print(f"高质量样本的比例：{better}更高（{pair[better]:.1%} 对 {worse:.1%}）")
