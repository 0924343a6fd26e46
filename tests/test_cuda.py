"""只在有 CUDA 的机器上运行的测试：快速训练路径里那些在 CPU 上什么也不做的分支。

没有 GPU 时整个文件跳过（CI 就是这样）；有 GPU 时运行 ``bash scripts/gpu_check.sh tests``。
CPU 上能检查的部分（强行在 CPU 上打开 bfloat16 与 channels_last）在 test_train.py 和 test_gan.py 里。
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from dlbook import fast as fast_path
from dlbook.augment import random_crop_flip
from dlbook.data import TensorLoader, fashion_mnist_loaders
from dlbook.fast import FastConfig
from dlbook.gan import train_gan
from dlbook.models import LeNet
from dlbook.models.dcgan import Discriminator, Generator
from dlbook.roofline import host_to_device_bandwidth
from dlbook.train import evaluate_accuracy, fit, init_xavier
from tests.test_roofline import fake_timer  # noqa: F401  夹具：计时换成 0.25 秒，记下每个 step 的结果

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="没有可用的 CUDA 设备")

CUDA = torch.device("cuda")


@pytest.fixture(autouse=True)
def _fresh_dynamo():
    """每个测试从空的 Dynamo 状态开始，像一次真的运行那样：否则同一个模型在前一个测试里以别的批量编译过，
    Dynamo 会把批量这一维当成动态的，测到的就不是 fit 要的那张静态形状的图。"""
    torch._dynamo.reset()
    yield


def _lenet_run(fast, *, epochs: int = 2) -> tuple[object, nn.Module, list[torch.dtype]]:
    """同一个配方、同一个种子，在 GPU 上训练 ReLU 版 LeNet；顺带记下模型输出的数据类型。"""
    torch.manual_seed(0)
    train_data, test_data = fashion_mnist_loaders(128, subset=8192, test_subset=2048, device=CUDA)
    model = LeNet(activation=nn.ReLU, pool="max")
    model.apply(init_xavier)
    dtypes: list[torch.dtype] = []
    model.register_forward_hook(lambda module, args, out: dtypes.append(out.dtype))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    history = fit(
        model, train_data, test_data, epochs=epochs, optimizer=optimizer, device=CUDA, fast=fast
    )
    return history, model, dtypes


def test_plan_on_cuda_turns_on_amp_and_channels_last():
    plan = fast_path.plan(True, CUDA)
    assert plan.channels_last
    assert plan.amp == fast_path._native_bf16()
    assert fast_path.plan(FastConfig(compile=True, cuda_graphs=True), CUDA).cuda_graphs


def test_fast_path_uses_bfloat16_and_nhwc_and_learns_as_well():
    plain, _, plain_dtypes = _lenet_run(False)
    fast, model, dtypes = _lenet_run(True)
    assert set(plain_dtypes) == {torch.float32}
    if fast_path._native_bf16():
        assert torch.bfloat16 in dtypes  # 训练时的前向在 autocast 里
    assert model.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(math.isfinite(v) for v in fast.step_loss)
    assert plain.test_acc[-1] > 0.7
    assert abs(fast.test_acc[-1] - plain.test_acc[-1]) < 0.03  # 同一配方与种子：只差噪声


@pytest.mark.parametrize("config", [FastConfig(compile=True), FastConfig(compile=True, cuda_graphs=True)])
def test_compiled_paths_learn_as_well(config):
    plain, _, _ = _lenet_run(True)
    compiled, model, _ = _lenet_run(config)
    assert type(model) is LeNet  # 训练的是原模型，编译后的模块与它共享参数
    assert len(compiled.step_loss) == len(plain.step_loss)
    assert all(math.isfinite(v) for v in compiled.step_loss)
    assert abs(compiled.test_acc[-1] - plain.test_acc[-1]) < 0.03


def test_evaluate_accuracy_on_cuda_matches_cpu():
    torch.manual_seed(0)
    model = LeNet(activation=nn.ReLU, pool="max")
    X = torch.rand(300, 1, 28, 28)
    y = torch.randint(0, 10, (300,))
    on_cpu = evaluate_accuracy(model, TensorLoader(X, y, batch_size=64))
    on_gpu = evaluate_accuracy(model.to(CUDA), TensorLoader(X.to(CUDA), y.to(CUDA), batch_size=64))
    assert on_gpu == pytest.approx(on_cpu, abs=1 / 300)  # float32 舍入最多翻转一个边界上的样本


def test_tensor_loader_and_augmentation_stay_on_the_gpu():
    X = torch.rand(100, 1, 28, 28, device=CUDA)
    y = torch.arange(100, device=CUDA)
    loader = TensorLoader(X, y, batch_size=32, shuffle=True, transform=random_crop_flip)
    seen = []
    for xb, yb in loader:
        assert xb.device.type == yb.device.type == "cuda"
        assert xb.shape[1:] == (1, 28, 28)
        seen.append(yb)
    assert sorted(torch.cat(seen).tolist()) == list(range(100))


@pytest.mark.parametrize("fast", [True, FastConfig(compile=True)])
def test_dcgan_trains_on_the_fast_path(fast):
    torch.manual_seed(0)
    G, D = Generator(32, image_size=28, width=16), Discriminator(image_size=28, width=16)
    train_data, _ = fashion_mnist_loaders(128, subset=2048, test_subset=128, device=CUDA)
    history = train_gan(
        G, D, train_data, epochs=2, device=CUDA, fast=fast,
        g_optimizer=torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999)),
        d_optimizer=torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999)),
    )  # fmt: skip
    assert all(math.isfinite(v) for v in history.step_d_loss + history.step_g_loss)
    assert all(0 < v < 1 for v in history.d_real + history.d_fake)
    assert G.conv2.weight.is_contiguous(memory_format=torch.channels_last)


def test_bench_runs_every_mode_on_cuda():
    from dlbook.bench import BenchConfig, run

    for mode in ("plain", "fast", "compile", "cudagraphs"):
        record = run(BenchConfig(model="lenet", mode=mode, epochs=2, device="cuda", subset=4096, test_subset=1024))
        assert record["device"].startswith("cuda") and record["mode"] == mode
        assert record["examples_per_sec"] > 0 and 0 <= record["test_acc"] <= 1
        if mode in ("compile", "cudagraphs"):
            assert record["compile_seconds"] is not None and record["compile_seconds"] >= 0
        # Inductor 放弃 CUDA 图时只写日志：这个数不为 0，cudagraphs 一行量的就只是编译
        assert record.get("cudagraph_skips") == (0 if mode == "cudagraphs" else None)


@pytest.mark.parametrize("mode", ["compile", "cudagraphs"])
def test_speedrun_compiles_before_the_clock_and_learns(mode):
    from dlbook.speedrun import SpeedrunConfig, run

    config = SpeedrunConfig(
        device="cuda", mode=mode, epochs=2, batch_size=256, lr=0.1, subset=8192, test_subset=2048
    )
    records = run(config, runs=2)
    assert records[0]["compile_seconds"] > 0 and records[1]["compile_seconds"] == 0
    # 编译都在预热里：两次计时的训练里都不应再编译（否则 train_seconds 含编译时间）
    assert [r["graphs_compiled_while_timed"] for r in records] == [0, 0]
    assert [r.get("cudagraph_skips") for r in records] == ([0, 0] if mode == "cudagraphs" else [None, None])
    assert all(r["test_acc_tta"] > 0.7 for r in records), records


# ---------------------------------------------------------------------------
# 主机到设备的带宽（dlbook.roofline；从 test_roofline.py 搬来：那里没有 GPU 时整个跳过，GPU 检查又只运行这个文件）
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("pinned", [False, True])
def test_host_to_device_bandwidth_on_cuda(pinned):
    assert host_to_device_bandwidth(2**20, pinned=pinned, steps=2, repeat=1) > 1e8


@pytest.mark.parametrize("pinned", [False, True])
def test_host_to_device_bandwidth_counts_4_bytes_per_element(fake_timer, pinned):  # noqa: F811
    # 最小的 numel=1 也接受；换算成字节是 4 × numel（计时被换成 0.25 秒，所以再乘 4）
    assert host_to_device_bandwidth(1, pinned=pinned) == 4 * 4
    (out,) = fake_timer
    assert out.device.type == "cuda" and out.shape == (1,)
