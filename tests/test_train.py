"""dlbook.train：训练循环、评估、History 与初始化。"""

from __future__ import annotations

import io
import math
import sys
import time
import types

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import dlbook._env
from dlbook import fast as fast_path
from dlbook import train
from dlbook.data import TensorLoader, fashion_mnist_loaders
from dlbook.train import History, accuracy, evaluate_accuracy, fit, init_xavier


def _blobs(n: int = 400, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """四个分得很开的高斯团，线性可分。"""
    g = torch.Generator().manual_seed(seed)
    centers = torch.tensor([[4.0, 4.0], [-4.0, 4.0], [-4.0, -4.0], [4.0, -4.0]])
    y = torch.randint(0, 4, (n,), generator=g)
    return centers[y] + torch.randn(n, 2, generator=g), y


def _sgd(model: nn.Module, lr: float = 0.1) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=lr)


class Recorder(nn.Module):
    """记录每次前向时的模式：训练/评估、是否记录梯度。"""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 4)
        self.calls: list[tuple[bool, bool]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append((self.training, torch.is_grad_enabled()))
        return self.linear(x)


# ---------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------


def test_fit_learns_separable_data():
    torch.manual_seed(0)
    X, y = _blobs()
    X_test, y_test = _blobs(200, seed=1)
    model = nn.Linear(2, 4)
    history = fit(
        model,
        TensorLoader(X, y, batch_size=32, shuffle=True),
        TensorLoader(X_test, y_test, batch_size=64),
        epochs=5,
        optimizer=_sgd(model),
    )
    assert history.epoch == [1, 2, 3, 4, 5]
    for name in ("train_loss", "train_acc", "test_acc", "examples_per_sec", "seconds"):
        values = getattr(history, name)
        assert len(values) == 5 and all(isinstance(v, float) for v in values), name
    assert history.train_loss[-1] < history.train_loss[0] / 2
    assert history.test_acc[-1] > 0.95 and history.train_acc[-1] > 0.95
    assert all(v > 0 for v in history.examples_per_sec + history.seconds)
    assert history.device == "cpu"


def test_timings_are_measured_not_made_up():
    # 计时只看是否自洽：每轮的秒数加起来不超过整个 fit 的用时；样本/秒 = 样本数 / 训练用时 ≥ 样本数 / 整轮用时
    X, y = _blobs()
    model = nn.Linear(2, 4)
    start = time.perf_counter()
    history = fit(model, TensorLoader(X, y, batch_size=32), [(X, y)], epochs=3, optimizer=_sgd(model))
    wall = time.perf_counter() - start
    assert 0 < sum(history.seconds) <= wall
    for rate, seconds in zip(history.examples_per_sec, history.seconds, strict=True):
        assert len(X) / wall <= len(X) / seconds <= rate < math.inf


def test_fit_with_dataloader():
    torch.manual_seed(0)
    X, y = _blobs()
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
    model = nn.Linear(2, 4)
    history = fit(model, loader, loader, epochs=3, optimizer=_sgd(model))
    assert len(history.epoch) == len(history.test_acc) == 3
    assert history.test_acc[-1] > 0.95


@pytest.mark.parametrize("kind", ["tensor", "dataloader"])
def test_fit_on_fashion_mnist_loaders(kind):
    torch.manual_seed(0)
    train_data, test_data = fashion_mnist_loaders(64, subset=1280, test_subset=320, kind=kind)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    history = fit(model, train_data, test_data, epochs=2, optimizer=_sgd(model))
    assert len(history.train_loss) == len(history.test_acc) == 2
    assert history.train_loss[1] < history.train_loss[0]
    assert history.test_acc[-1] > 0.5  # 10 类，随机猜只有 0.1


def test_train_metrics_are_exact_per_example_averages():
    # lr=0：模型不变，所以一轮的平均损失与准确率可以直接算出来；批量大小不整除样本数。
    X, y = _blobs(50)
    model = nn.Linear(2, 4)
    with torch.no_grad():
        expected_loss = F.cross_entropy(model(X), y).item()
        expected_acc = (model(X).argmax(1) == y).float().mean().item()
    for loss_fn in (nn.CrossEntropyLoss(), nn.CrossEntropyLoss(reduction="sum")):
        history = fit(
            model, TensorLoader(X, y, batch_size=7), None, epochs=1, optimizer=_sgd(model, lr=0.0),
            loss_fn=loss_fn,
        )  # fmt: skip
        assert history.train_loss[0] == pytest.approx(expected_loss, rel=1e-5)
        assert history.train_acc[0] == pytest.approx(expected_acc)


def test_step_loss_is_each_batch_mean_across_epochs():
    # lr=0：每一步的损失就是该批量上的平均交叉熵；最后一个批量不满，reduction="sum" 也按样本平均。
    X, y = _blobs(50)
    model = nn.Linear(2, 4)
    with torch.no_grad():
        expected = [F.cross_entropy(model(X[i : i + 7]), y[i : i + 7]).item() for i in range(0, 50, 7)]
    for loss_fn in (nn.CrossEntropyLoss(), nn.CrossEntropyLoss(reduction="sum")):
        history = fit(
            model, TensorLoader(X, y, batch_size=7), None, epochs=2, optimizer=_sgd(model, lr=0.0),
            loss_fn=loss_fn,
        )  # fmt: skip
        assert history.step_loss == pytest.approx(expected * 2, rel=1e-5)
        assert "step_loss" not in history.last()


def test_scheduler_steps_once_per_batch():
    X, y = _blobs(50)
    model = nn.Linear(2, 4)
    opt = _sgd(model, lr=1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 0.5**step)
    fit(model, TensorLoader(X, y, batch_size=10), None, epochs=2, optimizer=opt, scheduler=sched)
    assert sched.last_epoch == 2 * 5  # 每轮 5 个批量
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5**10)


