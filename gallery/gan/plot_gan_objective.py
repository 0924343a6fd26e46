"""
GAN 的目标函数：梯度饱和与最优判别器
=====================================

两件可以用数值验证的事。第一，原始的极小极大目标里，生成器的损失 $\\log(1 - D(G(z)))$ 在训练初期几乎没有梯度，
换成非饱和损失 $-\\log D(G(z))$ 就好了。第二，生成器固定时，最好的判别器是
$D^*(x) = p_\\text{data}(x) / (p_\\text{data}(x) + p_g(x))$：我们在一维数据上训练一个判别器，把它和这个公式画在一起。
"""

# %%
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

import dlbook
from dlbook.gan import MLPDiscriminator, MLPGenerator, gaussian_mixture
from dlbook.plot import show
from dlbook.text import pad

dlbook.seed_everything(0)
# 网络很小：在 CPU 上多线程的同步开销比计算本身还大
torch.set_num_threads(1)
device = dlbook.get_device()
print("设备：", device, " 模式：", dlbook.current_mode())

# %% [markdown]
# ## 两种生成器损失
#
# 判别器输出 logit $a$，$D = \sigma(a)$。对 $a$ 求导：
#
# $$\frac{\partial}{\partial a}\log(1-\sigma(a)) = -\sigma(a) = -D,$$
#
# $$\frac{\partial}{\partial a}\big(-\log\sigma(a)\big) = -(1-\sigma(a)) = -(1 - D).$$
#
# 训练刚开始时生成的样本很假，判别器很容易把它们认出来，$D(G(z))$ 接近 0：
# 极小极大损失的梯度正比于 $D$，几乎为 0；非饱和损失的梯度正比于 $1-D$，接近 1。下面用自动微分核对这两个式子。

# %%
d = torch.tensor([0.001, 0.01, 0.1, 0.5, 0.9])
a = torch.logit(d).requires_grad_(True)  # 判别器对假样本给出的 logit
# log(1 - σ(a)) = -softplus(a)
(grad_minimax,) = torch.autograd.grad(-F.softplus(a).sum(), a)
# -log σ(a) = softplus(-a)
(grad_ns,) = torch.autograd.grad(F.softplus(-a).sum(), a)
# 表头含汉字，用 pad 按显示宽度补空格（汉字占两列）
print(
    f"{'D(G(z))':>8} {pad('log(1-D) 的梯度', 16, align='>')}"
    f" {pad('-log D 的梯度', 14, align='>')}"
)
for di, g1, g2 in zip(d.tolist(), grad_minimax.tolist(), grad_ns.tolist()):
    print(f"{di:>8.3f} {g1:>16.4f} {g2:>14.4f}")

# %%
D = torch.linspace(0.001, 0.999, 500)
fig, (ax_loss, ax_grad) = plt.subplots(
    1, 2, figsize=(7, 3.2), layout="constrained",
)
ax_loss.plot(D, torch.log(1 - D), label=r"极小极大：$\log(1-D)$")
ax_loss.plot(D, -torch.log(D), label=r"非饱和：$-\log D$")
ax_loss.set(xlabel="D(G(z))", ylabel="生成器要最小化的损失", title="损失")
ax_grad.plot(D, D, label="极小极大：|梯度| = D")
ax_grad.plot(D, 1 - D, label="非饱和：|梯度| = 1 − D")
ax_grad.axvspan(
    0, 0.1, color="tab:red", alpha=0.1, label="训练初期：D(G(z)) 很小",
)
ax_grad.set(
    xlabel="D(G(z))", ylabel="对 logit 的梯度大小", title="梯度",
    ylim=(-0.05, 1.5),  # 上方留出图例的位置
    yticks=[0, 0.2, 0.4, 0.6, 0.8, 1.0],
)
for ax in (ax_loss, ax_grad):
    ax.grid(alpha=0.3)
ax_loss.legend(fontsize=9)
ax_grad.legend(fontsize=9, loc="upper center")
show(fig)

