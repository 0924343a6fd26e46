"""
DCGAN：在 Fashion-MNIST 上生成衣物图像
======================================

`dlbook.models.dcgan` 里的生成器用四个转置卷积把噪声（完整模式 100 维，quick 模式 32 维）放大成 $28\\times 28$ 的图像，判别器用四个卷积把图像压成一个分数。
这个示例先逐层查看两个网络的形状，再用 DCGAN 论文的配方（Adam，学习率 0.0002，$\\beta_1 = 0.5$，完整模式批量 128，quick 模式 64）
训练它们，画出每轮的样本、固定噪声的演变、两个网络的损失曲线，最后在噪声空间里做插值。

完整模式（GPU）用全部 60000 张训练图像训练 20 轮，生成的图像能认出是 T 恤、裤子、鞋和包
（这一点在 CPU 上用 float32 完整训练验证过，见 `benchmarks/RESULTS.md`）。
quick 模式为了在 CPU 上一分钟内跑完，只用 2560 张图像、窄得多的网络训练 3 轮（120 步），
生成的只是一团团模糊的影子：每一行代码都执行了，但请不要用它来评判 DCGAN。
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from torchvision.utils import make_grid

import dlbook
from dlbook.data import TensorLoader, fashion_mnist_tensors
from dlbook.gan import generate, train_gan
from dlbook.models.dcgan import Discriminator, Generator
from dlbook.plot import show
from dlbook.train import keep_modes

dlbook.seed_everything(0)
# quick 的网络很小，CPU 上单线程反而快
torch.set_num_threads(dlbook.pick(quick=1, full=torch.get_num_threads()))
device = dlbook.get_device()
print("设备：", device, " 模式：", dlbook.current_mode())

# %% [markdown]
# ## 超参数
#
# 集中在一处。`width` 是判别器第一层（也是生成器最后一个隐藏层）的通道数，其余各层是它的 2 倍、4 倍。

# %%
latent_dim = dlbook.pick(quick=32, full=100)  # 噪声维数
width = dlbook.pick(quick=16, full=64)  # 通道数的基数
batch_size = dlbook.pick(quick=64, full=128)
epochs = dlbook.pick(quick=3, full=20)
subset = dlbook.pick(quick=2560, full=None)  # None：全部 60000 张
lr, betas = 2e-4, (0.5, 0.999)  # DCGAN 论文的 Adam 设置

# %% [markdown]
# ## 两个网络的形状
#
# 在每个子模块上挂一个前向钩子，让一个批量走一遍，按调用顺序打印输出形状。生成器里的 `relu`、判别器里的 `lrelu`
# 是共用的激活函数，不改变形状，这里略去。

# %%
def layer_shapes(model: torch.nn.Module, x: torch.Tensor) -> None:
    hooks = [
        module.register_forward_hook(
            lambda m, args, out, name=name: print(
                f"  {name:<6}{type(m).__name__:<16}{tuple(out.shape)}"
            )
        )
        for name, module in model.named_children()
        if name not in ("relu", "lrelu")
    ]
    # 评估模式：这次前向不改动批量归一化的滑动统计量；之后各层恢复原来的模式
    with keep_modes(model), torch.no_grad():
        model.eval()
        model(x)
    for h in hooks:
        h.remove()
    print(f"  参数 {sum(p.numel() for p in model.parameters()):,} 个")


G = Generator(latent_dim, image_size=28, width=width).to(device)
D = Discriminator(image_size=28, width=width).to(device)
print(f"生成器，输入 (2, {latent_dim})：")
layer_shapes(G, torch.randn(2, latent_dim, device=device))
print("判别器，输入 (2, 1, 28, 28)：")
layer_shapes(D, torch.randn(2, 1, 28, 28, device=device))

# %% [markdown]
# 生成器是判别器倒过来：判别器里 $28\to 14\to 7\to 3\to 1$，生成器里 $1\to 3\to 7\to 14\to 28$，
# 对应层的核大小、步幅和填充相同。
#
# ## 数据
#
# 生成器最后一层是 tanh，输出在 $[-1, 1]$，所以把像素从 $[0, 1]$ 线性地变到 $[-1, 1]$。标签用不到。
# `drop_last=True` 丢掉最后一个不满的批量：批量归一化在很小的批量上统计量不可靠。

# %%
X, y = fashion_mnist_tensors("train", subset=subset, device=device)
X = X * 2 - 1  # (N, 1, 28, 28)，取值 [-1, 1]
loader = TensorLoader(X, y, batch_size=batch_size, shuffle=True, drop_last=True)
print(f"{len(X)} 张训练图像，每轮 {len(loader)} 个批量")

# %% [markdown]
# ## 训练
#
# 每轮结束时用同一批固定的噪声 `z_fixed` 生成 64 张图像存下来：同一个 $z$ 在不同轮次生成的图像可以直接比较。

# %%
z_fixed = torch.randn(
    64, latent_dim, generator=torch.Generator().manual_seed(1),
)
samples = {}  # 轮次 → (64, 1, 28, 28)


def on_epoch_end(history):
    samples[history.epoch[-1]] = generate(G, z_fixed)


history = train_gan(
    G, D, loader, epochs=epochs, latent_dim=latent_dim,
    g_optimizer=torch.optim.Adam(G.parameters(), lr=lr, betas=betas),
    d_optimizer=torch.optim.Adam(D.parameters(), lr=lr, betas=betas),
    on_epoch_end=on_epoch_end,
    # CUDA 上 bfloat16 混合精度 + channels_last；CPU 上与默认路径完全相同
    fast=True,
)
for e, d_loss, g_loss, d_real, d_fake, sec in zip(
    history.epoch, history.d_loss, history.g_loss,
    history.d_real, history.d_fake, history.seconds,
):
    print(
        f"第 {e:>2} 轮：D 损失 {d_loss:.3f}  G 损失 {g_loss:.3f}  "
        f"D(x) {d_real:.3f}  D(G(z)) {d_fake:.3f}  {sec:.1f} 秒"
    )
print(
    f"训练 {epochs} 轮共 {len(history.step_d_loss)} 步，"
    f"用时 {sum(history.seconds):.1f} 秒（{device}）"
)

# %% [markdown]
# ## 每轮的样本
#
# 同一批 64 个噪声在若干轮之后生成的图像。像素变回 $[0, 1]$ 再画。

# %%
def to_image(batch: torch.Tensor, nrow: int = 8) -> np.ndarray:
    grid = make_grid((batch + 1) / 2, nrow=nrow, padding=1, pad_value=1.0)
    # grid 的形状是 (3, H, W)，取一个通道；交给 matplotlib 之前转成 NumPy 数组
    return grid[0].clamp(0, 1).numpy()


shown = sorted({e for e in (1, 2, 3, 5, 10, 15, epochs) if e <= epochs})
ncols = min(len(shown), 4)
nrows = -(-len(shown) // ncols)
fig, axes = plt.subplots(
    nrows, ncols, figsize=(2.8 * ncols, 3.0 * nrows),
    layout="constrained", squeeze=False,
)
for ax in axes.flat:
    ax.set_axis_off()
for ax, e in zip(axes.flat, shown):
    ax.imshow(to_image(samples[e]), cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"第 {e} 轮")
show(fig)

# %% [markdown]
# ## 固定噪声的演变
#
# 取其中 8 个噪声，每行一个，从左到右是各轮的结果。完整模式下可以看到一个模糊的轮廓怎样逐渐长出细节，
# 以及同一个 $z$ 在训练中途有时会“换”成另一类衣物。

# %%
rows = torch.stack(
    [torch.stack([samples[e][i] for e in shown]) for i in range(8)]
)  # 形状 (8, 轮数, 1, 28, 28)
fig, ax = plt.subplots(
    figsize=(1.0 * len(shown) + 0.6, 8.6), layout="constrained",
)
ax.imshow(
    to_image(rows.flatten(0, 1), nrow=len(shown)),
    cmap="gray", vmin=0, vmax=1,
)
ax.set_xticks(
    [14.5 + 29 * i for i in range(len(shown))], [str(e) for e in shown],
)
ax.set_yticks([])
ax.set_xlabel("轮次")
ax.tick_params(length=0)
for spine in ax.spines.values():
    spine.set_visible(False)
show(fig)

# %% [markdown]
# ## 损失曲线
#
# 与分类器不同，两个损失都不会一路下降：判别器变强，生成器的损失就升高，反之亦然。
# 曲线平稳、$D(x)$ 不贴近 1、$D(G(z))$ 不贴近 0，说明谁也没有压倒谁；一方的损失趋于 0 往往意味着训练失败。
# 每一步的损失噪声很大，图中是每 `window` 步的平均（步数不到 200 时 `window` 是 1，画的就是每一步）。
# 图下面按最后一轮的 $D(x)$ 与 $D(G(z))$ 说明这次是哪种情形。

# %%
window = max(1, len(history.step_d_loss) // 100)


def smooth(values: list[float]) -> torch.Tensor:
    v = torch.tensor(values)
    return v[: len(v) // window * window].reshape(-1, window).mean(dim=1)


steps = torch.arange(len(smooth(history.step_d_loss))) * window
fig, (ax_loss, ax_prob) = plt.subplots(
    1, 2, figsize=(7, 3), layout="constrained",
)
ax_loss.plot(steps, smooth(history.step_d_loss), label="判别器")
ax_loss.plot(steps, smooth(history.step_g_loss), label="生成器")
ax_loss.set(xlabel="步数", ylabel="损失")
ax_prob.plot(steps, smooth(history.step_d_real), label="D(x)")
ax_prob.plot(steps, smooth(history.step_d_fake), label="D(G(z))")
ax_prob.set(xlabel="步数", ylabel="平均概率", ylim=(0, 1))
for ax in (ax_loss, ax_prob):
    ax.grid(alpha=0.3)
    ax.legend()
show(fig)

real_p, fake_p = history.d_real[-1], history.d_fake[-1]
print(f"最后一轮：D(x) = {real_p:.2f}，D(G(z)) = {fake_p:.2f}")
if real_p > 0.9 and fake_p < 0.1:
    print("判别器占了上风：它几乎总能分出真假，生成器从它那里得到的信息很少。"
          "\n训练步数很少时（quick 模式）常见如此；完整模式训练得久，"
          "两者会回到拉锯。")
else:
    print("两者仍在拉锯：谁也没有压倒谁。")

# %% [markdown]
# ## 生成的图像与真实图像
#
# 训练结束后把生成器切到评估模式（批量归一化改用训练中累积的统计量），生成 64 张新图像，与 64 张真实图像并排。

# %%
G.eval()
fake = generate(G, torch.randn(64, latent_dim))
fig, (ax_fake, ax_real) = plt.subplots(
    1, 2, figsize=(9, 4.8), layout="constrained",
)
ax_fake.imshow(to_image(fake), cmap="gray", vmin=0, vmax=1)
ax_fake.set_title("生成的")
ax_real.imshow(to_image(X[:64].cpu()), cmap="gray", vmin=0, vmax=1)
ax_real.set_title("真实的")
for ax in (ax_fake, ax_real):
    ax.set_axis_off()
show(fig)

# %% [markdown]
# ## 噪声空间里的插值
#
# 取两个噪声 $z_0$、$z_1$，生成 $z_t = (1-t)z_0 + t z_1$（$t$ 从 0 到 1）对应的图像。
# 若生成器只是背下了训练图像，插值中途会突然跳变或出现乱码；DCGAN 论文用平滑的过渡说明生成器学到了
# 一个连续的“衣物空间”。每行是一对不同的端点。

# %%
pairs, steps_t = 6, 10
z0, z1 = torch.randn(pairs, 1, latent_dim), torch.randn(pairs, 1, latent_dim)
t = torch.linspace(0, 1, steps_t).reshape(1, -1, 1)
# 每对端点之间 steps_t 个点，展平成 (pairs × steps_t, latent_dim)
z = ((1 - t) * z0 + t * z1).reshape(-1, latent_dim)
fig, ax = plt.subplots(
    figsize=(steps_t * 0.9, pairs * 0.95), layout="constrained",
)
ax.imshow(to_image(generate(G, z), nrow=steps_t), cmap="gray", vmin=0, vmax=1)
ax.set_title("$z_0$ → $z_1$")
ax.set_axis_off()
show(fig)