def test_on_epoch_end_sees_the_growing_history():
    X, y = _blobs(64)
    model = nn.Linear(2, 4)
    seen: list[tuple[int, int]] = []
    history = fit(
        model, [(X, y)], [(X, y)], epochs=3, optimizer=_sgd(model),
        on_epoch_end=lambda h: seen.append((h.epoch[-1], len(h.test_acc))),
    )  # fmt: skip
    assert seen == [(1, 1), (2, 2), (3, 3)]
    assert isinstance(history, History)


def test_fit_switches_modes_and_restores_them():
    X, y = _blobs(32)
    model = Recorder().eval()
    fit(model, [(X, y)], [(X, y)], epochs=2, optimizer=_sgd(model))
    # 每轮：一次训练前向（训练模式、有梯度），一次评估前向（评估模式、无梯度）。
    assert model.calls == [(True, True), (False, False)] * 2
    assert not model.training  # 恢复进入 fit 之前的模式


def test_fit_without_test_data():
    X, y = _blobs(32)
    model = nn.Linear(2, 4)
    history = fit(model, [(X, y)], None, epochs=2, optimizer=_sgd(model))
    assert history.test_acc == [] and len(history.train_acc) == 2
    assert "测试准确率" not in history.summary() and "test_acc" not in history.last()


def test_fit_moves_the_model_to_device():
    X, y = _blobs(32)
    model = nn.Linear(2, 4)
    history = fit(model, [(X, y)], [(X, y)], epochs=1, optimizer=_sgd(model), device="cpu")
    assert history.device == "cpu"


def test_fit_zero_epochs():
    model = nn.Linear(2, 4)
    history = fit(model, [], None, epochs=0, optimizer=_sgd(model))
    assert history.epoch == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": -1}, "epochs"),
        ({"epochs": 1, "train_data": []}, "训练数据是空的"),
        ({"epochs": 1, "loss_fn": nn.CrossEntropyLoss(reduction="none")}, "标量"),
    ],
)
def test_fit_rejects_bad_input(kwargs, message):
    X, y = _blobs(16)
    model = nn.Linear(2, 4)
    kwargs.setdefault("train_data", [(X, y)])
    with pytest.raises(ValueError, match=message):
        fit(model, test_data=None, optimizer=_sgd(model), **kwargs)