# %% [markdown]
# ## 在真实的网络里
#
# 公式说的是对 logit 的梯度。传到生成器参数上的梯度是否真的消失？构造一个“训练初期”：
# 真实数据在 $\pm 2$ 附近，生成器刚初始化，样本挤在 0 附近；先只训练判别器，让它学会把假样本认出来，
# 再分别用两种损失对生成器的参数求梯度，比较梯度的范数。

# %%
centers, std = torch.tensor([[-2.0], [2.0]]), 0.5
latent_dim = 4
G = MLPGenerator(latent_dim, out_dim=1).to(device)
Dnet = MLPDiscriminator(1).to(device)
opt = torch.optim.Adam(Dnet.parameters(), lr=1e-3)
for step in range(200):
    real = gaussian_mixture(256, centers, std=std).to(device)
    with torch.no_grad():
        fake = G(torch.randn(256, latent_dim, device=device))
    loss = F.softplus(-Dnet(real)).mean() + F.softplus(Dnet(fake)).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()

z = torch.randn(1024, latent_dim, device=device)
logits = Dnet(G(z))
mean_d_fake = torch.sigmoid(logits).mean().item()
print(f"判别器训练后，假样本的平均 D(G(z)) = {mean_d_fake:.4f}")
g_losses = [
    ("极小极大 log(1-D)", -F.softplus(logits).mean()),
    ("非饱和 -log D", F.softplus(-logits).mean()),
]
for name, g_loss in g_losses:
    grads = torch.autograd.grad(g_loss, list(G.parameters()), retain_graph=True)
    norm = torch.sqrt(sum((g**2).sum() for g in grads))
    print(f"{pad(name, 18)} 生成器参数梯度的范数 {norm.item():.2e}")

# %% [markdown]
# 两个损失推动的方向相同（都让 $D(G(z))$ 变大），但在生成器最需要信号的时候，
# 极小极大损失传到生成器参数上的梯度要小得多：比一比上面打印的两个范数。
#
# ## 最优判别器
#
# 固定生成器，判别器要最大化
#
# $$V(D) = \mathbb{E}_{x\sim p_\text{data}}[\log D(x)] + \mathbb{E}_{x\sim p_g}[\log(1 - D(x))].$$
#
# 对每个 $x$ 单独看，$p_\text{data}\log D + p_g\log(1-D)$ 在 $D^* = p_\text{data}/(p_\text{data}+p_g)$ 处最大。
# 取 $p_\text{data}$ 为 $\pm 2$ 处两个标准差 0.5 的高斯的等权混合，$p_g$ 为 $\mathcal{N}(0, 1.5^2)$（一个“冻结”的生成器），
# 用样本训练一个判别器，看它是否学到了这个比值。

# %%
def mixture_density(x: torch.Tensor) -> torch.Tensor:
    normal = torch.distributions.Normal(centers.flatten(), std)
    return normal.log_prob(x[:, None]).exp().mean(dim=1)  # 两个分量等权


p_g_dist = torch.distributions.Normal(0.0, 1.5)
steps = dlbook.pick(quick=800, full=4000)
batch_size = dlbook.pick(quick=256, full=1024)
Dnet = MLPDiscriminator(1).to(device)
opt = torch.optim.Adam(Dnet.parameters(), lr=1e-3)
for step in range(steps):
    real = gaussian_mixture(batch_size, centers, std=std).to(device)
    fake = p_g_dist.sample((batch_size, 1)).to(device)
    loss = F.softplus(-Dnet(real)).mean() + F.softplus(Dnet(fake)).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()

x = torch.linspace(-4.5, 4.5, 301)
p_data, p_g = mixture_density(x), p_g_dist.log_prob(x).exp()
d_star = p_data / (p_data + p_g)
with torch.no_grad():
    d_learned = torch.sigmoid(Dnet(x[:, None].to(device))).cpu()
