"""
随机梯度下降与小批量随机梯度下降
================================

在 $n$ 个样本上，一步（全批量）梯度下降要算 $n$ 个样本的梯度，代价是 $O(n)$；一步随机梯度下降只用一个样本，
代价是 $O(1)$，但它的梯度带着噪声。小批量随机梯度下降取两者之间：批量为 $b$ 时代价是 $O(b)$，
梯度噪声的方差大约按 $1/b$ 缩小。这个示例先在二维函数上看噪声对轨迹的影响，再在 Fashion-MNIST 的
softmax 回归上实测不同批量大小的梯度噪声、单步用时与训练曲线。
"""

# %%
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

import dlbook
from dlbook.bench import environment
from dlbook.data import fashion_mnist_tensors
from dlbook.optim import SGD
from dlbook.plot import show
from dlbook.text import pad

dlbook.seed_everything(0)
device = dlbook.get_device()
print("设备：", device, " 模式：", dlbook.current_mode())

# %% [markdown]
# ## 带噪声的梯度
#
# 仍用 $f(\mathbf{x}) = x_1^2 + 2x_2^2$，但每一步的梯度都加上标准正态噪声，模拟“只看了一个样本”的随机梯度。
# 学习率固定为 0.1 时，迭代到了谷底附近就在那里不停地抖动；让学习率随步数衰减
# （$\eta_t = 0.1\cdot 0.9^{t/5}$，指数衰减），噪声的影响也随之变小，迭代能停得更稳。

