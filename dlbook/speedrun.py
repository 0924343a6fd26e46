"""Fashion-MNIST 速通：几秒钟的训练能把测试准确率推到多高？``python -m dlbook.speedrun`` 跑一遍并打印 JSON。

::

    # 5 个种子，最后一行是汇总
    python -m dlbook.speedrun --device cuda --runs 5
    # 在 CPU 上试跑
    python -m dlbook.speedrun --device cpu --epochs 1 \\
        --subset 2048 --test-subset 1000

目标（本书 PyTorch 2 一章的附加题）：在一块 H100 上用不超过 5 秒的训练达到 93% 的测试准确率，编译时间另算。
思路来自 airbench（Keller Jordan 在 CIFAR-10 上的速通）：一个小而宽度合适的 VGG 式网络（:class:`~dlbook.models.SpeedNet`），
数据整块放在 GPU 上、在 GPU 上做增强，bfloat16 + channels_last + ``torch.compile``，
带 Nesterov 动量的 SGD、先线性升温再线性降到 0 的学习率、标签平滑，评估时把左右翻转的图也算一遍（测试时增强）。
训练就是普通的 :func:`dlbook.train.fit`：这里没有专门为速通写的训练循环。

计时只算训练：数据已经在设备上；编译在计时之前用随机数据预先做完（``compile_seconds``），
每次运行前参数都换成那个种子下的初始值、随机数重新播种，所以预热不影响结果；最后的评估单独计时（``eval_seconds``）。

测得的结果（命令、硬件、版本、日期）记在 ``benchmarks/RESULTS.md``。
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlbook import _cli
from dlbook import fast as _fast
from dlbook.augment import random_crop_flip
from dlbook.bench import MODES, cudagraph_skips, hardware_name, synchronize
from dlbook.data import TensorLoader, fashion_mnist_tensors
from dlbook.device import get_device, seed_everything
from dlbook.models.speednet import SpeedNet
from dlbook.train import History, fit, keep_modes

__all__ = ["TARGET_ACC", "SpeedrunConfig", "main", "run", "summarize", "tta_accuracy", "warmup_linear_decay"]

TARGET_ACC = 0.93
"""附加题的目标测试准确率。"""


@dataclasses.dataclass(frozen=True)
class SpeedrunConfig:
    """一次速通的全部设置：配方的超参数集中在前面一块。"""

    # ---- 配方 ----
    epochs: int = 12
    batch_size: int = 512  # 样本/批
    lr: float = 0.2  # 峰值学习率
    momentum: float = 0.9  # Nesterov 动量
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    warmup: float = 0.2  # 学习率线性升温所占的步数比例，之后线性降到 0
    padding: int = 2  # 随机裁剪：每侧补 0 的像素数（即随机平移至多 2 个像素），并随机左右翻转
    widths: tuple[int, int, int, int] = (16, 32, 64, 128)  # SpeedNet 的通道数
    # ---- 运行 ----
    mode: str = "compile"  # dlbook.bench.MODES 之一；CPU 上 fast/compile 之外的开关都不起作用
    device: str | None = None  # None：dlbook.get_device() 的选择
    seed: int = 0
    subset: int | None = None  # 训练图像数；None 为全部 60000 张
    test_subset: int | None = None  # 测试图像数；None 为全部 10000 张

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"未知的模式 {self.mode!r}：可选 {', '.join(MODES)}")
        if self.epochs < 1:
            raise ValueError(f"epochs 至少为 1，而不是 {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size 应为正整数，而不是 {self.batch_size}")
        if not self.lr > 0:
            raise ValueError(f"lr 应为正数，而不是 {self.lr}")
        if not 0 < self.warmup < 1:
            raise ValueError(f"warmup 应在 0 和 1 之间（升温所占的步数比例），而不是 {self.warmup}")


def warmup_linear_decay(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """学习率倍数随步数的变化：前 ``warmup_steps`` 步从 ``1/warmup_steps`` 线性升到 1，之后线性降到 0。

    配合 ``torch.optim.lr_scheduler.LambdaLR`` 使用（它把峰值学习率乘上这个倍数）。

    >>> f = warmup_linear_decay(total_steps=10, warmup_steps=4)
    >>> [round(f(step), 2) for step in range(10)]
    [0.25, 0.5, 0.75, 1.0, 1.0, 0.83, 0.67, 0.5, 0.33, 0.17]
    """
    if not 0 < warmup_steps < total_steps:
        raise ValueError(f"升温步数应在 1 到 {total_steps - 1} 之间，而不是 {warmup_steps}")

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return max(0.0, (total_steps - step) / (total_steps - warmup_steps))

    return factor


def tta_accuracy(
    model: nn.Module,
    X: Tensor,
    y: Tensor,
    *,
    flip: bool = True,
    batch_size: int = 1000,
    autocast: contextlib.AbstractContextManager | None = None,
) -> float:
    """``model`` 在 ``(X, y)`` 上的准确率；``flip`` 时把每张图与它的左右翻转各预测一次，平均两者的概率再取最大者。

    这是测试时增强（test-time augmentation）：训练时用过左右翻转，翻转后的图对模型同样“眼熟”，
    两个视角的平均比单看一个稳。评估时切到 ``eval()``，结束后恢复原来的模式。

    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> X, y = torch.randn(6, 1, 2, 2), torch.tensor([0, 1, 0, 1, 0, 1])
    >>> 0.0 <= tta_accuracy(model, X, y) <= 1.0
    True
    """
    if X.shape[0] != y.shape[0] or X.shape[0] == 0:
        raise ValueError(f"X 有 {X.shape[0]} 个样本而 y 有 {y.shape[0]} 个：应相等且不为 0")
    correct = torch.zeros((), dtype=torch.int64, device=y.device)
    amp = autocast if autocast is not None else contextlib.nullcontext()
    with keep_modes(model), torch.inference_mode(), amp:
        model.eval()
        for i in range(0, X.shape[0], batch_size):
            xb = X[i : i + batch_size]
            probs = F.softmax(model(xb).float(), dim=-1)
            if flip:
                probs = probs + F.softmax(model(xb.flip(-1)).float(), dim=-1)
            correct += (probs.argmax(dim=-1) == y[i : i + batch_size]).sum()
    return correct.item() / X.shape[0]


def _train_once(
    model: nn.Module,
    X: Tensor,
    y: Tensor,
    config: SpeedrunConfig,
    device: torch.device,
    *,
    epochs: int,
) -> History:
    """按配方在 ``(X, y)`` 上训练 ``model``（用 :func:`fit`），返回 :class:`~dlbook.train.History`。"""
    augment = functools.partial(random_crop_flip, padding=config.padding)
    loader = TensorLoader(
        X, y, batch_size=config.batch_size, shuffle=True, seed=config.seed, drop_last=True, transform=augment
    )
    if len(loader) < 2:
        raise ValueError(
            f"训练集只有 {X.shape[0]} 张图，凑不出两个 {config.batch_size} 张的批量：请增大 subset 或减小 batch_size"
        )
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        nesterov=True,
        weight_decay=config.weight_decay,
    )
    total = epochs * len(loader)
    warmup = min(max(1, round(config.warmup * total)), total - 1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_linear_decay(total, warmup))
    return fit(
        model,
        loader,
        None,
        epochs=epochs,
        optimizer=optimizer,
        scheduler=scheduler,
        loss_fn=nn.CrossEntropyLoss(label_smoothing=config.label_smoothing),
        device=device,
        progress=False,
        fast=MODES[config.mode],
    )


def _warm_up(
    model: nn.Module, config: SpeedrunConfig, device: torch.device, image_shape: Sequence[int]
) -> float:
    """用随机数据按同样的批量训练几步，让 ``torch.compile`` 在计时之前编译好，返回用时（秒）。

    编译结果缓存在模型的 ``forward`` 上，之后以同样形状的批量调用就不再编译。预热改动过的参数不必恢复：
    :func:`run` 每次运行前都会把参数和缓冲区换成那个种子下的初始值，并重新设置随机种子。
    """
    steps = 8  # CUDA 图在最初几次调用之后才录制，多走几步让它也录好
    g = torch.Generator(device=device).manual_seed(12345)
    X = torch.randn((steps * config.batch_size, *image_shape), device=device, generator=g)
    y = torch.randint(0, 10, (steps * config.batch_size,), device=device, generator=g)
    synchronize(device)
    start = time.perf_counter()
    _train_once(model, X, y, config, device, epochs=1)
    synchronize(device)
    return time.perf_counter() - start


def run(
    config: SpeedrunConfig,
    *,
    runs: int = 1,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """按 ``config`` 速通 ``runs`` 次（种子 ``seed``、``seed+1``……），返回每次的记录（可以转成 JSON 的字典）。

    编译只在第一次之前做一遍（``compile_seconds`` 只记在第一条记录里，其余为 0）。
    ``on_record`` 在每次运行结束时以它的记录调用（命令行用它随跑随打印）。

    >>> config = SpeedrunConfig(device="cpu", mode="plain", epochs=1,
    ...                         batch_size=128, subset=512, test_subset=200)
    >>> [record] = run(config)
    >>> keys = "model", "epochs", "train_examples", "test_examples"
    >>> tuple(record[k] for k in keys)
    ('speednet', 1, 512, 200)
    """
    if runs < 1:
        raise ValueError(f"runs 至少为 1，而不是 {runs}")
    device = get_device(config.device)
    fast_plan = _fast.plan(MODES[config.mode], device)

    X_train, y_train = fashion_mnist_tensors("train", subset=config.subset, device=device, seed=config.seed)
    X_test, y_test = fashion_mnist_tensors("test", subset=config.test_subset, device=device, seed=config.seed)
    # 按训练集的均值和标准差标准化（测试集用同样的数）
    mean, std = X_train.mean(), X_train.std()
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    X_test = fast_plan.batch(X_test)

    model = SpeedNet(widths=config.widths).to(device)  # 只建一个：编译结果跟着它，每次只换参数
    skips_before = cudagraph_skips() if fast_plan.cuda_graphs else 0
    compile_seconds = 0.0
    if fast_plan.compile:
        compile_seconds = _warm_up(model, config, device, X_train.shape[1:])

    records = []
    for i in range(runs):
        seed = config.seed + i
        seed_everything(seed)
        model.load_state_dict(SpeedNet(widths=config.widths).state_dict())  # 这个种子下的初始参数
        run_config = dataclasses.replace(config, seed=seed)
        graphs_before = _graphs_compiled()
        synchronize(device)
        start = time.perf_counter()
        history = _train_once(model, X_train, y_train, run_config, device, epochs=config.epochs)
        synchronize(device)
        train_seconds = time.perf_counter() - start
        graphs_after = _graphs_compiled()

        # 评估用 float32，不在训练用的 bfloat16 autocast 里：报告的准确率就是这组参数的准确率，
        # 任何人拿去重新评估都得到同样的数（与 fit 的做法一致）
        start = time.perf_counter()
        test_acc = tta_accuracy(model, X_test, y_test, flip=False)
        test_acc_tta = tta_accuracy(model, X_test, y_test, flip=True)
        eval_seconds = time.perf_counter() - start

        trained = len(history.step_loss) * config.batch_size
        records.append(
            {
                "model": "speednet",
                "device": str(device),
                "mode": config.mode,
                "epochs": config.epochs,
                "batch_size": config.batch_size,
                "lr": config.lr,
                "seed": seed,
                "params": sum(p.numel() for p in model.parameters()),
                "train_examples": X_train.shape[0],
                "test_examples": X_test.shape[0],
                "train_seconds": round(train_seconds, 3),
                "compile_seconds": round(compile_seconds if i == 0 else 0.0, 2),
                # 计时的训练里新编译了几个图：应为 0，否则 train_seconds 里含有编译时间
                "graphs_compiled_while_timed": (
                    None if graphs_before is None or graphs_after is None else graphs_after - graphs_before
                ),
                # CUDA 图模式下（只在 CUDA 上），从预热到这次为止 Inductor 放弃 CUDA 图的次数：应为 0
                **({"cudagraph_skips": cudagraph_skips() - skips_before} if fast_plan.cuda_graphs else {}),
                "eval_seconds": round(eval_seconds, 3),
                "examples_per_sec": round(trained / train_seconds, 1),
                "train_acc": round(history.train_acc[-1], 4),
                "test_acc": round(test_acc, 4),
                "test_acc_tta": round(test_acc_tta, 4),
                "torch": torch.__version__,
                "python": platform.python_version(),
                "hardware": hardware_name(device),
                "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }
        )
        if on_record is not None:
            on_record(records[-1])
    return records


def _graphs_compiled() -> int | None:
    """到目前为止 TorchDynamo 编译过的图的个数（它的内部计数器；这个 PyTorch 版本没有时为 ``None``）。"""
    try:
        from torch._dynamo.utils import counters

        return int(counters["stats"]["unique_graphs"])
    except (ImportError, AttributeError, KeyError, TypeError):
        return None


def summarize(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """几次速通的汇总：准确率（用测试时增强时取 ``test_acc_tta``）的均值、标准差、最小值，达标的次数，训练用时。

    >>> summarize([{"test_acc": 0.92, "test_acc_tta": 0.931, "train_seconds": 4.0},
    ...            {"test_acc": 0.93, "test_acc_tta": 0.935, "train_seconds": 5.0}])
    {'runs': 2, 'acc_mean': 0.933, 'acc_sd': 0.0028, 'acc_min': 0.931,
     'runs_at_target': 2, 'target': 0.93,
     'train_seconds_mean': 4.5, 'train_seconds_max': 5.0}
    """
    if not records:
        raise ValueError("没有可以汇总的记录")
    accs = [r.get("test_acc_tta", r["test_acc"]) for r in records]
    seconds = [r["train_seconds"] for r in records]
    return {
        "runs": len(records),
        "acc_mean": round(statistics.fmean(accs), 4),
        "acc_sd": round(statistics.stdev(accs), 4) if len(accs) > 1 else 0.0,
        "acc_min": round(min(accs), 4),
        "runs_at_target": sum(a >= TARGET_ACC for a in accs),
        "target": TARGET_ACC,
        "train_seconds_mean": round(statistics.fmean(seconds), 3),
        "train_seconds_max": round(max(seconds), 3),
    }


# ---------------------------------------------------------------------------
# 命令行
# ---------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    defaults = SpeedrunConfig()
    parser = argparse.ArgumentParser(
        prog="python -m dlbook.speedrun",
        description="Fashion-MNIST 速通：按固定配方训练 SpeedNet，每次运行打印一行 JSON，多次运行时最后一行是汇总。",
    )
    parser.add_argument("--device", default=None, help="cpu、cuda、cuda:N 或 mps（默认自动选择）")
    parser.add_argument(
        "--mode",
        default=None,
        choices=list(MODES),
        help="训练路径（默认：CUDA 上 compile，其他设备上 plain）",
    )
    parser.add_argument("--runs", type=_cli.positive_int, default=1, help="换几个种子各跑一次（默认 1）")
    parser.add_argument("--seed", type=_cli.seed, default=defaults.seed, help="第一次运行的种子（默认 0）")
    parser.add_argument("--epochs", type=_cli.positive_int, default=defaults.epochs, help=f"训练轮数（默认 {defaults.epochs}）")
    parser.add_argument(
        "--batch-size", type=_cli.positive_int, default=defaults.batch_size, help=f"批量大小（默认 {defaults.batch_size}）"
    )
    parser.add_argument("--lr", type=_cli.positive_float, default=defaults.lr, help=f"峰值学习率（默认 {defaults.lr}）")
    parser.add_argument("--subset", type=_cli.positive_int, default=None, help="只用这么多张训练图像（试跑用）")
    parser.add_argument("--test-subset", type=_cli.positive_int, default=None, help="只用这么多张测试图像（试跑用）")
    parser.add_argument(
        "--threads", type=_cli.positive_int, default=None, help="PyTorch 在 CPU 上用几个线程（默认由 PyTorch 决定）"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """命令行入口；返回退出码（参数错误时由 argparse 以退出码 2 结束）。"""
    parser = _parser()
    args = parser.parse_args(argv)
    device = _cli.device(parser, args.device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    mode = args.mode or ("compile" if device.type == "cuda" else "plain")
    try:
        config = SpeedrunConfig(
            mode=mode,
            device=str(device),
            seed=args.seed,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            subset=args.subset,
            test_subset=args.test_subset,
        )
        records = run(config, runs=args.runs, on_record=_print_json)
    except (ValueError, RuntimeError) as exc:
        _cli.print_failure("python -m dlbook.speedrun", exc)
        return 1
    if len(records) > 1:
        _print_json({"summary": summarize(records)})
    return 0


def _print_json(record: dict[str, Any]) -> None:
    print(json.dumps(record, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    sys.exit(main())
