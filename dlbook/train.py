"""与模型无关的训练循环：:func:`fit` 训练若干轮，返回记录每轮指标的 :class:`History`。

画图是另外一步（:func:`dlbook.plot.plot_history`）。循环里每个批量都不把数据读回主机：
损失和正确数在设备上累加，每轮只读一次，这样 GPU 不必停下来等 CPU。

``fit(..., fast=True)``（或 ``fast=FastConfig(...)``）打开快速训练路径：CUDA 上用 bfloat16 自动混合精度
和 channels_last 内存格式，可选 ``torch.compile`` 与 CUDA 图，见 :mod:`dlbook.fast`。默认不打开，
全书其余部分都不依赖 ``torch.compile``。
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor, nn
from tqdm import tqdm

from dlbook import fast as _fast
from dlbook._env import show_progress
from dlbook.device import model_device, to_device
from dlbook.fast import FastConfig

__all__ = ["History", "accuracy", "evaluate_accuracy", "fit", "init_xavier"]

Batches = Iterable[tuple[Tensor, Tensor]]


@dataclass
class History:
    """每轮一条的训练记录。

    >>> h = History(device="cpu")
    >>> h.epoch += [1]; h.train_loss += [0.47]; h.train_acc += [0.823]
    >>> h.test_acc += [0.811]; h.examples_per_sec += [12345.0]; h.seconds += [4.9]
    >>> h.summary()
    '训练损失 0.470，训练准确率 0.823，测试准确率 0.811，12345 样本/秒（cpu）'
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
        parts = [f"训练损失 {row['train_loss']:.3f}", f"训练准确率 {row['train_acc']:.3f}"]
        if "test_acc" in row:
            parts.append(f"测试准确率 {row['test_acc']:.3f}")
        parts.append(f"{row['examples_per_sec']:.0f} 样本/秒（{self.device}）")
        return "，".join(parts)


def accuracy(logits: Tensor, y: Tensor) -> Tensor:
    """预测正确的样本数（留在设备上的整数张量，不读回主机）。

    ``logits`` 形状为 ``(B, 类别数)`` 时取每行最大者为预测；形状为 ``(B,)`` 时直接当作预测类别。

    >>> logits = torch.tensor([[2.0, 0.1], [0.3, 0.9], [0.8, 0.2]])
    >>> accuracy(logits, torch.tensor([0, 1, 1]))
    tensor(2)
    """
    pred = logits.argmax(dim=-1) if logits.ndim > 1 else logits
    if pred.shape != y.shape:  # 例如 y 是 (B, 1)：== 会广播成 (B, B)，悄悄数错
        raise ValueError(
            f"预测的形状 {tuple(pred.shape)} 与标签的形状 {tuple(y.shape)} 不同；"
            "标签应是每个样本一个类别号，形状 (B,)"
        )
    return (pred == y).sum()


@contextmanager
def keep_modes(*models: nn.Module) -> Generator[None, None, None]:
    """退出时把每个子模块恢复成进入时各自的训练/评估模式。

    ``model.train(flag)`` 会把所有子模块改成同一个模式，特意设成评估模式的子模块（例如冻结的批量归一化）
    也被改掉；这里逐个记下、逐个恢复。

    >>> net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    >>> _ = net[1].eval()
    >>> with keep_modes(net):
    ...     _ = net.train()
    >>> [m.training for m in net]
    [True, False]
    """
    saved = [(m, m.training) for model in models for m in model.modules()]
    try:
        yield
    finally:
        for m, training in saved:
            m.training = training


def _reiterable(data: Batches, what: str) -> None:
    # 迭代器（生成器、iter(...) 的结果）遍历一次就空了；列表、DataLoader、TensorLoader 每次 iter 都从头开始
    if isinstance(data, Iterator):
        raise ValueError(
            f"{what} 只能遍历一次（例如生成器），训练每轮都要从头遍历它；"
            "请传入列表、TensorLoader 或 DataLoader"
        )