# %%
def noisy_descent(lr_at, steps: int = 50, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.tensor([-5.0, -2.0])
    path = [x.clone()]
    for t in range(steps):
        grad = torch.tensor([2 * x[0], 4 * x[1]]) + torch.randn(2, generator=g)
        x -= lr_at(t) * grad
        path.append(x.clone())
    return torch.stack(path)


schedules = {
    "固定学习率 0.1": lambda t: 0.1,
    "指数衰减的学习率": lambda t: 0.1 * 0.9 ** (t / 5),
}
fig, axes = plt.subplots(1, 2, figsize=(9, 3.3))
g1, g2 = torch.meshgrid(
    torch.linspace(-5.5, 1.5, 100), torch.linspace(-3, 3, 100), indexing="ij"
)
for ax, (name, lr_at) in zip(axes, schedules.items()):
    path = noisy_descent(lr_at)
    last = path[-10:]
    print(f"{name}：最后 10 步离最小值的平均距离 {last.norm(dim=1).mean():.3f}")
    ax.contour(
        g1, g2, g1**2 + 2 * g2**2,
        levels=12, colors="tab:blue", linewidths=0.6,
    )
    ax.plot(path[:, 0], path[:, 1], "o-", color="tab:orange", ms=2.5)
    ax.set(title=name, xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
fig.tight_layout()
show(fig)

# %% [markdown]
# ## 数据与模型
#
# 用 Fashion-MNIST 上的 softmax 回归：一个 $784\to 10$ 的线性层加交叉熵损失。它是凸问题，
# 各种批量大小的差别只来自优化算法本身。数据整体放在设备上，取批量只是索引。

# %%
n = dlbook.pick(quick=6000, full=60000)  # 训练样本数
X, y = fashion_mnist_tensors(
    "train", subset=n if n < 60000 else None, device=device
)
X = X.flatten(1)  # (n, 784)
# 画训练曲线时固定用这 2000 个样本估计训练损失
X_eval, y_eval = X[:2000], y[:2000]
print("训练数据：", tuple(X.shape))


def loss_and_grad(
    w: torch.Tensor, b: torch.Tensor, idx: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """在下标为 idx 的样本上的平均损失及其对 w 的梯度（展平）。"""
    loss = F.cross_entropy(X[idx] @ w + b, y[idx])
    (gw,) = torch.autograd.grad(loss, w)
    return loss.detach(), gw.flatten()


# %% [markdown]
# ## 梯度噪声与批量大小
#
# 固定一组参数，先在全部 $n$ 个样本上算出真正的梯度 $\mathbf{g}$，再对不同的批量大小 $b$
# 各抽 50 个不放回的小批量，看小批量梯度 $\mathbf{g}_b$ 偏离 $\mathbf{g}$ 的均方距离。
# 统计上它应当是 $\frac{\sigma^2}{b}\cdot\frac{n-b}{n-1}$，其中 $\sigma^2 = \frac1n\sum_i\|\mathbf{g}_i-\mathbf{g}\|^2$
# 是单个样本梯度的方差：$b$ 每大 10 倍，噪声就小 10 倍，而一步的计算量大 10 倍。
#
# $\sigma^2$ 需要每个样本各自的梯度 $\mathbf{g}_i$。`torch.func.vmap(torch.func.grad(...))` 把“对一个样本求梯度”
# 向量化到一批样本上，一次得到它们；这里分块计算，免得 $n\times 7840$ 个数同时占着内存。

# %%
from torch.func import grad, vmap

w = (0.01 * torch.randn(784, 10, device=device)).requires_grad_()
b = torch.zeros(10, device=device)
_, g_full = loss_and_grad(w, b, torch.arange(n, device=device))


def sample_loss(
    w: torch.Tensor, x: torch.Tensor, t: torch.Tensor
) -> torch.Tensor:
    return F.cross_entropy((x @ w + b)[None], t[None])


per_sample = vmap(grad(sample_loss), in_dims=(None, 0, 0))
squared_sum = 0.0
for i in range(0, n, 1000):
    grads = per_sample(w.detach(), X[i : i + 1000], y[i : i + 1000]).flatten(1)
    squared_sum += (grads - g_full).square().sum().item()
sigma2 = squared_sum / n

gen = torch.Generator(device=device).manual_seed(0)
batch_sizes = [1, 4, 16, 64, 256, 1024]
noise = []
for bs in batch_sizes:
    deviations = []
    for _ in range(50):
        idx = torch.randperm(n, device=device, generator=gen)[:bs]
        g_b = loss_and_grad(w, b, idx)[1]
        deviations.append((g_b - g_full).square().sum())
    noise.append(torch.stack(deviations).mean().item())
theory = [sigma2 / bs * (n - bs) / (n - 1) for bs in batch_sizes]
print(f"单个样本梯度的方差 σ² = {sigma2:.3e}")
for bs, v, t in zip(batch_sizes, noise, theory):
    print(f"b = {bs:>4}：实测 E‖g_b - g‖² = {v:.3e}，"
          f"理论值 {t:.3e}，比值 {v / t:.2f}")

fig, ax = plt.subplots(figsize=(4.5, 3))
ax.loglog(batch_sizes, noise, "o", label="实测（50 个小批量的平均）")
formula = r"$\frac{\sigma^2}{b}\cdot\frac{n-b}{n-1}$"
ax.loglog(batch_sizes, theory, "--", label=formula)
ax.set(xlabel="批量大小 $b$", ylabel=r"$E\,\|\mathbf{g}_b-\mathbf{g}\|^2$")
ax.legend()
show(fig)

# %% [markdown]
# 50 个小批量的平均本身也有随机误差，所以实测值在理论值上下一二成的范围内波动，但斜率为 $-1$ 的直线关系很清楚。

# %% [markdown]
# ## 训练：同样的轮数，不同的批量
#
# 下面用全批量梯度下降（$b = n$）、随机梯度下降（$b = 1$）和三种小批量分别训练相同的轮数，
# 学习率各自调过（批量越小、噪声越大，学习率就要越小）。每经过 $n/10$ 个样本记一次训练损失和已用的时间
# （记录损失的时间不计入）。优化器用的是 `dlbook.optim.SGD`。

# %%
epochs = dlbook.pick(quick=2, full=3)
settings = {n: 0.2, 1000: 0.2, 100: 0.1, 10: 0.05, 1: 0.005}  # 批量大小: 学习率


def train(batch_size: int, lr: float) -> dict[str, list[float]]:
    torch.manual_seed(0)
    w = torch.zeros(784, 10, device=device, requires_grad=True)
    b = torch.zeros(10, device=device, requires_grad=True)
    opt = SGD([w, b], lr=lr)
    record = {"epoch": [], "loss": [], "seconds": []}
    every, seen, next_mark, elapsed = n // 10, 0, 0, 0.0

    def log() -> None:
        with torch.no_grad():
            eval_loss = F.cross_entropy(X_eval @ w + b, y_eval)
            record["loss"].append(eval_loss.item())
        record["epoch"].append(seen / n)
        record["seconds"].append(elapsed)

    log()
    for _ in range(epochs):
        order = torch.randperm(n, device=device)
        start = time.perf_counter()
        for i in range(0, n, batch_size):
            idx = order[i : i + batch_size]
            loss = F.cross_entropy(X[idx] @ w + b, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += len(idx)
            if seen >= next_mark + every:
                next_mark = seen - seen % every
                if device.type == "cuda":
                    torch.cuda.synchronize()
                elapsed += time.perf_counter() - start
                log()
                start = time.perf_counter()
        elapsed += time.perf_counter() - start
    return record


print(environment(device))  # 用时取决于机器：先印出是哪台机器、忙不忙
records = {}
print(pad("批量 b", 6, align=">"), pad("学习率", 7, align=">"),
      pad("步数", 7, align=">"), pad("用时（秒）", 11, align=">"),
      pad("每步（毫秒）", 13, align=">"), pad("最后的训练损失", 15, align=">"))
for batch_size, lr in settings.items():
    records[batch_size] = r = train(batch_size, lr)
    steps = epochs * -(-n // batch_size)
    seconds = r["seconds"][-1]
    print(f"{batch_size:>6} {lr:>7} {steps:>7} {seconds:11.2f} "
          f"{1e3 * seconds / steps:13.3f} {r['loss'][-1]:15.3f}")

fig, axes = plt.subplots(1, 2, figsize=(8, 3.3), sharey=True)
for batch_size, r in records.items():
    if batch_size == n:
        label = "梯度下降"
    elif batch_size == 1:
        label = "随机梯度下降"
    else:
        label = f"小批量 {batch_size}"
    style = "o-" if batch_size == n else "-"
    axes[0].plot(r["epoch"], r["loss"], style, ms=4, label=label)
    # 第一个记录点在 0 秒，对数轴上画不出来
    axes[1].plot(r["seconds"][1:], r["loss"][1:], style, ms=4, label=label)
# 完整模式训练得更久，最低的曲线可能低于 0.4：下限跟着它走
lowest = min(min(r["loss"]) for r in records.values())
axes[0].set(
    xlabel="轮数（已处理的样本 / n）", ylabel="训练损失（2000 个训练样本上）",
    ylim=(min(0.4, lowest - 0.05), 2.4),
)
axes[1].set(xlabel="训练用时（秒，对数坐标）", xscale="log")
# 右图的右上角是空的；放在左图会盖住梯度下降的曲线
axes[1].legend(loc="upper right")
fig.tight_layout()
show(fig)

# %% [markdown]
# 按轮数看，每轮的更新次数越多，损失下降得越快，全批量梯度下降一轮只走一步，远远落在后面。
# 但 $b = 1$ 和 $b = 10$ 两条曲线几乎重合：两者的学习率按每个样本算是一样的（$0.005$），
# 批量小到一定程度后，更多的更新次数并不带来更多的进展。
#
# 按时间看，结论取决于硬件和机器当时的负载。$b = 1$ 每一步都要付一次 Python 调用和内核启动的固定开销，
# 算力大部分闲着；批量大了，向量化让每个样本的平均代价降下来，但每轮的更新次数变少。
# 下面从这次运行的记录算出每个样本的平均用时，以及各个小批量把训练损失降到同一个值各用了多久
# （这个值取小批量里最后损失最高的那个，所以它们都到得了）：

# %%
target = max(r["loss"][-1] for b, r in records.items() if b != n)
reach = {}
print(pad("批量 b", 6, align=">"), pad("每个样本（微秒）", 17, align=">"),
      pad(f"降到 {target:.3f}（秒）", 17, align=">"))
for batch_size, r in records.items():
    per_sample = 1e6 * r["seconds"][-1] / (epochs * n)
    if batch_size != n:
        # 第一个不高于目标的记录点
        first = next(i for i, loss in enumerate(r["loss"]) if loss <= target)
        reach[batch_size] = r["seconds"][first]
    at = f"{reach[batch_size]:.2f}" if batch_size in reach else "到不了"
    print(f"{batch_size:>6} {per_sample:17.1f} {at:>17}")
fastest = min(reach, key=reach.get)
print(f"这次运行里最先降到 {target:.3f} 的是批量 {fastest}")

# %% [markdown]
# 在空闲的 CPU 上，通常是几十到几百的批量最先到达：每个样本的代价已经降得差不多，每轮还有足够多的更新次数。
# 在 GPU 上，这么小的模型每一步的用时几乎全是启动内核的固定开销，批量从 10 到 1000 每步都差不多快，
# 更大的批量更占便宜，最先到达的可能是最大的那个小批量。
# 这就是深度学习默认使用小批量随机梯度下降的原因。机器很忙时（例如与别的任务共用两个 CPU 核），
# 多线程的矩阵乘法会被拖慢好几倍，排名可能完全不同——上表是这次运行的实测。
