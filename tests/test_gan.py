"""DCGAN 的逐层形状、GAN 训练循环的记录，以及模式崩溃的补救确实让生成器覆盖更多模式。"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlbook import fast as fast_path
from dlbook import gan as gan_mod  # 损失函数是私有的：直接对照公式
from dlbook.data import TensorLoader
from dlbook.fast import FastConfig
from dlbook.gan import (
    GANHistory,
    MinibatchStdDev,
    MLPDiscriminator,
    MLPGenerator,
    gaussian_mixture,
    generate,
    modes_covered,
    ring_centers,
    train_gan,
)
from dlbook.models.dcgan import Discriminator, Generator

pytestmark = pytest.mark.usefixtures("one_thread")  # 这里的网络都很小：单线程更快（见 conftest）


# 文档字符串（和 forward 的形状注释）里写的各层输出形状，w 是 width。
G_SHAPES = {
    32: {"conv1": (4, 4, 4), "conv2": (2, 8, 8), "conv3": (1, 16, 16), "conv4": (None, 32, 32)},
    28: {"conv1": (4, 3, 3), "conv2": (2, 7, 7), "conv3": (1, 14, 14), "conv4": (None, 28, 28)},
}
D_SHAPES = {
    32: {"conv1": (1, 16, 16), "conv2": (2, 8, 8), "conv3": (4, 4, 4), "conv4": (None, 1, 1)},
    28: {"conv1": (1, 14, 14), "conv2": (2, 7, 7), "conv3": (4, 3, 3), "conv4": (None, 1, 1)},
}


def _record_shapes(model: nn.Module, x: torch.Tensor) -> tuple[dict[str, tuple[int, ...]], torch.Tensor]:
    """在每个子模块上挂前向钩子，记下它的输出形状（共用的激活函数会被调用多次，只留最后一次）。"""
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [
        module.register_forward_hook(lambda m, args, out, name=name: shapes.__setitem__(name, tuple(out.shape)))
        for name, module in model.named_children()
    ]
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        for h in hooks:
            h.remove()
    return shapes, out


def _expected(table: dict, width: int, channels: int, batch: int) -> dict[str, tuple[int, ...]]:
    return {
        name: (batch, channels if mult is None else mult * width, h, w)
        for name, (mult, h, w) in table.items()
    }


@pytest.mark.parametrize("image_size", [28, 32])
@pytest.mark.parametrize("channels", [1, 3])
def test_generator_layer_shapes(image_size: int, channels: int) -> None:
    torch.manual_seed(0)
    width, latent, batch = 8, 16, 3
    G = Generator(latent, image_size=image_size, channels=channels, width=width)
    shapes, out = _record_shapes(G, torch.randn(batch, latent))
    expected = _expected(G_SHAPES[image_size], width, channels, batch)
    for name, shape in expected.items():
        assert shapes[name] == shape, name
        bn = name.replace("conv", "bn")
        if bn in shapes:  # 批量归一化不改变形状
            assert shapes[bn] == shape, bn
    assert out.shape == (batch, channels, image_size, image_size)
    assert out.abs().max() <= 1  # tanh 输出


@pytest.mark.parametrize("image_size", [28, 32])
@pytest.mark.parametrize("channels", [1, 3])
def test_discriminator_layer_shapes(image_size: int, channels: int) -> None:
    torch.manual_seed(0)
    width, batch = 8, 3
    D = Discriminator(image_size=image_size, channels=channels, width=width)
    shapes, out = _record_shapes(D, torch.randn(batch, channels, image_size, image_size))
    for name, shape in _expected(D_SHAPES[image_size], width, 1, batch).items():
        assert shapes[name] == shape, name
    assert "bn1" not in dict(D.named_children())  # 第一层之后不加批量归一化
    assert out.shape == (batch,)


def test_generator_accepts_4d_noise_and_default_width() -> None:
    G = Generator()
    assert G.latent_dim == 100 and G.image_size == 32
    assert G(torch.randn(2, 100, 1, 1)).shape == (2, 1, 32, 32)
    # 与 DCGAN 的 PyTorch 教程同量级：约 100 万个参数
    assert 0.5e6 < sum(p.numel() for p in G.parameters()) < 2e6


def test_dcgan_rejects_other_sizes() -> None:
    with pytest.raises(ValueError, match="28 或 32"):
        Generator(image_size=64)
    with pytest.raises(ValueError, match="28 或 32"):
        Discriminator(image_size=30)


def test_dcgan_init_follows_the_paper() -> None:
    torch.manual_seed(0)
    for model in (Generator(width=32), Discriminator(width=32)):  # 两个网络都按论文初始化
        assert abs(model.conv2.weight.std().item() - 0.02) < 0.002, type(model).__name__
        assert abs(model.bn2.weight.mean().item() - 1) < 0.01, type(model).__name__


def test_dcgan_activations_are_the_papers() -> None:
    # 形状对了还不够：生成器的输出是 tanh（不是 sigmoid），判别器用斜率 0.2 的 LeakyReLU（不是 ReLU）
    torch.manual_seed(0)
    G, D = Generator(16, image_size=28, width=8), Discriminator(image_size=28, width=8)
    before_tanh = []
    G.conv4.register_forward_hook(lambda module, args, out: before_tanh.append(out))
    with torch.no_grad():
        out = G(torch.randn(4, 16))
    torch.testing.assert_close(out, torch.tanh(before_tanh[0]))
    assert out.min() < 0 < out.max()
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        h = F.leaky_relu(D.conv1(x), 0.2)
        h = F.leaky_relu(D.bn2(D.conv2(h)), 0.2)
        h = F.leaky_relu(D.bn3(D.conv3(h)), 0.2)
        torch.testing.assert_close(D(x), D.conv4(h).flatten())


def _tiny_image_run(**options) -> tuple[GANHistory, nn.Module, nn.Module]:
    torch.manual_seed(0)
    G, D = Generator(8, image_size=28, width=4), Discriminator(image_size=28, width=4)
    if options.get("loss") == "wgan-gp":  # WGAN-GP 的评论家不用批量归一化（否则 train_gan 警告）
        D.bn2, D.bn3 = nn.Identity(), nn.Identity()
    X = torch.rand(24, 1, 28, 28) * 2 - 1
    loader = TensorLoader(X, torch.zeros(24), batch_size=8)
    history = train_gan(
        G, D, loader, epochs=2,
        g_optimizer=torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999)),
        d_optimizer=torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999)),
        **options,
    )  # fmt: skip
    return history, G, D


def test_train_gan_history_is_sane() -> None:
    seen = []
    history, G, D = _tiny_image_run(on_epoch_end=lambda h: seen.append(len(h.epoch)), progress=False)
    assert history.epoch == [1, 2] and seen == [1, 2]
    assert len(history.step_d_loss) == len(history.step_g_loss) == 6  # 3 个批量 × 2 轮
    assert len(history.step_d_real) == len(history.step_d_fake) == 6
    for key in ("d_loss", "g_loss", "d_real", "d_fake", "seconds"):
        values = getattr(history, key)
        assert len(values) == 2 and all(math.isfinite(v) for v in values), key
    assert all(0 < v < 1 for v in history.d_real + history.d_fake)  # 概率
    assert all(v > 0 for v in history.d_loss + history.g_loss)  # 非饱和损失是正的
    assert history.seconds[0] > 0 and history.device == "cpu"
    assert history.last()["epoch"] == 2 and history.last()["device"] == "cpu"
    with pytest.raises(ValueError, match="空"):
        GANHistory().last()
    assert "D(G(z))" in history.summary()
    assert G.training and D.training


@pytest.mark.parametrize("eval_before", [(True, False), (False, True), (True, True)])
def test_train_gan_trains_in_train_mode_then_restores_modes(eval_before) -> None:
    torch.manual_seed(0)
    G, D = nn.Linear(3, 2), MLPDiscriminator(hidden=8)
    seen = []  # 每次前向时两个模型所处的模式
    for model in (G, D):
        model.register_forward_pre_hook(lambda module, args: seen.append(module.training))
    for model, to_eval in zip((G, D), eval_before):
        model.train(not to_eval)
    history = train_gan(
        G, D, [torch.randn(16, 2)] * 4, epochs=1, latent_dim=3,
        g_optimizer=torch.optim.SGD(G.parameters(), lr=0.01),
        d_optimizer=torch.optim.SGD(D.parameters(), lr=0.01),
        device="cpu",  # 设备名也行
    )  # fmt: skip
    assert seen and all(seen)  # 训练时（BatchNorm、Dropout 的行为）总在训练模式
    assert (G.training, D.training) == tuple(not e for e in eval_before)
    assert len(history.step_d_loss) == 4 and history.device == "cpu"


def test_train_gan_restores_each_submodule_mode() -> None:
    # 只恢复顶层的模式（model.train(flag)）会把特意设成评估模式的子模块也改掉
    G, D = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)), MLPDiscriminator(hidden=8)
    G[1].eval()
    train_gan(
        G, D, [torch.randn(16, 2)] * 2, epochs=1, latent_dim=3,
        g_optimizer=torch.optim.SGD(G.parameters(), lr=0.01),
        d_optimizer=torch.optim.SGD(D.parameters(), lr=0.01),
    )  # fmt: skip
    assert [m.training for m in G] == [True, False] and D.training


def test_the_first_generator_step_comes_after_d_steps_discriminator_steps() -> None:
    torch.manual_seed(0)
    G, D = MLPGenerator(4, hidden=8), MLPDiscriminator(hidden=8)
    history = train_gan(
        G, D, [torch.randn(16, 2)], epochs=3, d_steps=2,  # 每轮只有一个批量
        g_optimizer=torch.optim.SGD(G.parameters(), lr=0.01),
        d_optimizer=torch.optim.SGD(D.parameters(), lr=0.01),
    )  # fmt: skip
    assert len(history.step_d_loss) == 3 and len(history.step_g_loss) == 1
    assert math.isnan(history.g_loss[0]) and math.isfinite(history.g_loss[1]) and math.isnan(history.g_loss[2])


@pytest.mark.parametrize("progress", [False, True])
def test_train_gan_prints_a_line_per_epoch_only_with_progress(capsys, progress) -> None:
    _tiny_image_run(progress=progress)
    err = capsys.readouterr().err
    assert ("第 1 轮：" in err and "第 2 轮：" in err) is progress
    if not progress:
        assert err == ""


def test_wgan_gp_default_weight_is_the_papers_ten() -> None:
    default, _, _ = _tiny_image_run(loss="wgan-gp")
    ten, _, _ = _tiny_image_run(loss="wgan-gp", gp_weight=10.0)
    zero, _, _ = _tiny_image_run(loss="wgan-gp", gp_weight=0.0)
    assert default.step_d_loss == ten.step_d_loss != zero.step_d_loss


@pytest.mark.parametrize("batchwise", ["bn", "std", None])
def test_wgan_gp_warns_about_layers_that_mix_the_batch(batchwise) -> None:
    G = MLPGenerator(4, hidden=8)
    D = Discriminator(image_size=28, width=4) if batchwise == "bn" else MLPDiscriminator(
        hidden=8, minibatch_std=batchwise == "std")
    data = [torch.randn(8, 1, 28, 28) if batchwise == "bn" else torch.randn(8, 2)]
    if batchwise == "bn":
        G = nn.Sequential(nn.Linear(4, 28 * 28), nn.Unflatten(1, (1, 28, 28)))
    opts = dict(epochs=1, latent_dim=4, loss="wgan-gp",
                g_optimizer=torch.optim.SGD(G.parameters(), lr=0.01),
                d_optimizer=torch.optim.SGD(D.parameters(), lr=0.01))
    if batchwise is None:
        train_gan(G, D, data, **opts)  # 警告会被当成错误（pyproject.toml 的 filterwarnings）
        return
    name = "BatchNorm2d" if batchwise == "bn" else "MinibatchStdDev"
    with pytest.warns(UserWarning, match=f"按单个样本.*{name}") as caught:
        train_gan(G, D, data, **opts)
    assert caught[0].filename == __file__  # 指向调用 train_gan 的代码
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train_gan(G, D, data, **{**opts, "loss": "non_saturating"})  # 别的损失不警告


def test_minimax_loss_is_negative_and_wgan_uses_d_steps() -> None:
    history, _, _ = _tiny_image_run(loss="minimax")
    assert all(v < 0 for v in history.step_g_loss)  # log(1 - D(G(z))) < 0
    history, _, _ = _tiny_image_run(loss="wgan-gp", d_steps=3)
    assert len(history.step_d_loss) == 6 and len(history.step_g_loss) == 2


def _mlp_pair() -> tuple[MLPGenerator, MLPDiscriminator, dict]:
    """一对小的多层感知机 GAN，以及 train_gan 要的两个优化器（关键字参数）。"""
    G, D = MLPGenerator(), MLPDiscriminator()
    opts = dict(
        g_optimizer=torch.optim.SGD(G.parameters(), lr=0.1),
        d_optimizer=torch.optim.SGD(D.parameters(), lr=0.1),
    )
    return G, D, opts


def test_train_gan_rejects_bad_arguments() -> None:
    G, D, opts = _mlp_pair()
    with pytest.raises(ValueError, match="loss"):
        train_gan(G, D, [torch.zeros(4, 2)], epochs=1, loss="hinge", **opts)
    with pytest.raises(ValueError, match="epochs"):
        train_gan(G, D, [torch.zeros(4, 2)], epochs=-1, **opts)
    with pytest.raises(ValueError, match="d_steps"):
        train_gan(G, D, [torch.zeros(4, 2)], epochs=1, d_steps=0, **opts)
    with pytest.raises(ValueError, match="latent_dim"):
        train_gan(nn.Linear(2, 2), D, [torch.zeros(4, 2)], epochs=1, **opts)
    with pytest.raises(ValueError, match="空"):
        train_gan(G, D, [], epochs=1, **opts)


def test_train_gan_refuses_a_discriminator_that_is_not_one_logit_per_sample() -> None:
    G, D, opts = _mlp_pair()
    with pytest.raises(ValueError, match=r"判别器应对 4 个样本各输出一个数.*\(4, 2\)"):
        train_gan(G, nn.Linear(2, 2), [torch.zeros(4, 2)], epochs=1, **opts)
    # DCGAN 的判别器按 32×32 搭建，喂进 64×64 的图像时每张图给出 25 个数
    G32, D32 = Generator(latent_dim=8, image_size=32, width=4), Discriminator(image_size=32, width=4)
    with pytest.raises(ValueError, match=r"而不是形状 \(50,\)"):
        train_gan(
            G32, D32, [torch.zeros(2, 1, 64, 64)], epochs=1,
            g_optimizer=torch.optim.SGD(G32.parameters(), lr=0.1),
            d_optimizer=torch.optim.SGD(D32.parameters(), lr=0.1),
        )  # fmt: skip


def test_train_gan_refuses_data_it_can_walk_only_once_when_there_are_more_epochs() -> None:
    G, D, opts = _mlp_pair()
    with pytest.raises(ValueError, match="data 只能遍历一次"):
        train_gan(G, D, iter([torch.zeros(4, 2)]), epochs=2, **opts)
    assert train_gan(G, D, iter([torch.zeros(4, 2)]), epochs=1, **opts).epoch == [1]  # 一轮就够了


def test_gaussian_mixture_checks_weights_and_n() -> None:
    centers = ring_centers(8)
    with pytest.raises(ValueError, match=r"weights 应有 8 个元素.*\(2,\)"):
        gaussian_mixture(100, centers, weights=torch.ones(2))
    with pytest.raises(ValueError, match=r"weights 应有 8 个元素.*\(9,\)"):
        gaussian_mixture(100, centers, weights=torch.ones(9))
    with pytest.raises(ValueError, match="非负"):
        gaussian_mixture(100, centers, weights=torch.zeros(8))
    with pytest.raises(ValueError, match="非负"):
        gaussian_mixture(100, centers, weights=torch.tensor([-1.0] + [1.0] * 7))
    with pytest.raises(ValueError, match="n 不能为负数"):
        gaussian_mixture(-1, centers)
    assert gaussian_mixture(0, centers).shape == (0, 2)
    uneven = torch.tensor([0.0] * 7 + [1.0])  # 全部来自最后一个中心
    assert torch.equal(gaussian_mixture(5, centers, std=0.0, weights=uneven, seed=0), centers[-1].expand(5, 2))


def test_fast_on_cpu_is_the_plain_path_exactly() -> None:
    # CPU 上 fast=True 不打开混合精度和 channels_last：每一步的损失逐位相同。
    plain, _, _ = _tiny_image_run()
    fast, _, _ = _tiny_image_run(fast=True)
    assert fast.step_d_loss == plain.step_d_loss
    assert fast.step_g_loss == plain.step_g_loss


def test_fast_cuda_only_parts_run_on_cpu_too(monkeypatch) -> None:
    # 把只在 CUDA 上打开的 bfloat16 autocast 与 channels_last 强行在 CPU 上打开，检查 GAN 循环的这条路径：
    # 判别器真的在 bfloat16 里算、损失仍是 float32 且有限、两个模型的卷积权重变成 NHWC、参数仍是 float32。
    monkeypatch.setattr(
        fast_path, "plan", lambda fast, device: fast_path.FastPlan("cpu", amp=True, channels_last=True)
    )
    dtypes = []
    original = Discriminator.forward

    def recording_forward(self, x):
        out = original(self, x)
        dtypes.append(out.dtype)
        return out

    monkeypatch.setattr(Discriminator, "forward", recording_forward)
    history, G, D = _tiny_image_run(fast=True)
    assert dtypes and all(dtype == torch.bfloat16 for dtype in dtypes)
    assert all(math.isfinite(v) for v in history.step_d_loss + history.step_g_loss)
    assert all(0 < v < 1 for v in history.d_real + history.d_fake)
    for model in (G, D):
        assert model.conv2.weight.is_contiguous(memory_format=torch.channels_last)
        assert all(p.dtype == torch.float32 for p in model.parameters())
    monkeypatch.undo()
    plain, _, _ = _tiny_image_run()
    # bfloat16 只有 8 位有效数字：第一步的判别器损失与 float32 相差在 1% 以内
    assert history.step_d_loss[0] == pytest.approx(plain.step_d_loss[0], rel=0.01)


def test_train_gan_fast_rejects_what_it_cannot_do() -> None:
    with pytest.raises(ValueError, match="cuda_graphs"):
        _tiny_image_run(fast=FastConfig(compile=True, cuda_graphs=True))
    with pytest.raises(ValueError, match="wgan-gp.*二阶导数"):
        _tiny_image_run(loss="wgan-gp", fast=FastConfig(compile=True))
    with pytest.raises(TypeError, match="FastConfig"):
        _tiny_image_run(fast="yes")


@pytest.mark.slow
def test_train_gan_compiled_on_cpu_matches_the_plain_path() -> None:
    # 生成器和判别器各自编译（CPU 上生成 C++ 代码，第一次要十几秒）：损失与未编译时只差浮点舍入。
    def run(fast, tail=True):
        torch.manual_seed(0)
        G, D = MLPGenerator(4, hidden=16), MLPDiscriminator(hidden=16)
        data = [gaussian_mixture(64, ring_centers(4), std=0.05, seed=i) for i in range(8)]
        if tail:
            data.append(gaussian_mixture(40, ring_centers(4), std=0.05, seed=8))  # 最后一个批量不满
        return train_gan(
            G, D, data, epochs=2,
            g_optimizer=torch.optim.Adam(G.parameters(), lr=1e-3),
            d_optimizer=torch.optim.Adam(D.parameters(), lr=1e-3),
            fast=fast,
        ), G  # fmt: skip

    def compiled_run(tail: bool):
        torch._dynamo.reset()
        torch._dynamo.utils.counters.clear()
        history, G = run(FastConfig(compile=True), tail=tail)
        return history, G, torch._dynamo.utils.counters["stats"]["unique_graphs"]

    plain, _ = run(False)
    compiled, G, graphs = compiled_run(tail=True)
    # 不满的批量走即时模式：编译的图与只有整批时一样多，没有为新的批量大小重新编译
    assert graphs == compiled_run(tail=False)[2] > 0
    assert type(G) is MLPGenerator  # 训练的是原模型，编译后的模块与它共享参数
    assert compiled.step_d_loss == pytest.approx(plain.step_d_loss, rel=1e-3, abs=1e-5)
    assert compiled.step_g_loss == pytest.approx(plain.step_g_loss, rel=1e-3, abs=1e-5)


def test_minibatch_stddev_matches_formula() -> None:
    x = torch.randn(10, 5)
    out = MinibatchStdDev()(x)
    assert out.shape == (10, 6)
    torch.testing.assert_close(out[:, :5], x)
    torch.testing.assert_close(out[:, 5], x.std(dim=0).mean().expand(10))
    # 所有样本都一样时特征为 0：判别器由此认出“没有多样性”
    assert MinibatchStdDev()(torch.ones(4, 3))[:, 3].abs().max() == 0
    assert MinibatchStdDev()(torch.ones(1, 3)).shape == (1, 4)  # 单个样本也不出 NaN 警告


def test_gaussian_mixture_and_coverage() -> None:
    centers = ring_centers(8, radius=2.0)
    assert torch.allclose(centers.norm(dim=1), torch.full((8,), 2.0))
    X = gaussian_mixture(4000, centers, std=0.05, seed=0)
    assert torch.equal(X, gaussian_mixture(4000, centers, std=0.05, seed=0))
    full = modes_covered(X, centers, std=0.05)
    assert full.modes == 8 and full.total == 8 and full.high_quality > 0.97
    assert sum(full.counts) == round(full.high_quality * 4000)
    # 只从前 3 个模式采样：覆盖 3 个
    three = gaussian_mixture(2500, centers, std=0.05, weights=torch.tensor([1.0] * 3 + [0.0] * 5), seed=1)
    assert modes_covered(three, centers, std=0.05).modes == 3
    # 全落在圆心：一个高质量样本都没有
    center = modes_covered(torch.zeros(100, 2), centers, std=0.05)
    assert center.modes == 0 and center.high_quality == 0
    with pytest.raises(ValueError, match="centers"):
        modes_covered(torch.zeros(5, 3), centers, std=0.05)
    with pytest.raises(ValueError, match="modes"):
        ring_centers(0)
    torch.testing.assert_close(ring_centers(1, radius=3.0), torch.tensor([[3.0, 0.0]]))  # 一个模式也行
    with pytest.raises(ValueError, match="centers 应为 \\(k, d\\)"):
        gaussian_mixture(10, torch.zeros(3), std=0.1)


def test_toy_defaults_are_the_ring_of_eight() -> None:
    torch.testing.assert_close(ring_centers(), ring_centers(8, radius=2.0))
    centers = ring_centers()
    assert torch.equal(gaussian_mixture(50, centers, seed=3), gaussian_mixture(50, centers, std=0.05, seed=3))
    assert MLPGenerator().latent_dim == 8
    plain = MLPDiscriminator()  # 小批量标准差特征要自己打开
    assert isinstance(plain.mbstd, nn.Identity) and plain.fc1.in_features == 2


def test_coverage_thresholds_and_inputs() -> None:
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0]], dtype=torch.float64)  # float64 的中心也行
    on_edge = torch.tensor([[3.0, 0.0]] * 20 + [[10.0, 0.0]] * 19, requires_grad=True)  # 生成器的输出带着梯度
    c = modes_covered(on_edge, centers, std=1.0)
    assert c.counts == (20, 19)  # 正好 3 个标准差也算高质量
    assert c.modes == 1  # 默认要 20 个高质量样本才算覆盖
    assert modes_covered(on_edge, centers, std=1.0, min_count=19).modes == 2
    assert modes_covered(on_edge.double(), centers.float(), std=1.0).counts == (20, 19)  # 反过来也行


def test_generate_is_gradient_free() -> None:
    G = MLPGenerator(4)
    out = generate(G, torch.randn(6, 4))
    assert out.shape == (6, 2) and not out.requires_grad


def _ring_gan_coverage(*, minibatch_std: bool, seed: int = 0) -> int:
    """生成器的学习率是判别器的 10 倍（诱发模式崩溃），训练 1200 步后覆盖的模式数。"""
    torch.manual_seed(seed)
    centers, std = ring_centers(8, radius=2.0), 0.05
    X = gaussian_mixture(200 * 128, centers, std=std, seed=seed)
    loader = TensorLoader(X, torch.zeros(len(X)), batch_size=128, shuffle=True, seed=seed)
    G, D = MLPGenerator(8), MLPDiscriminator(minibatch_std=minibatch_std)
    train_gan(
        G, D, loader, epochs=6,
        g_optimizer=torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999)),
        d_optimizer=torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999)),
    )  # fmt: skip
    samples = generate(G, torch.randn(2500, 8, generator=torch.Generator().manual_seed(seed)))
    return modes_covered(samples, centers, std=std).modes


@pytest.mark.slow
def test_minibatch_stddev_covers_more_modes() -> None:
    """关键的一条：同样的种子、同样的学习率失衡，加了小批量标准差特征的判别器让生成器覆盖更多模式。"""
    plain = _ring_gan_coverage(minibatch_std=False)
    remedy = _ring_gan_coverage(minibatch_std=True)
    assert plain <= 2, plain
    assert remedy >= plain + 4, (plain, remedy)


# ---------------------------------------------------------------------------
# 损失：对照 PyTorch 的 BCE 与 WGAN-GP 的公式
# ---------------------------------------------------------------------------

bce = nn.functional.binary_cross_entropy_with_logits


def _critic(x: torch.Tensor) -> torch.Tensor:
    return x.sum(dim=1) - 0.5  # 一个固定的“判别器”：logits 是坐标之和减 0.5


@pytest.mark.parametrize("loss", ["non_saturating", "minimax"])
def test_discriminator_loss_is_binary_cross_entropy(loss) -> None:
    gen = torch.Generator().manual_seed(0)
    real, fake = torch.randn(16, 2, generator=gen), torch.randn(16, 2, generator=gen)
    value, d_real, d_fake = gan_mod._d_loss(loss, _critic, real, fake, gp_weight=10.0)
    r, f = _critic(real), _critic(fake)
    torch.testing.assert_close(value, bce(r, torch.ones(16)) + bce(f, torch.zeros(16)))
    torch.testing.assert_close(d_real, torch.sigmoid(r).mean())  # 平均 D(x)，是概率
    torch.testing.assert_close(d_fake, torch.sigmoid(f).mean())


def test_generator_losses() -> None:
    logits = torch.randn(16, generator=torch.Generator().manual_seed(1))
    # 非饱和：-log D(G(z))，即标签为 1 的 BCE；极小极大：log(1 - D(G(z)))，即负的标签为 0 的 BCE
    torch.testing.assert_close(gan_mod._g_loss("non_saturating", logits), bce(logits, torch.ones(16)))
    torch.testing.assert_close(gan_mod._g_loss("minimax", logits), -bce(logits, torch.zeros(16)))
    torch.testing.assert_close(gan_mod._g_loss("wgan-gp", logits), -logits.mean())


def test_wgan_critic_loss_and_gradient_penalty() -> None:
    gen = torch.Generator().manual_seed(2)
    real, fake = torch.randn(16, 2, generator=gen), torch.randn(16, 2, generator=gen)
    # 线性评论家 D(x) = w·x：处处梯度都是 w，惩罚就是 (|w| - 1)²，与随机插值点无关
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    critic = lambda x: x @ w  # noqa: E731
    value, d_real, d_fake = gan_mod._d_loss("wgan-gp", critic, real, fake, gp_weight=10.0)
    wasserstein = critic(fake).mean() - critic(real).mean()
    torch.testing.assert_close(value, wasserstein + 10.0 * (5.0 - 1.0) ** 2)
    torch.testing.assert_close((d_real, d_fake), (critic(real).mean(), critic(fake).mean()))
    # 惩罚对评论家的参数也有梯度（create_graph=True）：d/dw (|w| - 1)² = 2(|w| - 1) w / |w|
    (penalty_grad,) = torch.autograd.grad(gan_mod._gradient_penalty(critic, real, fake), w)
    torch.testing.assert_close(penalty_grad, 2 * 4.0 * torch.tensor([3.0, 4.0]) / 5.0)


def test_gradient_penalty_is_taken_between_real_and_fake() -> None:
    # D(x) = |x|²/2 的梯度是 x 本身：惩罚看的是插值点的范数，真样本 2p、假样本 p 之间的点范数在 |p| 与 2|p| 之间
    p = torch.tensor([[3.0, 4.0]]).repeat(64, 1)
    critic = lambda x: 0.5 * (x**2).sum(dim=1)  # noqa: E731
    penalty = gan_mod._gradient_penalty(critic, 2 * p, p).item()
    assert (5 - 1) ** 2 < penalty < (10 - 1) ** 2
    assert gan_mod._gradient_penalty(critic, p, p).item() == pytest.approx((5 - 1) ** 2)


def test_gradient_penalty_mixes_each_sample_with_one_random_weight() -> None:
    # 插值的权重 α 每个样本一个（同一个样本的所有元素共用），在 [0, 1] 里；逐元素各取一个 α 时，
    # 上面用的 |x|²/2 仍然落在两个范数之间，看不出来：这里直接记下评论家看到的点
    torch.manual_seed(0)
    real = torch.randn(16, 3, 4, 4)
    fake = real - 1 - torch.rand_like(real)  # 每个元素都差 1 到 2：下面的除法不会放大舍入误差
    seen = []

    def critic(x):
        seen.append(x.detach().clone())
        return x.flatten(1).sum(dim=1)

    gan_mod._gradient_penalty(critic, real, fake)
    alpha = ((seen[0] - fake) / (real - fake)).flatten(1)  # (16, 48)：每行应是同一个数
    torch.testing.assert_close(alpha, alpha[:, :1].expand_as(alpha))
    assert ((alpha >= 0) & (alpha <= 1)).all() and alpha[:, 0].std() > 0.1  # 样本之间各不相同


@pytest.mark.parametrize(
    "make", [lambda: (MLPGenerator(4), (4,)), lambda: (MLPDiscriminator(), (2,)),
             lambda: (Generator(8, image_size=28, width=4), (8,)),
             lambda: (Discriminator(image_size=28, width=4), (1, 28, 28))],
    ids=["mlp-G", "mlp-D", "dcgan-G", "dcgan-D"],
)
def test_every_parameter_is_used(make) -> None:
    # 前向传播真的经过每一层：反向传播之后每个参数都有梯度（删掉一层而形状不变时，这里会发现）
    torch.manual_seed(0)
    model, shape = make()
    x = torch.randn(3, *shape)
    model(x).sum().backward()
    unused = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert unused == []


def test_zero_epochs_train_nothing() -> None:
    G, D = MLPGenerator(), MLPDiscriminator()
    before = [p.detach().clone() for p in G.parameters()]
    h = train_gan(G, D, [torch.zeros(4, 2)], epochs=0,
                  g_optimizer=torch.optim.SGD(G.parameters(), lr=0.1),
                  d_optimizer=torch.optim.SGD(D.parameters(), lr=0.1))
    assert h.epoch == [] and all(torch.equal(a, b) for a, b in zip(before, G.parameters()))