SYNC_METHODS = ("item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__")


def _count_host_reads(monkeypatch, n_batches: int) -> int:
    count = 0
    for name in SYNC_METHODS:
        original = getattr(torch.Tensor, name)

        def wrapper(self, *args, _original=original, **kwargs):
            nonlocal count
            count += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, wrapper)
    X, y = _blobs(8 * n_batches)
    model = nn.Linear(2, 4)
    fit(
        model, TensorLoader(X, y, batch_size=8, shuffle=True), None, epochs=1, optimizer=_sgd(model)
    )
    monkeypatch.undo()
    return count


def test_no_host_reads_per_batch(monkeypatch):
    # 把张量读回主机（.item() 等）在 GPU 上会让它停下来等：次数不能随批量数增长。
    few, many = _count_host_reads(monkeypatch, 2), _count_host_reads(monkeypatch, 20)
    assert few == many and few >= 1


# ---------------------------------------------------------------------------
# 进度条
# ---------------------------------------------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _fit_quietly(progress):
    X, y = _blobs(32)
    model = nn.Linear(2, 4)
    fit(model, [(X, y)], [(X, y)], epochs=2, optimizer=_sgd(model), progress=progress)


@pytest.mark.parametrize(
    ("progress", "terminal", "kernel", "shown"),
    [
        (True, False, False, True),
        (False, True, False, False),
        (None, False, False, False),
        (None, True, False, True),
        (None, True, True, False),
    ],
)
def test_progress_bar(monkeypatch, progress, terminal, kernel, shown):
    stderr = FakeTerminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setattr(dlbook._env, "in_jupyter_kernel", lambda: kernel)
    _fit_quietly(progress)
    output = stderr.getvalue()
    assert ("第 2 轮" in output) == shown
    assert ("测试准确率" in output) == shown
    assert ("批/s" in output) == shown  # 每轮里按批量走的进度条本身


def test_jupyter_kernel_detection(monkeypatch):
    from dlbook._env import in_jupyter_kernel

    shell = types.SimpleNamespace()
    fake_ipython = types.SimpleNamespace(get_ipython=lambda: shell)
    monkeypatch.setitem(sys.modules, "IPython", fake_ipython)
    assert not in_jupyter_kernel()  # 终端里的 IPython
    shell.kernel = object()
    assert in_jupyter_kernel()
    monkeypatch.setattr(fake_ipython, "get_ipython", lambda: None)
    assert not in_jupyter_kernel()
    monkeypatch.delitem(sys.modules, "IPython")
    assert not in_jupyter_kernel()


# ---------------------------------------------------------------------------
# accuracy / evaluate_accuracy
# ---------------------------------------------------------------------------


def test_accuracy_counts_on_device():
    # 4 个样本、3 个类别（不是方阵：沿错了维取 argmax 会得到另一个形状，或者另一组预测）
    logits = torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.0, 0.1, 0.9]])
    result = accuracy(logits, torch.tensor([1, 2, 2, 2]))
    assert isinstance(result, torch.Tensor) and result.dtype == torch.int64
    assert result.item() == 3
    assert accuracy(torch.tensor([1, 0, 3]), torch.tensor([1, 1, 3])).item() == 2


def test_evaluate_accuracy_uses_eval_mode_and_restores_it():
    X, y = _blobs(40)
    model = Recorder().train()
    acc = evaluate_accuracy(model, TensorLoader(X, y, batch_size=16))
    with torch.no_grad():
        expected = (model.linear(X).argmax(1) == y).float().mean().item()
    assert acc == pytest.approx(expected)
    assert model.calls == [(False, False)] * 3 and model.training