def evaluate_accuracy(
    model: nn.Module, data: Batches, *, device: torch.device | str | None = None
) -> float:
    """模型在 ``data`` 上的准确率。

    评估时切到 ``model.eval()``（关掉 dropout、批量归一化用滑动统计量）并且不记录梯度，
    结束后每个子模块恢复各自原来的模式（例如特意保持在评估模式的批量归一化层仍是评估模式）。
    ``device`` 默认取模型参数所在的设备。

    >>> model = nn.Linear(2, 2)
    >>> _ = nn.init.eye_(model.weight); _ = nn.init.zeros_(model.bias)
    >>> X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [2.0, 1.0]])
    >>> evaluate_accuracy(model, [(X, torch.tensor([0, 1, 1, 0]))])
    0.75
    """
    device = torch.device(device) if device is not None else model_device(model)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    total = 0
    with keep_modes(model), torch.inference_mode():
        model.eval()
        for X, y in data:
            X, y = to_device(X, device), to_device(y, device)
            correct += accuracy(model(X), y)
            total += y.shape[0]
    if total == 0:
        raise ValueError("评估数据是空的：没有任何样本")
    return correct.item() / total


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
            ``T_max`` 都按步数（``epochs * len(train_data)``）给出。``ReduceLROnPlateau`` 要一个指标，
            不能这样调用：在 ``on_epoch_end`` 里用 ``history`` 的数调用它的 ``step``。
        fast: 快速训练路径：``True`` 即 ``FastConfig()``（CUDA 上 bfloat16 自动混合精度 + channels_last，
            不编译），也可以传 :class:`FastConfig` 逐项选择。CPU 上 ``fast=True`` 与默认路径做的计算完全相同。
            编译时训练调用编译后的模块，但大小与第一个批量不同的批量（每轮最后那个不满的批量）用原模型即时计算，
            免得为它再编译一份图；每轮的评估也用原模型，并且不用混合精度（测试集只前向一遍，不值得为它再编译一份
            推理图）。两者共享同一份参数。

    每轮训练前整个模型切到训练模式（``model.train()``，包括特意设成评估模式的子模块）；训练结束后
    每个子模块恢复进入 :func:`fit` 之前各自的模式（``channels_last`` 的内存格式保留，不影响结果）。

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
    ...     sgd = torch.optim.SGD(net.parameters(), lr=1.0)
    ...     history = fit(net, [(X, y)], None, epochs=3, fast=fast, optimizer=sgd)
    ...     return history.step_loss
    >>> run(fast=False) == run(fast=True)
    True
    """
    if epochs < 0:
        raise ValueError(f"epochs 不能为负数：{epochs}")
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        raise TypeError(
            "fit 每一步不带参数地调用 scheduler.step()，ReduceLROnPlateau 却要一个指标；"
            "请不传 scheduler，改在 on_epoch_end 里调用 plateau.step(history.test_acc[-1]) 之类"
        )
    if epochs > 1:
        _reiterable(train_data, "train_data")
        if test_data is not None:
            _reiterable(test_data, "test_data")
    if device is not None:
        device = torch.device(device)
        model.to(device)
    else:
        device = model_device(model)
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
    summed = getattr(loss_fn, "reduction", "mean") == "sum"
    show = show_progress(progress)
    plan = _fast.plan(fast, device)
    train_model = _fast.prepare(model, plan)
    history = History(device=str(device))

    with keep_modes(model):
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
                X, y = to_device(X, device), to_device(y, device)
                X = plan.batch(X)  # channels_last 时四维批量按 NHWC 存放
                with plan.autocast():
                    logits = train_model(X)  # 编译时：大小不同的批量由原模型即时计算，见 fast.prepare
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
                # 评估不用混合精度：bfloat16 的 logits 会让个别样本的 argmax 翻转或打平，报告的准确率应与
                # 训练之后任何人用 float32 重新评估的结果一致。
                history.test_acc.append(evaluate_accuracy(model, test_data, device=device))
            history.seconds.append(time.perf_counter() - start)
            if show:
                tqdm.write(f"第 {epoch} 轮：{history.summary()}", file=sys.stderr)
            if on_epoch_end is not None:
                on_epoch_end(history)
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