# 两个分布都几乎没有样本的地方，判别器学不到东西
where = (p_data + p_g) > 0.02
error = (d_learned - d_star)[where].abs()
print(
    f"训练 {steps} 步；在样本足够多的区间上 |D(x) − D*(x)| "
    f"最大 {error.max():.3f}，平均 {error.mean():.3f}"
)

# %%
fig, ax = plt.subplots(figsize=(7, 3.4), layout="constrained")
ax.fill_between(x, p_data, alpha=0.25, label=r"$p_\mathrm{data}$")
ax.fill_between(x, p_g, alpha=0.25, label=r"$p_g$")
ax.plot(
    x, d_star, color="black",
    label=r"$D^*(x)=p_\mathrm{data}/(p_\mathrm{data}+p_g)$",
)
ax.plot(x, d_learned, color="tab:red", linestyle="--", label="训练出的 D(x)")
ax.set(xlabel="x", ylabel="概率密度 / D(x)", ylim=(0, 1.05))
ax.legend(fontsize=8, loc="upper center", ncols=2)
show(fig)

# %% [markdown]
# ## 最优判别器下的目标值
#
# 把 $D^*$ 代回 $V$，得到 $V(D^*, G) = -\log 4 + 2\,\mathrm{JS}(p_\text{data}\,\|\,p_g)$：
# 生成器在最小化两个分布之间的詹森-香农散度，当且仅当 $p_g = p_\text{data}$ 时取到最小值 $-\log 4$。
# 用数值积分算出右边，再用训练出的判别器在大量样本上估计左边。任何判别器的 $V(D, G)$ 都不超过 $V(D^*, G)$，
# 训练出的判别器离 $D^*$ 越近，两者越接近。这说的是真值；左边的估计带有抽样误差，
# $D$ 已经很接近 $D^*$ 时，估计值可能略高于公式，只要高出的部分在误差之内就是相符的：

# %%
xi = torch.linspace(-12, 12, 4001, dtype=torch.float64)
# 积分的区间要比画图的宽：p_g 的标准差是 1.5，±4.5 之外还有 0.3% 的质量，
# 截掉它会让右边偏小约 0.002。区间放宽后 p_data 在远处下溢成 0，
# 所以下面用 xlogy（0·log 0 记作 0）而不是 p·log(p/q)
pi_data, pi_g = mixture_density(xi), p_g_dist.log_prob(xi).exp()
dx = xi[1] - xi[0]
m = (pi_data + pi_g) / 2


def kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:  # 数值积分
    return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum() * dx


js = 0.5 * kl(pi_data, m) + 0.5 * kl(pi_g, m)
n = dlbook.pick(quick=100_000, full=1_000_000)
with torch.no_grad():
    x_real = gaussian_mixture(n, centers, std=std, seed=1).to(device)
    log_d_real = -F.softplus(-Dnet(x_real))  # log D(x)
    x_fake = p_g_dist.sample((n, 1)).to(device)
    log_1m_d_fake = -F.softplus(Dnet(x_fake))  # log(1 - D(G(z)))
value = (log_d_real.mean() + log_1m_d_fake.mean()).item()
# 蒙特卡罗估计的标准误
stderr = math.sqrt((log_d_real.var() + log_1m_d_fake.var()).item() / n)
bound = -math.log(4) + 2 * js.item()
print(f"公式：-log 4 + 2·JS = {bound:.4f}")
print(
    f"训练出的判别器：V(D, G) ≈ {value:.4f} ± {2 * stderr:.4f}"
    f"（{n} 个样本，±2 倍标准误）"
)
gap = bound - value
if gap >= 0:
    print(f"估计值比公式低 {gap:.4f}：训练出的 D 还不是 D*")
elif -gap <= 2 * stderr:
    print(f"估计值比公式高 {-gap:.4f}，在抽样误差之内：D 已很接近 D*")
else:
    print(f"估计值比公式高 {-gap:.4f}，超出了抽样误差：计算有错")