def test_evaluate_accuracy_handles_dropout():
    X, y = _blobs(40)
    model = nn.Sequential(nn.Dropout(p=0.9), nn.Linear(2, 4))
    a, b = evaluate_accuracy(model, [(X, y)]), evaluate_accuracy(model, [(X, y)])
    assert a == b  # 评估模式下 dropout 不起作用，结果确定


def test_evaluate_accuracy_empty():
    with pytest.raises(ValueError, match="空"):
        evaluate_accuracy(nn.Linear(2, 4), [])


# ---------------------------------------------------------------------------
# History / init_xavier
# ---------------------------------------------------------------------------


def test_history_summary_and_last():
    h = History(
        epoch=[1, 2], train_loss=[0.9, 0.47], train_acc=[0.6, 0.823], test_acc=[0.5, 0.811],
        examples_per_sec=[1000.0, 12345.4], seconds=[1.0, 2.0], device="cuda:0",
    )  # fmt: skip
    assert h.summary() == "训练损失 0.470，训练准确率 0.823，测试准确率 0.811，12345 样本/秒（cuda:0）"
    assert h.last() == {
        "epoch": 2, "train_loss": 0.47, "train_acc": 0.823, "test_acc": 0.811,
        "examples_per_sec": 12345.4, "seconds": 2.0, "device": "cuda:0",
    }  # fmt: skip


def test_empty_history():
    with pytest.raises(ValueError, match="空"):
        History().last()
    with pytest.raises(ValueError, match="空"):
        History().summary()


def test_history_lists_are_not_shared():
    a, b = History(), History()
    a.epoch.append(1)
    assert b.epoch == []


def test_init_xavier():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 5), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(50, 20))
    nn.init.constant_(model[1].weight, 0.5)
    model.apply(init_xavier)
    conv, bn, linear = model[0], model[1], model[3]
    conv_bound = math.sqrt(6 / (3 * 25 + 8 * 25))
    linear_bound = math.sqrt(6 / (50 + 20))
    assert conv.weight.abs().max() <= conv_bound and conv.weight.abs().max() > 0.8 * conv_bound
    assert (
        linear.weight.abs().max() <= linear_bound and linear.weight.abs().max() > 0.8 * linear_bound
    )
    assert conv.bias.abs().sum() == 0 and linear.bias.abs().sum() == 0
    assert torch.all(bn.weight == 0.5)  # 其他层不动
    nn.Linear(2, 2, bias=False).apply(init_xavier)  # 没有偏置也行


# ---------------------------------------------------------------------------
# 快速训练路径（fast=）
# ---------------------------------------------------------------------------


def _lenet_history(fast, *, subset: int = 1024) -> tuple[History, nn.Module]:
    """同一个配方、同一个种子：ReLU 版 LeNet 在 Fashion-MNIST 的一个子集上训练两轮。"""
    from dlbook.models import LeNet

    torch.manual_seed(0)
    train_data, test_data = fashion_mnist_loaders(64, subset=subset, test_subset=512)
    model = LeNet(activation=nn.ReLU, pool="max")
    model.apply(init_xavier)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    history = fit(model, train_data, test_data, epochs=2, optimizer=optimizer, fast=fast)
    return history, model


def test_fast_on_cpu_is_the_plain_path_exactly():
    # CPU 上 bfloat16 与 channels_last 都不打开：计算完全相同，结果逐位一致。
    plain, _ = _lenet_history(False)
    fast, _ = _lenet_history(True)
    assert fast.step_loss == plain.step_loss
    assert fast.test_acc == plain.test_acc
    assert plain.test_acc[-1] > 0.4  # 确实学到了东西（随机猜是 0.1）


