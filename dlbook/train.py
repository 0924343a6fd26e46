"""与模型无关的训练循环：:func:`fit` 训练若干轮，返回记录每轮指标的 :class:`History`。

画图是另外一步（:func:`dlbook.plot.plot_history`）。循环里每个批量都不把数据读回主机：
损失和正确数在设备上累加，每轮只读一次，这样 GPU 不必停下来等 CPU。

``fit(..., fast=True)``（或 ``fast=FastConfig(...)``）打开快速训练路径：CUDA 上用 bfloat16 自动混合精度
和 channels_last 内存格式，可选 ``torch.compile`` 与 CUDA 图，见 :class:`FastConfig`。默认不打开，
全书其余部分都不依赖 ``torch.compile``。
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor, nn
from tqdm import tqdm

from dlbook._env import in_jupyter_kernel

__all__ = ["FastConfig", "History", "accuracy", "evaluate_accuracy", "fit", "init_xavier"]

Batches = Iterable[tuple[Tensor, Tensor]]


@dataclass
class History:
    """每轮一条的训练记录。

    >>> h = History(device="cpu")
    >>> h.epoch += [1]; h.train_loss += [0.47]; h.train_acc += [0.823]
    >>> h.test_acc += [0.811]; h.examples_per_sec += [12345.0]; h.seconds += [4.9]
    >>> h.summary()
    'loss 0.470, 训练准确率 0.823, 测试准确率 0.811, 12345 样本/秒 (cpu)'
    >>> h.last()["test_acc"]
    0.811
    """

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)  # 没有测试数据时为空
    examples_per_sec: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # 每轮用时（训练 + 评估）
    step_loss: list[float] = field(default_factory=list)  # 每一步小批量的平均损失，各轮首尾相接
    device: str = "cpu"

    def last(self) -> dict:
        """最后一轮的各项指标（外加 ``device``）。"""
        if not self.epoch:
            raise ValueError("History 还是空的：至少训练一轮后才有记录")
        row = {
            key: value[-1]
            for key, value in asdict(self).items()
            if isinstance(value, list) and value and key != "step_loss"
        }
        row["device"] = self.device
        return row

    def summary(self) -> str:
        """最后一轮的一行中文小结。"""
        row = self.last()
        parts = [f"loss {row['train_loss']:.3f}", f"训练准确率 {row['train_acc']:.3f}"]
        if "test_acc" in row:
            parts.append(f"测试准确率 {row['test_acc']:.3f}")
        parts.append(f"{row['examples_per_sec']:.0f} 样本/秒 ({self.device})")
        return ", ".join(parts)


def accuracy(logits: Tensor, y: Tensor) -> Tensor:
    """预测正确的样本数（留在设备上的整数张量，不读回主机）。

    ``logits`` 形状为 ``(B, 类别数)`` 时取每行最大者为预测；形状为 ``(B,)`` 时直接当作预测类别。

    >>> logits = torch.tensor([[2.0, 0.1], [0.3, 0.9], [0.8, 0.2]])
    >>> accuracy(logits, torch.tensor([0, 1, 1]))
    tensor(2)
    """
    pred = logits.argmax(dim=-1) if logits.ndim > 1 else logits
    return (pred == y).sum()


def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def evaluate_accuracy(
    model: nn.Module, data: Batches, *, device: torch.device | str | None = None
) -> float:
    """模型在 ``data`` 上的准确率。

    评估时切到 ``model.eval()``（关掉 dropout、批量规范化用滑动统计量）并且不记录梯度，
    结束后恢复模型原来的模式。``device`` 默认取模型参数所在的设备。

    >>> model = nn.Linear(2, 2)
    >>> _ = nn.init.eye_(model.weight); _ = nn.init.zeros_(model.bias)
    >>> X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [2.0, 1.0]])
    >>> evaluate_accuracy(model, [(X, torch.tensor([0, 1, 1, 0]))])
    0.75
    """
    device = torch.device(device) if device is not None else _model_device(model)
    was_training = model.training
    model.eval()
    correct = torch.zeros((), dtype=torch.int64, device=device)
    total = 0
    try:
        with torch.inference_mode():
            for X, y in data:
                X, y = X.to(device, non_blocking=True), y.to(device, non_blocking=True)
                correct += accuracy(model(X), y)
                total += y.shape[0]
    finally:
        model.train(was_training)
    if total == 0:
        raise ValueError("评估数据是空的：没有任何样本")
    return correct.item() / total


def _show_progress(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    return sys.stderr.isatty() and not in_jupyter_kernel()


# ---------------------------------------------------------------------------
# 快速训练路径
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FastConfig:
    """:func:`fit` 的快速训练路径有哪些开关；``fit(..., fast=True)`` 就是 ``fast=FastConfig()``。

    前两项只在 CUDA 上起作用，在 CPU 和 MPS 上什么也不做（不报错），所以同一段代码在哪台机器上都能跑：

    - CPU 上的 bfloat16 只在有 AVX-512 BF16 或 AMX 指令的处理器上快，多数 CPU 反而更慢；
    - channels_last 是为 GPU 上的卷积内核（Tensor Core 要求 NHWC）准备的，CPU 上收益不定。

    Attributes:
        amp: 前向和损失在 ``torch.autocast(dtype=torch.bfloat16)`` 里计算：矩阵乘法和卷积用 bfloat16，
            参数、梯度和优化器状态仍是 float32。bfloat16 的指数位与 float32 一样多，不会上溢，
            所以不需要 ``GradScaler``。只在 CUDA 上、且 GPU 支持 bfloat16（Ampere 及以后）时打开。
        channels_last: 把模型（就地）和四维输入换成 channels_last（NHWC）内存格式。只在 CUDA 上。
        compile: 用 ``torch.compile`` 编译模型再训练（任何设备；CPU 上要有 C++ 编译器，例如 g++）。
            第一步要等编译，之后每一步都更快或一样快；小模型、小批量、CPU 上可能更慢。
        cuda_graphs: 在 CUDA 上以 ``mode="reduce-overhead"`` 编译，用 CUDA 图把一整步的几百次内核启动
            变成一次。要求 ``compile=True``；其他设备上什么也不做。

    >>> FastConfig()
    FastConfig(amp=True, channels_last=True, compile=False, cuda_graphs=False)
    >>> FastConfig(cuda_graphs=True)
    Traceback (most recent call last):
    ...
    ValueError: cuda_graphs=True 要求 compile=True：CUDA 图由 torch.compile(mode="reduce-overhead") 录制
    """

    amp: bool = True
    channels_last: bool = True
    compile: bool = False
    cuda_graphs: bool = False

    def __post_init__(self) -> None:
        if self.cuda_graphs and not self.compile:
            raise ValueError(
                'cuda_graphs=True 要求 compile=True：CUDA 图由 torch.compile(mode="reduce-overhead") 录制'
            )


@dataclass(frozen=True)
class _FastPlan:
    """:class:`FastConfig` 落到某个设备上之后真正生效的部分。"""

    device_type: str = "cpu"
    amp: bool = False
    channels_last: bool = False
    compile: bool = False
    cuda_graphs: bool = False

    def autocast(self) -> contextlib.AbstractContextManager:
        if not self.amp:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=torch.bfloat16)


def _plan(fast: bool | FastConfig, device: torch.device) -> _FastPlan:
    if isinstance(fast, bool):
        if not fast:
            return _FastPlan(device.type)
        fast = FastConfig()
    if not isinstance(fast, FastConfig):
        raise TypeError(f"fast 应为 True、False 或 FastConfig，而不是 {fast!r}")
    cuda = device.type == "cuda"
    if fast.compile:
        _check_compile_supported(device)
    return _FastPlan(
        device_type=device.type,
        amp=fast.amp and cuda and torch.cuda.is_bf16_supported(),
        channels_last=fast.channels_last and cuda,
        compile=fast.compile,
        cuda_graphs=fast.cuda_graphs and cuda,
    )


def _check_compile_supported(device: torch.device) -> None:
    """在第一步之前就说清楚 ``torch.compile`` 为什么不能用，而不是在编译到一半时抛出难懂的错误。"""
    from torch._dynamo import eval_frame

    try:
        eval_frame.check_if_dynamo_supported()
    except RuntimeError as exc:
        raise RuntimeError(
            f"这个环境不支持 torch.compile（{exc}）。请用 fast=FastConfig(compile=False)，"
            "或换一个 PyTorch 支持的 Python 版本。"
        ) from exc
    if device.type == "cpu":
        default = "clang++" if sys.platform == "darwin" else "g++"
        compiler = os.environ.get("CXX") or default
        if shutil.which(compiler) is None:
            raise RuntimeError(
                f"torch.compile 在 CPU 上要把生成的 C++ 代码编译成机器码，但找不到 C++ 编译器 {compiler!r}。"
                "请安装一个（Debian/Ubuntu：sudo apt install g++），或用环境变量 CXX 指定它的路径；"
                "也可以用 fast=FastConfig(compile=False) 不编译。"
            )


def _prepare_model(model: nn.Module, plan: _FastPlan) -> nn.Module:
    """按计划改造模型，返回训练时调用的模块（编译时是包着 ``model`` 的 ``OptimizedModule``）。"""
    if plan.channels_last:
        model.to(memory_format=torch.channels_last)  # 就地：四维的权重换成 NHWC，其余参数不变
    if not plan.compile:
        return model
    if plan.device_type == "cpu":
        _quiet_cuda_home_warning()
    mode = "reduce-overhead" if plan.cuda_graphs else None
    return torch.compile(model, mode=mode)  # 与 model 共享参数；第一次调用时才真正编译


def _quiet_cuda_home_warning() -> None:
    """Inductor 在 CPU 上导入 ``torch.utils.cpp_extension`` 时，若机器装了 CUDA 工具包（nvcc）却没有 GPU，
    会往 stderr 写一行 “No CUDA runtime is found”。它与 CPU 上的编译无关，这里只关掉这一个日志器的警告。"""
    import logging

    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)


def _mark_cuda_graph_step() -> None:
    # 告诉 CUDA 图：新的一步开始了，上一步输出所占的静态缓冲区可以重用。
    mark = getattr(getattr(torch, "compiler", None), "cudagraph_mark_step_begin", None)
    if mark is not None:
        mark()


def fit(
    model: nn.Module,
    train_data: Batches,
    test_data: Batches | None,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
    device: torch.device | str | None = None,
    progress: bool | None = None,
    on_epoch_end: Callable[[History], None] | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    fast: bool | FastConfig = False,
) -> History:
    """训练 ``epochs`` 轮，每轮结束后在 ``test_data`` 上评估，返回 :class:`History`。

    Args:
        model: 任意 ``nn.Module``，输入一个批量的 ``X``，输出 logits。
        train_data: 产出 ``(X, y)`` 批量的可迭代对象（:class:`~dlbook.data.TensorLoader`、
            ``DataLoader`` 或列表）。
        test_data: 同上，用来在每轮结束后评估；可以为 ``None``。
        epochs: 训练轮数。
        optimizer: 已经拿到 ``model.parameters()`` 的优化器。
        loss_fn: 返回标量损失的函数，默认 :class:`~torch.nn.CrossEntropyLoss`；按批量平均
            （若它有属性 ``reduction="sum"`` 则按求和）换算每个样本的平均损失。
        device: 在哪个设备上训练；给出时先把模型搬过去，``None`` 时用模型参数所在的设备。
        progress: 是否显示 tqdm 进度条；``None`` 时只在终端里显示（Jupyter 内核里不显示）。
        on_epoch_end: 每轮结束时以当前 ``History`` 调用，例如用来打印或画图。
        scheduler: 学习率调度器，**每一步**（每个批量的 ``optimizer.step()`` 之后）调用一次
            ``scheduler.step()``；所以 ``OneCycleLR`` 的 ``total_steps``、``CosineAnnealingLR`` 的
            ``T_max`` 都按步数（``epochs * len(train_data)``）给出。
        fast: 快速训练路径：``True`` 即 ``FastConfig()``（CUDA 上 bfloat16 自动混合精度 + channels_last，
            不编译），也可以传 :class:`FastConfig` 逐项选择。CPU 上 ``fast=True`` 与默认路径做的计算完全相同。
            编译时训练调用编译后的模块，每轮的评估仍用原模型（测试集只前向一遍，不值得为它再编译一份推理图）；
            两者共享同一份参数。

    训练结束后模型恢复进入 :func:`fit` 之前的训练/评估模式（``channels_last`` 的内存格式保留，不影响结果）。

    >>> _ = torch.manual_seed(0)
    >>> X = torch.randn(200, 2); y = (X[:, 0] > 0).long()
    >>> model = nn.Linear(2, 2)
    >>> history = fit(model, [(X, y)], [(X, y)], epochs=20,
    ...               optimizer=torch.optim.SGD(model.parameters(), lr=1.0))
    >>> len(history.epoch), len(history.step_loss), history.test_acc[-1] > 0.95
    (20, 20, True)

    CPU 上 ``fast=True`` 不改变任何计算，结果逐位相同：

    >>> def run(fast):
    ...     _ = torch.manual_seed(0); net = nn.Linear(2, 2)
    ...     return fit(net, [(X, y)], None, epochs=3, fast=fast,
    ...                optimizer=torch.optim.SGD(net.parameters(), lr=1.0)).step_loss
    >>> run(fast=False) == run(fast=True)
    True
    """
    if epochs < 0:
        raise ValueError(f"epochs 不能为负数：{epochs}")
    if device is not None:
        device = torch.device(device)
        model.to(device)
    else:
        device = _model_device(model)
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
    summed = getattr(loss_fn, "reduction", "mean") == "sum"
    show = _show_progress(progress)
    plan = _plan(fast, device)
    train_model = _prepare_model(model, plan)
    history = History(device=str(device))
    was_training = model.training

    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            model.train()
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), dtype=torch.int64, device=device)
            step_losses: list[Tensor] = []  # 留在设备上，本轮结束时一次读回
            seen = 0
            batches = tqdm(
                train_data,
                desc=f"第 {epoch} 轮",
                unit="批",
                leave=False,
                file=sys.stderr,
                disable=not show,
            )
            for X, y in batches:
                X, y = X.to(device, non_blocking=True), y.to(device, non_blocking=True)
                if plan.channels_last and X.ndim == 4:
                    X = X.contiguous(memory_format=torch.channels_last)  # (B, C, H, W)，按 NHWC 存放
                if plan.cuda_graphs:
                    _mark_cuda_graph_step()
                with plan.autocast():
                    logits = train_model(X)
                    loss = loss_fn(logits, y)
                if loss.ndim != 0:
                    raise ValueError(f"loss_fn 应返回标量，却返回了形状 {tuple(loss.shape)} 的张量")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                with torch.no_grad():
                    loss_sum += loss.detach() if summed else loss.detach() * y.shape[0]
                    step_losses.append(loss.detach() / y.shape[0] if summed else loss.detach())
                    correct += accuracy(logits.detach(), y)
                seen += y.shape[0]
            batches.close()
            if seen == 0:
                raise ValueError("训练数据是空的：没有任何批量")
            # 每轮只在这里与设备同步一次。
            train_loss, train_correct = torch.stack([loss_sum, correct.to(loss_sum.dtype)]).tolist()
            history.step_loss.extend(torch.stack(step_losses).float().tolist())
            train_seconds = time.perf_counter() - start

            history.epoch.append(epoch)
            history.train_loss.append(train_loss / seen)
            history.train_acc.append(train_correct / seen)
            history.examples_per_sec.append(seen / train_seconds if train_seconds > 0 else math.inf)
            if test_data is not None:
                with plan.autocast():
                    history.test_acc.append(evaluate_accuracy(model, test_data, device=device))
            history.seconds.append(time.perf_counter() - start)
            if show:
                tqdm.write(f"第 {epoch} 轮：{history.summary()}", file=sys.stderr)
            if on_epoch_end is not None:
                on_epoch_end(history)
    finally:
        model.train(was_training)
    return history


def init_xavier(module: nn.Module) -> None:
    """对 ``nn.Linear`` 与 ``nn.Conv2d`` 做 Xavier 均匀初始化、偏置置零；配合 ``model.apply`` 使用。

    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4, 2))
    >>> _ = model.apply(init_xavier)
    >>> bool(model[2].bias.abs().sum() == 0)
    True
    """
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
