"""生成对抗网络：与模型无关的训练循环 :func:`train_gan`，以及高斯混合玩具数据与模式覆盖的度量。

:func:`train_gan` 交替训练判别器 D 与生成器 G，返回记录两者损失、D(x) 与 D(G(z)) 的 :class:`GANHistory`，
用法与分类器的 :func:`dlbook.train.fit` 相同：画图是另外一步。判别器输出的是 logits（没有经过 sigmoid），
损失都借助 ``softplus`` 写成数值稳定的形式（``-log σ(a) = softplus(-a)``）：

| ``loss`` | 判别器最小化 | 生成器最小化 |
| --- | --- | --- |
| ``"minimax"`` | ``-log D(x) - log(1 - D(G(z)))`` | ``log(1 - D(G(z)))`` |
| ``"non_saturating"`` | 同上 | ``-log D(G(z))`` |
| ``"wgan-gp"`` | ``f(G(z)) - f(x) + λ·GP`` | ``-f(G(z))`` |

高斯混合是观察模式崩溃（mode collapse）的标准玩具：:func:`ring_centers` 给出圆周上的若干个中心，
:func:`gaussian_mixture` 从中采样，:func:`modes_covered` 数生成的样本覆盖了几个模式。

>>> centers = ring_centers(8, radius=2.0)
>>> X = gaussian_mixture(2500, centers, std=0.05, seed=0)
>>> X.shape
torch.Size([2500, 2])
>>> # 真实数据：3 个标准差以内约占 1 - e^(-4.5)
>>> print(modes_covered(X, centers, std=0.05))
覆盖 8/8 个模式，高质量样本 98.6%
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from dlbook import fast as _fast
from dlbook._env import show_progress
from dlbook.device import model_device, to_device
from dlbook.fast import FastConfig
from dlbook.train import _reiterable, keep_modes

__all__ = [
    "Coverage",
    "GANHistory",
    "MLPDiscriminator",
    "MLPGenerator",
    "MinibatchStdDev",
    "gaussian_mixture",
    "generate",
    "modes_covered",
    "ring_centers",
    "train_gan",
]

GANLoss = Literal["non_saturating", "minimax", "wgan-gp"]
_LOSSES = ("non_saturating", "minimax", "wgan-gp")


# ---------------------------------------------------------------------------
# 训练记录
# ---------------------------------------------------------------------------


@dataclass
class GANHistory:
    """每轮一条（``epoch`` 到 ``seconds``）以及每步一条（``step_`` 开头）的训练记录。

    ``d_real`` 与 ``d_fake`` 是判别器对真样本和假样本给出的平均概率 D(x)、D(G(z))
    （判别器这一步更新之前量的）；``loss="wgan-gp"`` 时判别器是“评论家”，输出不是概率，
    这两项记录的是评论家打分的平均值。判别器损失是对真、假两个批量各自平均后的和，
    所以在平衡点（D 处处为 1/2）它等于 2 log 2 ≈ 1.386。

    >>> h = GANHistory(device="cpu")
    >>> h.epoch += [1]; h.d_loss += [1.30]; h.g_loss += [0.81]
    >>> h.d_real += [0.55]; h.d_fake += [0.45]; h.seconds += [2.5]
    >>> h.summary()
    'D 损失 1.300，G 损失 0.810，D(x) 0.550，D(G(z)) 0.450，2.5 秒（cpu）'
    """

    epoch: list[int] = field(default_factory=list)
    d_loss: list[float] = field(default_factory=list)  # 每轮判别器损失的平均
    g_loss: list[float] = field(default_factory=list)  # 每轮生成器损失的平均
    d_real: list[float] = field(default_factory=list)  # 每轮 D(x) 的平均
    d_fake: list[float] = field(default_factory=list)  # 每轮 D(G(z)) 的平均
    seconds: list[float] = field(default_factory=list)  # 每轮用时
    step_d_loss: list[float] = field(default_factory=list)  # 每个判别器步，各轮首尾相接
    step_g_loss: list[float] = field(default_factory=list)  # 每个生成器步
    step_d_real: list[float] = field(default_factory=list)
    step_d_fake: list[float] = field(default_factory=list)
    device: str = "cpu"

    def last(self) -> dict:
        """最后一轮的各项指标（外加 ``device``）。"""
        if not self.epoch:
            raise ValueError("GANHistory 还是空的：至少训练一轮后才有记录")
        keys = ("epoch", "d_loss", "g_loss", "d_real", "d_fake", "seconds")
        row = {key: getattr(self, key)[-1] for key in keys}
        row["device"] = self.device
        return row

    def summary(self) -> str:
        """最后一轮的一行中文小结。"""
        row = self.last()
        return (
            f"D 损失 {row['d_loss']:.3f}，G 损失 {row['g_loss']:.3f}，"
            f"D(x) {row['d_real']:.3f}，D(G(z)) {row['d_fake']:.3f}，"
            f"{row['seconds']:.1f} 秒（{self.device}）"
        )


# ---------------------------------------------------------------------------
# 损失
# ---------------------------------------------------------------------------


def _warn_batchwise_critic(critic: nn.Module) -> None:
    """WGAN-GP 的评论家里不该有让每个输出依赖整个批量的层：梯度惩罚约束的是单个样本处的梯度。"""
    names = sorted({
        type(m).__name__ for m in critic.modules()
        if isinstance(m, (nn.modules.batchnorm._BatchNorm, MinibatchStdDev))
    })  # fmt: skip
    if names:
        warnings.warn(
            f'loss="wgan-gp" 的梯度惩罚按单个样本计算，判别器里却有让输出依赖整个批量的层（{"、".join(names)}）：'
            "惩罚约束不到它实际的梯度。去掉这些层，或把批量归一化换成 nn.LayerNorm / nn.GroupNorm",
            UserWarning,
            stacklevel=3,
        )


def _gradient_penalty(discriminator: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
    """WGAN-GP 的梯度惩罚：在真假样本连线上的随机点处，让评论家梯度的范数接近 1。"""
    shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    alpha = torch.rand(shape, device=real.device, dtype=real.dtype)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(mixed).float().sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def _one_logit_each(out: Tensor, batch: int) -> Tensor:
    """判别器的输出展平成 ``(B,)`` 的 float32；不是每个样本一个数时报错，而不是拿错的形状悄悄训练下去。"""
    if out.numel() != batch:
        raise ValueError(
            f"判别器应对 {batch} 个样本各输出一个数（形状 ({batch},) 或 ({batch}, 1)），"
            f"而不是形状 {tuple(out.shape)}：图像尺寸与判别器的 image_size 不符，或者输出层不止一个输出？"
        )
    return out.reshape(-1).float()


def _d_loss(
    loss: GANLoss,
    discriminator: Callable[[Tensor], Tensor],  # 判别器，或 fast.prepare 给出的编译版本
    real: Tensor,
    fake: Tensor,
    gp_weight: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """判别器的损失，以及（不带梯度的）平均 D(x)、D(G(z))。"""
    # 混合精度时判别器输出 bfloat16 的 logits：损失一律在 float32 里算
    real_out = _one_logit_each(discriminator(real), real.shape[0])  # (B,)
    fake_out = _one_logit_each(discriminator(fake), fake.shape[0])  # (B,)
    if loss == "wgan-gp":
        value = fake_out.mean() - real_out.mean()
        value = value + gp_weight * _gradient_penalty(discriminator, real, fake)
        return value, real_out.detach().mean(), fake_out.detach().mean()
    # -log σ(a) = softplus(-a)，-log(1 - σ(a)) = softplus(a)：不会出现 log(0)
    value = F.softplus(-real_out).mean() + F.softplus(fake_out).mean()
    return value, torch.sigmoid(real_out.detach()).mean(), torch.sigmoid(fake_out.detach()).mean()


def _g_loss(loss: GANLoss, fake_out: Tensor) -> Tensor:
    if loss == "minimax":
        return -F.softplus(fake_out).mean()  # log(1 - D(G(z)))，越小越好
    if loss == "non_saturating":
        return F.softplus(-fake_out).mean()  # -log D(G(z))
    return -fake_out.mean()  # WGAN：让评论家给假样本打高分


# ---------------------------------------------------------------------------
# 训练循环
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_nonleaf_grad_warning(compiled: bool) -> Iterator[None]:
    """编译后的判别器收到生成器的输出（不是叶子张量）时，Dynamo 追踪它会读一次 ``.grad``，PyTorch 随之发出
    “非叶子张量的 .grad 不会被填充”的 UserWarning。训练并没有读这个属性，警告与用户的代码无关，只在这里关掉它。"""
    if not compiled:
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="The .grad attribute of a Tensor that is not a leaf", category=UserWarning
        )
        yield


def _real_batch(batch: Tensor | tuple | list) -> Tensor:
    """批量可以是张量，也可以是 ``(X, y)``：标签用不到，丢掉。"""
    return batch[0] if isinstance(batch, tuple | list) else batch


def train_gan(
    generator: nn.Module,
    discriminator: nn.Module,
    data: Iterable[Tensor] | Iterable[tuple[Tensor, Tensor]],
    *,
    epochs: int,
    g_optimizer: torch.optim.Optimizer,
    d_optimizer: torch.optim.Optimizer,
    latent_dim: int | None = None,
    loss: GANLoss = "non_saturating",
    d_steps: int = 1,
    gp_weight: float = 10.0,
    device: torch.device | str | None = None,
    progress: bool | None = None,
    on_epoch_end: Callable[[GANHistory], None] | None = None,
    fast: bool | FastConfig = False,
) -> GANHistory:
    """交替训练判别器和生成器 ``epochs`` 轮，返回 :class:`GANHistory`。

    每个真实批量做一步判别器更新：标准正态噪声 z 经生成器得到同样多的假样本，
    判别器把真样本往 1、假样本往 0 推。每 ``d_steps`` 个判别器步之后做一步生成器更新，
    它复用这一步的假样本，让（刚更新过的）判别器给它们打分，再把梯度传回生成器。

    Args:
        generator: 输入 ``(B, latent_dim)`` 的噪声，输出一个批量的样本。
        discriminator: 输入一个批量的样本，输出 ``(B,)`` 或 ``(B, 1)`` 的 logits（不要 sigmoid）。
        data: 产出真实样本批量的可迭代对象：张量，或 ``(X, y)``（标签不用）。
        epochs: 轮数；一轮是把 ``data`` 走一遍。
        g_optimizer: 拿到 ``generator.parameters()`` 的优化器。
        d_optimizer: 拿到 ``discriminator.parameters()`` 的优化器。
        latent_dim: 噪声维数；``None`` 时读 ``generator.latent_dim``。
        loss: ``"non_saturating"``（默认，Goodfellow 等人实际使用的生成器损失）、
            ``"minimax"``（原始的极小极大目标）或 ``"wgan-gp"``（Wasserstein 距离 + 梯度惩罚）。
            ``"wgan-gp"`` 的梯度惩罚按单个样本计算，判别器（评论家）里有批量归一化或
            :class:`MinibatchStdDev` 这种让输出依赖整个批量的层时发出警告（Gulrajani 等人建议改用层归一化）。
        d_steps: 每做一步生成器更新之前判别器更新几步（WGAN-GP 通常取 5）。
        gp_weight: ``"wgan-gp"`` 的梯度惩罚系数 λ。
        device: 在哪个设备上训练；给出时先把两个模型搬过去，``None`` 时用生成器参数所在的设备。
        progress: 是否显示 tqdm 进度条；``None`` 时只在终端里显示。
        on_epoch_end: 每轮结束时以当前记录调用，例如用固定的噪声画出这一轮的样本。
        fast: 快速训练路径，规则与 :func:`dlbook.train.fit` 相同（见 :mod:`dlbook.fast`）：``True`` 时在 CUDA 上
            用 bfloat16 自动混合精度和 channels_last，CPU 上什么也不做；``FastConfig(compile=True)`` 把生成器和
            判别器各自编译（大小与第一个批量不同的批量用原模型即时计算）。不支持 CUDA 图（一步里判别器要调用三次，前一次的输出还要用）；
            ``"wgan-gp"`` 不能编译（梯度惩罚要二阶导数，编译后的图不支持）。

    训练结束后两个模型恢复进入函数之前的训练/评估模式。

    >>> _ = torch.manual_seed(0)
    >>> G, D = nn.Linear(1, 1), nn.Linear(1, 1)
    >>> real = torch.randn(64, 1) + 3
    >>> h = train_gan(G, D, [real] * 50, epochs=2, latent_dim=1,
    ...               g_optimizer=torch.optim.Adam(G.parameters(), lr=0.05),
    ...               d_optimizer=torch.optim.Adam(D.parameters(), lr=0.05))
    >>> h.epoch, len(h.step_d_loss), len(h.step_g_loss)
    ([1, 2], 100, 100)
    >>> abs(G.bias.item() - 3) < 1  # 生成的样本移到了真实数据附近
    True
    """
    if loss not in _LOSSES:
        raise ValueError(f"loss 应为 {', '.join(map(repr, _LOSSES))} 之一，而不是 {loss!r}")
    if epochs < 0:
        raise ValueError(f"epochs 不能为负数：{epochs}")
    if d_steps < 1:
        raise ValueError(f"d_steps 应为正整数，而不是 {d_steps}")
    if isinstance(fast, FastConfig) and fast.cuda_graphs:
        raise ValueError(
            "train_gan 不支持 cuda_graphs=True：一步里判别器要对真样本、假样本各调用一次，"
            "生成器更新时再调用一次，CUDA 图会覆盖前一次调用还要用的输出。请用 FastConfig(compile=True)。"
        )
    if isinstance(fast, FastConfig) and fast.compile and loss == "wgan-gp":
        raise ValueError(
            'loss="wgan-gp" 不能与 compile=True 一起用：梯度惩罚要对判别器求二阶导数，'
            "torch.compile 编译出的图不支持二阶导数。请用 FastConfig(compile=False)。"
        )
    if epochs > 1:
        _reiterable(data, "data")
    if loss == "wgan-gp":
        _warn_batchwise_critic(discriminator)
    if latent_dim is None:
        latent_dim = getattr(generator, "latent_dim", None)
        if latent_dim is None:
            raise ValueError("生成器没有 latent_dim 属性：请传入 latent_dim=噪声维数")
    if device is not None:
        device = torch.device(device)
        generator.to(device)
        discriminator.to(device)
    else:
        device = model_device(generator)
    show = show_progress(progress)
    plan = _fast.plan(fast, device)
    g_model = _fast.prepare(generator, plan)  # 编译时是编译后的版本，与原模型共享参数
    d_model = _fast.prepare(discriminator, plan)
    history = GANHistory(device=str(device))
    step = 0

    with keep_modes(generator, discriminator):
        generator.train()
        discriminator.train()
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            d_rows: list[Tensor] = []  # 每个判别器步一行 (损失, D(x), D(G(z)))，留在设备上
            g_rows: list[Tensor] = []
            batches = tqdm(
                data, desc=f"第 {epoch} 轮", unit="批", leave=False, file=sys.stderr, disable=not show
            )
            for batch in batches:
                real = plan.batch(to_device(_real_batch(batch), device))
                step += 1
                g_turn = step % d_steps == 0
                z = torch.randn(real.shape[0], latent_dim, device=device)
                with torch.set_grad_enabled(g_turn), plan.autocast():  # 只有生成器要更新时才需要它的计算图
                    fake = g_model(z)

                d_optimizer.zero_grad(set_to_none=True)
                with plan.autocast():
                    d_loss, d_real, d_fake = _d_loss(loss, d_model, real, fake.detach(), gp_weight)
                d_loss.backward()
                d_optimizer.step()
                d_rows.append(torch.stack([d_loss.detach(), d_real, d_fake]))

                if g_turn:
                    g_optimizer.zero_grad(set_to_none=True)
                    with plan.autocast(), _quiet_nonleaf_grad_warning(plan.compile):
                        g_loss = _g_loss(loss, _one_logit_each(d_model(fake), fake.shape[0]))
                    g_loss.backward()  # 梯度也流进了判别器的参数，下一步判别器更新前会清零
                    g_optimizer.step()
                    g_rows.append(g_loss.detach())
            batches.close()
            if not d_rows:
                raise ValueError("训练数据是空的：没有任何批量")
            # 每轮只在这里与设备同步一次。
            d_table = torch.stack(d_rows).float().cpu()  # (判别器步数, 3)
            g_values = torch.stack(g_rows).float().cpu() if g_rows else torch.full((1,), math.nan)
            history.step_d_loss.extend(d_table[:, 0].tolist())
            history.step_d_real.extend(d_table[:, 1].tolist())
            history.step_d_fake.extend(d_table[:, 2].tolist())
            history.step_g_loss.extend(g_values.tolist() if g_rows else [])
            history.epoch.append(epoch)
            history.d_loss.append(d_table[:, 0].mean().item())
            history.d_real.append(d_table[:, 1].mean().item())
            history.d_fake.append(d_table[:, 2].mean().item())
            history.g_loss.append(g_values.mean().item())
            history.seconds.append(time.perf_counter() - start)
            if show:
                tqdm.write(f"第 {epoch} 轮：{history.summary()}", file=sys.stderr)
            if on_epoch_end is not None:
                on_epoch_end(history)
    return history


@torch.no_grad()
def generate(generator: nn.Module, z: Tensor) -> Tensor:
    """用噪声 ``z`` 生成一批样本（不记录梯度，结果放在 CPU 上）。

    生成器保持当前的训练/评估模式：训练中的 DCGAN 在训练模式下用这一批噪声自己的批量统计量
    （与它训练时看到的一致，也顺带更新批量归一化的滑动统计量）；训练结束后先 ``eval()`` 再生成，
    就改用训练中累积的统计量。

    >>> G = nn.Linear(2, 2)
    >>> generate(G, torch.zeros(5, 2)).shape
    torch.Size([5, 2])
    """
    device = model_device(generator)
    return generator(z.to(device)).cpu()


# ---------------------------------------------------------------------------
# 模式崩溃的一个补救：小批量标准差特征
# ---------------------------------------------------------------------------


class MinibatchStdDev(nn.Module):
    """在每个样本的特征后面拼上一个数：整个批量各特征标准差的平均（Karras 等人，ProGAN，2018）。

    判别器本来一次只看一个样本，无法知道“这一批假样本彼此几乎一样”；有了这个特征，
    生成器若把所有噪声都映射到同一个模式，判别器一眼就能从批量的多样性上认出它们。
    输入 ``(B, F)``，输出 ``(B, F + 1)``。

    >>> layer = MinibatchStdDev()
    >>> x = torch.tensor([[0.0, 1.0], [2.0, 1.0]])
    >>> layer(x)  # 两列的标准差（无偏）为 √2 和 0，平均 0.707
    tensor([[0.0000, 1.0000, 0.7071],
            [2.0000, 1.0000, 0.7071]])
    """

    def forward(self, x: Tensor) -> Tensor:
        std = x.std(dim=0, unbiased=x.shape[0] > 1).mean()  # 标量：批量的平均多样性
        return torch.cat([x, std.expand(x.shape[0], 1)], dim=1)  # (B, F) → (B, F + 1)


class MLPGenerator(nn.Module):
    """玩具数据用的生成器：噪声经过两个 ReLU 隐藏层，线性地输出一个 ``out_dim`` 维的点。

    Args:
        latent_dim: 噪声维数。
        out_dim: 样本维数（高斯混合是 2）。
        hidden: 隐藏层的宽度。

    >>> G = MLPGenerator(latent_dim=8)
    >>> G(torch.randn(5, 8)).shape
    torch.Size([5, 2])
    """

    def __init__(self, latent_dim: int = 8, *, out_dim: int = 2, hidden: int = 64) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.fc1 = nn.Linear(latent_dim, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, out_dim)
        self.relu = nn.ReLU()

    def forward(self, z: Tensor) -> Tensor:
        x = self.relu(self.fc1(z))  # (B, hidden)
        x = self.relu(self.fc2(x))  # (B, hidden)
        return self.fc3(x)  # (B, out_dim)


class MLPDiscriminator(nn.Module):
    """玩具数据用的判别器：两个 LeakyReLU 隐藏层，每个样本输出一个 logit。

    ``minibatch_std=True`` 时先用 :class:`MinibatchStdDev` 在输入后面拼上“这一批样本有多分散”，
    这是对付模式崩溃的一个简单办法。

    Args:
        in_dim: 样本维数。
        hidden: 隐藏层的宽度。
        minibatch_std: 是否加小批量标准差特征。

    >>> D = MLPDiscriminator(minibatch_std=True)
    >>> D(torch.randn(5, 2)).shape
    torch.Size([5])
    """

    def __init__(self, in_dim: int = 2, *, hidden: int = 64, minibatch_std: bool = False) -> None:
        super().__init__()
        self.mbstd = MinibatchStdDev() if minibatch_std else nn.Identity()
        self.fc1 = nn.Linear(in_dim + int(minibatch_std), hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, 1)
        self.lrelu = nn.LeakyReLU(0.2)

    def forward(self, x: Tensor) -> Tensor:
        x = self.mbstd(x)  # (B, in_dim) 或 (B, in_dim + 1)
        x = self.lrelu(self.fc1(x))  # (B, hidden)
        x = self.lrelu(self.fc2(x))  # (B, hidden)
        return self.fc3(x).flatten()  # (B,)


# ---------------------------------------------------------------------------
# 高斯混合与模式覆盖
# ---------------------------------------------------------------------------


def ring_centers(modes: int = 8, *, radius: float = 2.0) -> Tensor:
    """均匀分布在半径为 ``radius`` 的圆周上的 ``modes`` 个中心，形状 ``(modes, 2)``。

    >>> ring_centers(4, radius=1.0).round(decimals=3) + 0.0
    tensor([[ 1.,  0.],
            [ 0.,  1.],
            [-1.,  0.],
            [ 0., -1.]])
    """
    if modes < 1:
        raise ValueError(f"modes 应为正整数，而不是 {modes}")
    angle = torch.arange(modes, dtype=torch.float64) * (2 * math.pi / modes)
    return (radius * torch.stack([angle.cos(), angle.sin()], dim=1)).float()


def gaussian_mixture(
    n: int,
    centers: Tensor,
    *,
    std: float = 0.05,
    weights: Tensor | None = None,
    seed: int | None = None,
) -> Tensor:
    """从以 ``centers`` 为均值、各向同性标准差为 ``std`` 的高斯混合中采样 ``n`` 个点。

    Args:
        n: 样本数。
        centers: 形状 ``(k, d)`` 的均值；一维数据用 ``(k, 1)``。
        std: 每个分量的标准差。
        weights: 各分量的权重（不必归一化）；``None`` 表示等权。
        seed: 随机种子；``None`` 时用全局随机数生成器。

    Returns:
        形状 ``(n, d)`` 的 ``float32`` 张量。

    >>> X = gaussian_mixture(4, torch.tensor([[-1.0], [1.0]]), std=0.0, seed=0)
    >>> sorted(set(X.flatten().tolist())) in ([-1.0, 1.0], [-1.0], [1.0])
    True
    """
    if centers.ndim != 2:
        raise ValueError(f"centers 应为 (k, d) 的二维张量，收到的形状是 {tuple(centers.shape)}")
    k, d = centers.shape
    if n < 0:
        raise ValueError(f"n 不能为负数：{n}")
    if weights is not None:
        if tuple(weights.shape) != (k,):
            raise ValueError(f"weights 应有 {k} 个元素（每个中心一个），收到的形状是 {tuple(weights.shape)}")
        if not bool((weights >= 0).all()) or not float(weights.sum()) > 0:
            raise ValueError(f"weights 应非负、且不全为 0：{weights.tolist()}")
    if n == 0:
        return torch.empty(0, d)
    g = torch.Generator().manual_seed(seed) if seed is not None else None
    probs = torch.ones(k) if weights is None else weights.detach().cpu().float()
    index = torch.multinomial(probs, n, replacement=True, generator=g)  # 每个样本来自哪个分量
    noise = torch.randn(n, d, generator=g)
    return (centers.cpu().float()[index] + std * noise).float()


@dataclass(frozen=True)
class Coverage:
    """:func:`modes_covered` 的结果。"""

    modes: int  # 覆盖到的模式数
    total: int  # 模式总数
    high_quality: float  # 落在某个中心 3 个标准差以内的样本比例
    counts: tuple[int, ...] = field(default=(), repr=False)  # 每个模式附近的高质量样本数

    def __str__(self) -> str:
        return f"覆盖 {self.modes}/{self.total} 个模式，高质量样本 {self.high_quality:.1%}"


def modes_covered(
    samples: Tensor,
    centers: Tensor,
    *,
    std: float,
    threshold: float = 3.0,
    min_count: int = 20,
) -> Coverage:
    """生成的样本覆盖了高斯混合的几个模式。

    度量的做法与 Srivastava 等人（VEEGAN，2017）、Lin 等人（PacGAN，2018）等论文里的类似：
    离最近的中心不超过 ``threshold`` 个标准差的样本算“高质量”；一个模式附近至少有 ``min_count``
    个高质量样本才算被覆盖（本书的示例每次生成 2500 个样本）。那两篇论文只要 1 个高质量样本
    离某个中心最近就算覆盖，``min_count=1`` 就是它们的标准；默认的 20 更严，数字不能与论文直接比较。

    Args:
        samples: 形状 ``(n, d)`` 的生成样本。
        centers: 形状 ``(k, d)`` 的混合分量均值。
        std: 混合分量的标准差。
        threshold: 多少个标准差以内算高质量。
        min_count: 一个模式至少有多少个高质量样本才算被覆盖。

    >>> centers = torch.tensor([[0.0, 0.0], [5.0, 0.0]])
    >>> samples = torch.tensor([[0.1, 0.0]] * 30    # 第一个中心旁 30 个
    ...                        + [[5.0, 0.05]] * 5  # 第二个中心旁只有 5 个，不到 20
    ...                        + [[2.5, 0.0]] * 5)  # 两者中间的 5 个不算高质量
    >>> c = modes_covered(samples, centers, std=0.1)
    >>> c.modes, c.counts, c.high_quality
    (1, (30, 5), 0.875)
    >>> print(c)
    覆盖 1/2 个模式，高质量样本 87.5%
    """
    samples = samples.detach().cpu().float()
    centers = centers.detach().cpu().float()
    if samples.ndim != 2 or centers.ndim != 2 or samples.shape[1] != centers.shape[1]:
        raise ValueError(
            f"samples 与 centers 应为 (n, d) 与 (k, d)，收到的是 {tuple(samples.shape)} 与 "
            f"{tuple(centers.shape)}"
        )
    distance, nearest = torch.cdist(samples, centers).min(dim=1)  # 每个样本到最近中心的距离
    good = distance <= threshold * std
    counts = torch.bincount(nearest[good], minlength=centers.shape[0])
    return Coverage(
        modes=int((counts >= min_count).sum()),
        total=centers.shape[0],
        high_quality=good.float().mean().item() if len(samples) else 0.0,
        counts=tuple(counts.tolist()),
    )