def test_fast_cuda_only_parts_run_on_cpu_too(monkeypatch):
    # 把只在 CUDA 上打开的两项（bfloat16 autocast、channels_last）强行在 CPU 上打开，
    # 检查这条代码路径本身：能训练，准确率与默认路径相差不大，模型的卷积权重变成了 NHWC。
    monkeypatch.setattr(
        fast_path, "plan", lambda fast, device: fast_path.FastPlan("cpu", amp=True, channels_last=True)
    )
    fast, model = _lenet_history(True, subset=512)
    monkeypatch.undo()
    plain, _ = _lenet_history(False, subset=512)
    assert all(math.isfinite(v) for v in fast.step_loss)
    assert abs(fast.test_acc[-1] - plain.test_acc[-1]) < 0.1
    assert model.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert model.conv1.weight.dtype == torch.float32  # autocast 不改参数的类型


def test_fast_path_trains_in_bfloat16_but_evaluates_in_float32(monkeypatch):
    # 报告的测试准确率要与之后任何人用 float32 重新评估的一致：评估不在 autocast 里。
    monkeypatch.setattr(fast_path, "plan", lambda fast, device: fast_path.FastPlan("cpu", amp=True))
    seen: dict[bool, set[torch.dtype]] = {True: set(), False: set()}  # 训练模式 → 输出的类型
    model = nn.Linear(2, 4)
    model.register_forward_hook(lambda m, args, out: seen[m.training].add(out.dtype))
    X, y = _blobs(64)
    fit(model, [(X, y)], [(X, y)], epochs=1, optimizer=_sgd(model), fast=True)
    assert seen == {True: {torch.bfloat16}, False: {torch.float32}}


def test_fast_plan_per_device(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert fast_path.plan(False, cpu) == fast_path.FastPlan("cpu")
    assert fast_path.plan(True, cpu) == fast_path.FastPlan("cpu")  # CPU 上什么也不做
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    assert fast_path.plan(True, cuda) == fast_path.FastPlan("cuda", amp=True, channels_last=True)
    assert fast_path.plan(False, cuda) == fast_path.FastPlan("cuda")  # 默认路径在 GPU 上也什么都不开
    everything = train.FastConfig(compile=True, cuda_graphs=True)
    assert fast_path.plan(everything, cuda) == fast_path.FastPlan(
        "cuda", amp=True, channels_last=True, compile=True, cuda_graphs=True
    )
    cpu_plan = fast_path.plan(everything, cpu)
    assert cpu_plan.compile and not cpu_plan.cuda_graphs  # CUDA 图在 CPU 上不起作用
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: False)
    assert not fast_path.plan(True, cuda).amp  # 不支持 bfloat16 的老 GPU 上不开混合精度


def test_amp_needs_native_bfloat16(monkeypatch):
    cuda = torch.device("cuda")

    def emulated_only(including_emulation=True):  # 例如 V100：能模拟 bfloat16，但没有原生支持
        return including_emulation

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", emulated_only)
    assert not fast_path.plan(True, cuda).amp

    def old_torch():  # PyTorch 2.4 之前：没有 including_emulation 参数
        return True

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", old_torch)
    assert fast_path.plan(True, cuda).amp


def test_amp_asks_the_gpu_it_will_run_on(monkeypatch):
    import contextlib

    current = [0]

    @contextlib.contextmanager
    def switch_to(index):  # 代替 torch.cuda.device：这台机器可能没有 GPU
        before, current[0] = current[0], index
        try:
            yield
        finally:
            current[0] = before

    # 0 号是老 GPU（只能模拟 bfloat16），1 号是新 GPU
    monkeypatch.setattr(torch.cuda, "device", switch_to)
    monkeypatch.setattr(
        torch.cuda, "is_bf16_supported", lambda including_emulation=True: current[0] == 1 or including_emulation
    )
    assert fast_path.plan(True, torch.device("cuda:1")).amp
    assert not fast_path.plan(True, torch.device("cuda:0")).amp
    assert not fast_path.plan(True, torch.device("cuda")).amp  # 不带编号：当前 GPU，即 0 号
    assert current == [0]  # 问完切换回来


def test_fast_plan_autocast_uses_bfloat16():
    plan = fast_path.FastPlan("cpu", amp=True)
    with plan.autocast():
        out = nn.Linear(4, 4)(torch.ones(2, 4))
    assert out.dtype == torch.bfloat16
    with fast_path.FastPlan("cpu").autocast():
        assert nn.Linear(4, 4)(torch.ones(2, 4)).dtype == torch.float32


def test_cuda_graph_steps_are_marked_only_with_cuda_graphs(monkeypatch):
    # 用 CUDA 图时每次调用编译后的模块之前标记一步；不用时不标记。编译后的模块换成一个假的，不真的编译。
    marks = []
    monkeypatch.setattr(torch.compiler, "cudagraph_mark_step_begin", lambda: marks.append("mark"))
    model = nn.Linear(2, 4)

    def compiled(X):
        marks.append("compiled")
        return model(X)

    graphs = fast_path.FastPlan("cuda", compile=True, cuda_graphs=True)
    wrapped = fast_path.CompiledForOneBatchSize(model, compiled, graphs)
    wrapped(torch.ones(8, 2))
    wrapped(torch.ones(3, 2))  # 不满的批量交给原模型：不标记
    wrapped(torch.ones(8, 2))
    assert marks == ["mark", "compiled", "mark", "compiled"]
    marks.clear()
    fast_path.CompiledForOneBatchSize(model, compiled, fast_path.FastPlan("cpu", compile=True))(torch.ones(8, 2))
    assert marks == ["compiled"]


def test_fast_config_rejects_bad_values():
    with pytest.raises(ValueError, match="compile=True"):
        train.FastConfig(cuda_graphs=True)
    X, y = _blobs(16)
    model = nn.Linear(2, 4)
    with pytest.raises(TypeError, match="FastConfig"):
        fit(model, [(X, y)], None, epochs=1, optimizer=_sgd(model), fast="yes")


def test_compile_without_a_cpp_compiler_explains(monkeypatch):
    monkeypatch.setenv("CXX", "/nonexistent/g++")
    X, y = _blobs(16)
    model = nn.Linear(2, 4)
    with pytest.raises(RuntimeError, match="C\\+\\+ 编译器.*compile=False"):
        fit(model, [(X, y)], None, epochs=1, optimizer=_sgd(model), fast=train.FastConfig(compile=True))


def test_compile_where_dynamo_is_unsupported_explains(monkeypatch):
    from torch._dynamo import eval_frame

    def unsupported():
        raise RuntimeError("Python 3.99+ is not supported")

    monkeypatch.setattr(eval_frame, "check_if_dynamo_supported", unsupported)
    X, y = _blobs(16)
    model = nn.Linear(2, 4)
    with pytest.raises(RuntimeError, match="不支持 torch.compile.*Python 3.99"):
        fit(model, [(X, y)], None, epochs=1, optimizer=_sgd(model), fast=train.FastConfig(compile=True))


@pytest.mark.slow
def test_compile_on_cpu_trains_like_the_plain_path():
    # torch.compile 在 CPU 上生成并编译 C++ 代码（第一次要十几秒）：用一个很小的多层感知机。
    def run(fast):
        torch.manual_seed(0)
        X, y = _blobs(500)  # 每轮 7 个整批和 1 个 52 个样本的批量
        X_test, y_test = _blobs(256, seed=1)
        model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 4))
        history = fit(
            model, TensorLoader(X, y, batch_size=64, shuffle=True), TensorLoader(X_test, y_test, batch_size=128),
            epochs=3, optimizer=_sgd(model), fast=fast,
        )  # fmt: skip
        return history, model

    plain, _ = run(False)
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    compiled, model = run(train.FastConfig(compile=True))
    assert type(model) is nn.Sequential  # fit 训练的是原模型（编译后的模块与它共享参数）
    # 不满的批量走即时模式：只编译了一份图，没有为新的批量大小重新编译
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == 1
    assert compiled.step_loss == pytest.approx(plain.step_loss, rel=1e-3, abs=1e-5)
    assert abs(compiled.test_acc[-1] - plain.test_acc[-1]) <= 0.02
    assert compiled.test_acc[-1] > 0.95


def test_modern_cnn_and_dcgan_examples_train_on_the_fast_path():
    # 议题要求：现代卷积神经网络一章和 DCGAN 在 full 模式（GPU）上用快速路径训练。CPU 上 fast=True 什么也不做。
    import ast
    from pathlib import Path

    gallery = Path(__file__).resolve().parents[1] / "gallery"
    scripts = sorted((gallery / "modern_cnn").glob("plot_*.py")) + [gallery / "gan" / "plot_dcgan.py"]
    calls = 0
    for script in scripts:
        for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("fit", "train_gan"):
                fast = {kw.arg: kw.value for kw in node.keywords}.get("fast")
                assert isinstance(fast, ast.Constant) and fast.value is True, f"{script.name} 第 {node.lineno} 行"
                calls += 1
    assert calls >= 9  # AlexNet、VGG、NiN、GoogLeNet、BN、ResNet、ResNet 93%、DenseNet、DCGAN


# ---------------------------------------------------------------------------
# 复查（2026-12-07）补上的：模式逐个恢复、标签形状、只能遍历一次的数据、调度器
# ---------------------------------------------------------------------------


def _frozen_bn_model() -> nn.Sequential:
    model = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Linear(4, 4))
    model[1].eval()  # 特意冻结批量归一化的统计量
    return model


def test_evaluate_accuracy_restores_each_submodule_mode():
    X, y = _blobs(32)
    model = _frozen_bn_model()
    evaluate_accuracy(model, [(X, y)])
    assert [m.training for m in model] == [True, False, True]


def test_fit_trains_the_whole_model_then_restores_each_submodule_mode():
    X, y = _blobs(32)
    model = _frozen_bn_model()
    seen = []
    model[1].register_forward_pre_hook(lambda m, args: seen.append(m.training))
    fit(model, [(X, y)], [(X, y)], epochs=1, optimizer=_sgd(model))
    assert seen == [True, False]  # 训练时整个模型在训练模式，评估时在评估模式
    assert [m.training for m in model] == [True, False, True]


def test_accuracy_refuses_labels_of_another_shape():
    logits = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    with pytest.raises(ValueError, match=r"\(3, 1\)"):
        accuracy(logits, torch.tensor([[0], [1], [0]]))  # 否则 == 广播成 3×3，数出 5 个“正确”
    with pytest.raises(ValueError, match="形状"):
        evaluate_accuracy(nn.Linear(2, 2), [(torch.ones(3, 2), torch.zeros(3, 1, dtype=torch.long))])


def test_fit_refuses_data_that_can_be_iterated_only_once():
    X, y = _blobs(32)
    model = nn.Linear(2, 4)
    once = ((X[i : i + 8], y[i : i + 8]) for i in range(0, 32, 8))
    with pytest.raises(ValueError, match="train_data 只能遍历一次"):
        fit(model, once, None, epochs=2, optimizer=_sgd(model))
    with pytest.raises(ValueError, match="test_data 只能遍历一次"):
        fit(model, [(X, y)], iter([(X, y)]), epochs=2, optimizer=_sgd(model))
    # 只训练一轮时，生成器只遍历一次，可以用
    once = ((X[i : i + 8], y[i : i + 8]) for i in range(0, 32, 8))
    assert fit(model, once, None, epochs=1, optimizer=_sgd(model)).epoch == [1]
    # DataLoader 与 TensorLoader 每次都从头遍历
    loader = DataLoader(TensorDataset(X, y), batch_size=8)
    assert len(fit(model, loader, TensorLoader(X, y, batch_size=8), epochs=2, optimizer=_sgd(model)).epoch) == 2


def test_fit_explains_that_reduce_lr_on_plateau_needs_a_metric():
    X, y = _blobs(16)
    model = nn.Linear(2, 4)
    optimizer = _sgd(model)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)
    with pytest.raises(TypeError, match="on_epoch_end"):
        fit(model, [(X, y)], None, epochs=1, optimizer=optimizer, scheduler=plateau)
