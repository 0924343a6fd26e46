"""测训练速度：``python -m dlbook.bench`` 按《动手学深度学习》的配方训练一个模型，每次运行打印一行 JSON。

::

    python -m dlbook.bench --model lenet --epochs 10 --device cpu \\
        --mode plain fast compile

默认配方就是 d2l 训练 LeNet 的那一套：sigmoid + 平均汇聚的 LeNet，Xavier 初始化，小批量 SGD，
学习率 0.9，批量 256，10 轮，数据是完整的 Fashion-MNIST（放在训练所用的设备上，见
:class:`~dlbook.data.TensorLoader`）。其他模型用 d2l 各自的学习率、批量和输入尺寸（:data:`RECIPES`）。

``--mode`` 选训练路径（:data:`MODES`）：``plain`` 是 :func:`~dlbook.train.fit` 的默认路径；``fast`` 打开
bfloat16 自动混合精度和 channels_last（只在 CUDA 上起作用，CPU 上与 ``plain`` 相同）；``compile`` 再加上
``torch.compile``；``cudagraphs`` 再加上 CUDA 图（CPU 上与 ``compile`` 相同）。

每行 JSON 记下速度（样本/秒）、用时、编译用时、测试准确率，以及测出它的硬件、PyTorch 版本和日期：
没有这些，一个速度数字就无从比较。这里的函数也供示例脚本计时用（:func:`time_per_step`、
:func:`time_interleaved`、:func:`environment`）。
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import torch

from dlbook import _cli
from dlbook.device import get_device, seed_everything
from dlbook.fast import FastConfig, plan
from dlbook.train import History

__all__ = [
    "MODES",
    "NOISE",
    "RECIPES",
    "BenchConfig",
    "Recipe",
    "break_even",
    "busy_note",
    "cudagraph_skips",
    "environment",
    "hardware_name",
    "inductor_cache_hits",
    "main",
    "run",
    "short_cpu_name",
    "synchronize",
    "time_interleaved",
    "time_per_step",
    "within_noise",
]

NOISE = 0.10
"""两次计时相差不到这个比例，就当作测量噪声：共享的机器上，别的程序会让单次测量上下浮动一成左右。"""

MODES: dict[str, bool | FastConfig] = {
    "plain": False,
    "fast": FastConfig(),
    "compile": FastConfig(compile=True),
    "cudagraphs": FastConfig(compile=True, cuda_graphs=True),
}
"""``--mode`` 的名字与传给 ``fit(..., fast=...)`` 的值。"""


@dataclass(frozen=True)
class Recipe:
    """d2l 训练一个模型时用的超参数。"""

    lr: float  # SGD 学习率
    batch_size: int  # 样本/批
    resize: int | None  # 输入边长（像素）；None 为原始的 28


RECIPES: dict[str, Recipe] = {
    "lenet": Recipe(lr=0.9, batch_size=256, resize=None),
    "lenet_bn": Recipe(lr=1.0, batch_size=256, resize=None),
    "alexnet": Recipe(lr=0.01, batch_size=128, resize=224),
    "vgg11": Recipe(lr=0.05, batch_size=128, resize=224),
    "nin": Recipe(lr=0.1, batch_size=128, resize=224),
    "googlenet": Recipe(lr=0.1, batch_size=128, resize=96),
    "resnet18": Recipe(lr=0.05, batch_size=256, resize=96),
    "densenet": Recipe(lr=0.1, batch_size=256, resize=96),
}
"""《动手学深度学习》各模型的训练配方（都训练 10 轮、用 Xavier 初始化）。"""


@dataclass(frozen=True)
class BenchConfig:
    """一次基准测试；``None`` 的超参数取 :data:`RECIPES` 里的值。"""

    model: str = "lenet"
    mode: str = "plain"
    epochs: int = 10
    device: str | None = None  # None：dlbook.get_device() 的选择
    batch_size: int | None = None
    lr: float | None = None
    resize: int | None = None
    subset: int | None = None  # 训练图像数；None 为全部 60000 张
    test_subset: int | None = None  # 测试图像数；None 为全部 10000 张
    seed: int = 0

    def __post_init__(self) -> None:
        if self.model not in RECIPES:
            raise ValueError(f"未知的模型 {self.model!r}：可选 {', '.join(RECIPES)}")
        if self.mode not in MODES:
            raise ValueError(f"未知的模式 {self.mode!r}：可选 {', '.join(MODES)}")
        if self.epochs < 1:
            raise ValueError(f"epochs 至少为 1，而不是 {self.epochs}")
        # None 表示用配方的值；给了就要是正数（0 从前被当成“没给”，悄悄换成配方的值）
        for name in ("batch_size", "resize", "lr"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} 应为正数（或 None：用配方的值），而不是 {value}")


# ---------------------------------------------------------------------------
# 计时与运行环境
# ---------------------------------------------------------------------------


def synchronize(device: torch.device | str) -> None:
    """等设备上排队的计算全部做完。GPU 是异步执行的：不同步就计时，只量到了“排队”的时间。"""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def time_per_step(
    step: Callable[[], Any], *, steps: int, warmup: int = 1, device: torch.device | str = "cpu"
) -> float:
    """``step()`` 平均每次用多少秒：先调用 ``warmup`` 次（不计时），再计时调用 ``steps`` 次。

    >>> seconds = time_per_step(lambda: torch.ones(8) @ torch.ones(8), steps=5)
    >>> 0 < seconds < 1
    True
    """
    if steps < 1:
        raise ValueError(f"steps 至少为 1，而不是 {steps}")
    for _ in range(warmup):
        step()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize(device)
    return (time.perf_counter() - start) / steps


def time_interleaved(
    steps_by_name: Mapping[str, Callable[[], Any]],
    *,
    steps: int,
    warmup: int = 1,
    repeat: int = 5,
    device: torch.device | str = "cpu",
) -> dict[str, float]:
    """比较几个 ``step`` 的用时：轮流计时 ``repeat`` 遍（A、B、A、B……），返回各自最快一遍里每次调用的用时（秒）。

    轮流而不是先测完 A 再测 B：机器的负载（别的程序、频率变化）随时间漂移时，影响会平均地落在每个候选上。
    取最快的一遍而不是平均，与标准库 ``timeit`` 的建议相同：别的程序只会让一遍变慢、不会让它变快，
    最快的一遍最接近这段代码本身的开销。

    >>> steps = {"a": lambda: None, "b": lambda: sum(range(100))}
    >>> times = time_interleaved(steps, steps=5)
    >>> sorted(times), all(t >= 0 for t in times.values())
    (['a', 'b'], True)
    """
    if repeat < 1:
        raise ValueError(f"repeat 至少为 1，而不是 {repeat}")
    for step in steps_by_name.values():
        for _ in range(warmup):
            step()
    samples: dict[str, list[float]] = {name: [] for name in steps_by_name}
    for _ in range(repeat):
        for name, step in steps_by_name.items():
            samples[name].append(time_per_step(step, steps=steps, warmup=0, device=device))
    return {name: min(values) for name, values in samples.items()}


def within_noise(reference: float, other: float, *, noise: float = NOISE) -> bool:
    """``other`` 与 ``reference`` 相差不到 ``noise``（按 ``reference`` 的比例算）：这次测量分不出两者谁快。

    >>> within_noise(10.0, 10.9), within_noise(10.0, 9.1), within_noise(10.0, 11.0)
    (True, True, False)
    """
    return abs(other / reference - 1) < noise


def break_even(compile_s: float, eager_s: float, compiled_s: float, *, noise: float = NOISE) -> str:
    """编译的回本步数：编译用时 ÷ 每步省下的时间，写成最多 11 列宽的一个短语。

    每步用时相差不到 ``noise`` 时是“看不出”，编译后更慢时是“永不”；十万步以上不再细分
    （一次训练很少有那么多步，而这样的数字印出来也放不进表格的一列）。

    >>> break_even(3.0, 0.010, 0.005), break_even(3.0, 0.010, 0.0095), break_even(3.0, 0.010, 0.012)
    ('600 步', '看不出', '永不')
    >>> break_even(600.0, 0.010, 0.0089), break_even(1e-3, 0.010, 0.005)
    ('10 万步以上', '1 步')
    >>> break_even(100.0, 0.010, 0.009), break_even(100.001, 0.010, 0.009)
    ('100,000 步', '10 万步以上')
    >>> break_even(3.0, 0.010, 0.010, noise=0)  # 一点没省：永远回不了本（而不是除以零）
    '永不'
    """
    if within_noise(eager_s, compiled_s, noise=noise):
        return "看不出"
    gain = eager_s - compiled_s
    if gain <= 0:
        return "永不"
    steps = math.ceil(compile_s / gain)
    return "10 万步以上" if steps > 100_000 else f"{max(steps, 1):,} 步"


def inductor_cache_hits() -> int:
    """到目前为止，Inductor 从磁盘缓存里直接取出了几张整图（FX 图）。

    在一次编译前后各读一次，差就是这次编译有几张图取自缓存：这台机器以前编译过同样的图时，
    量到的“编译用时”只是取代码的时间。读的是 Dynamo 的内部计数器 ``torch._dynamo.utils.counters``，
    它只在这里读，换了位置也只改这一处；编译好的 C++ 内核另有一层缓存，不算在内。
    """
    from torch._dynamo.utils import counters  # 导入 Dynamo 要一两秒：只在用到时导入

    return counters["inductor"]["fxgraph_cache_hit"]


def cudagraph_skips() -> int:
    """到目前为止，Inductor 有几次放弃了 CUDA 图（例如图里有 CPU 张量、被改写的输入或不支持的运算）。

    放弃时它只写一条日志、照常运行，于是“CUDA 图”模式量到的其实是只编译的速度。在训练前后各读一次，
    差应为 0。与 :func:`inductor_cache_hits` 一样读 Dynamo 的内部计数器，只在这里读。
    """
    from torch._dynamo.utils import counters

    return counters["inductor"]["cudagraph_skips"]


CPU_NAME_LIMIT = 40
"""CPU 型号最多印这么多个字符：示例把它印在一行里，行宽有限（见 :func:`short_cpu_name`）。"""


def short_cpu_name(raw: str, *, limit: int = CPU_NAME_LIMIT) -> str:
    """去掉 CPU 型号里不区分型号的部分（商标记号、结尾的“Processor”、标称频率），过长时截断。

    >>> short_cpu_name("Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz")
    'Intel Xeon Platinum 8375C CPU'
    >>> short_cpu_name("AMD EPYC 7763 64-Core Processor")
    'AMD EPYC 7763 64-Core'
    >>> short_cpu_name("A" * 50, limit=10), short_cpu_name("A" * 10, limit=10)
    ('AAAAAAAAA…', 'AAAAAAAAAA')
    """
    name = re.sub(r"\((R|TM)\)|®|™", "", raw, flags=re.IGNORECASE)
    name = re.sub(r"@\s*[\d.]+\s*GHz", "", name, flags=re.IGNORECASE)
    name = re.sub(r"\bProcessor\s*$", "", name.strip())
    name = " ".join(name.split())
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


def _cpu_name() -> str:
    raw = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            raw = next((line.split(":", 1)[1] for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return short_cpu_name(raw or platform.processor() or platform.machine()) or "未知 CPU"


def hardware_name(device: torch.device | str = "cpu") -> str:
    """设备的型号：GPU 的名字，或 CPU 的型号与 PyTorch 使用的线程数。

    >>> "线程" in hardware_name("cpu")
    True
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return f"Apple {platform.machine()} (MPS)"
    return f"{_cpu_name()}（PyTorch 用 {torch.get_num_threads()} 个线程）"


def busy_note() -> str | None:
    """机器正忙（1 分钟平均负载超过可用的 CPU 核数）时的一行提醒，否则是 ``None``。

    忙的时候，PyTorch 的多线程运算要等被别的程序占着的核，同一段代码前后两次的计时能差好几倍。
    没有 ``os.getloadavg`` 的系统（Windows）上总是 ``None``。

    >>> from unittest import mock
    >>> with mock.patch("os.getloadavg", return_value=(3.4, 2.5, 1.0)), mock.patch("os.cpu_count", return_value=2):
    ...     busy_note()
    '注意：机器正忙（1 分钟平均负载 3.4，2 个核），计时可能偏慢、前后不一致'
    """
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return None
    cores = os.cpu_count() or 1
    if load <= cores:
        return None
    return f"注意：机器正忙（1 分钟平均负载 {load:.1f}，{cores} 个核），计时可能偏慢、前后不一致"


def environment(device: torch.device | str = "cpu") -> str:
    """运行环境：硬件；PyTorch 与 Python 的版本和日期（UTC）；机器正忙时再加一行 :func:`busy_note`。
    测出的速度数字旁边都应当印上它。

    分成几行，页面上 80 个字符宽的输出框放得下。

    >>> hardware, versions = environment("cpu").split("\\n")[:2]
    >>> hardware.startswith("硬件："), versions.startswith("PyTorch ")
    (True, True)
    """
    lines = [
        f"硬件：{hardware_name(device)}",
        f"PyTorch {torch.__version__} · Python {platform.python_version()} · {_now()[:10]}",
    ]
    note = busy_note()
    return "\n".join(lines if note is None else [*lines, note])


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------
# 基准测试
# ---------------------------------------------------------------------------


def _compile_seconds(history: History, compiled: bool) -> float | None:
    """第一轮比其后各轮（中位数）多用的时间：编译都发生在第一轮里。只有一轮时无从估计。"""
    if not compiled:
        return 0.0
    if len(history.seconds) < 2:
        return None
    return max(0.0, history.seconds[0] - statistics.median(history.seconds[1:]))


def run(config: BenchConfig) -> dict[str, Any]:
    """按 ``config`` 训练一次，返回要打印的记录（一个可以转成 JSON 的字典）。

    - ``examples_per_sec``：除第一轮外各轮训练吞吐量的中位数（稳定后的速度，不含编译）；
    - ``examples_per_sec_overall``：全部训练样本数 ÷ 全部训练用时，含第一轮的编译与预热。
      与 d2l ``train_ch6`` 打印的 “examples/sec” 定义相近：两者都不含评估的时间；但 d2l 的计时器在取到批量之后
      才开始，不含取数据的时间，这里的训练用时则是每轮的墙钟时间，含取批量和每轮末尾读回指标的那次同步；
    - ``wall_seconds``：整个 :func:`~dlbook.train.fit` 的用时，含编译和每轮的评估；
    - ``compile_seconds``：第一轮比其后各轮多用的时间，只在编译时估计（不编译为 0，只有一轮时为 ``null``）。

    >>> config = BenchConfig(epochs=1, device="cpu", subset=256, test_subset=256)
    >>> record = run(config)
    >>> keys = "model", "mode", "epochs", "batch_size", "lr"
    >>> tuple(record[k] for k in keys)
    ('lenet', 'plain', 1, 256, 0.9)
    """
    from dlbook.data import fashion_mnist_loaders
    from dlbook.models import MODELS
    from dlbook.train import fit, init_xavier

    recipe = RECIPES[config.model]
    batch_size = config.batch_size if config.batch_size is not None else recipe.batch_size
    lr = config.lr if config.lr is not None else recipe.lr
    resize = config.resize if config.resize is not None else recipe.resize
    device = get_device(config.device)
    fast = MODES[config.mode]

    seed_everything(config.seed)
    train_iter, test_iter = fashion_mnist_loaders(
        batch_size,
        resize=resize,
        subset=config.subset,
        test_subset=config.test_subset,
        device=device,
        seed=config.seed,
    )
    model = MODELS[config.model]()
    model.apply(init_xavier)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)

    uses_graphs = plan(fast, device).cuda_graphs
    skips_before = cudagraph_skips() if uses_graphs else 0
    synchronize(device)
    start = time.perf_counter()
    history = fit(
        model,
        train_iter,
        test_iter,
        epochs=config.epochs,
        optimizer=optimizer,
        device=device,
        progress=False,
        fast=fast,
    )
    synchronize(device)
    wall = time.perf_counter() - start

    n_train = len(train_iter.y)
    train_seconds = sum(n_train / s for s in history.examples_per_sec)
    steady = history.examples_per_sec[1:] or history.examples_per_sec
    compiled = isinstance(fast, FastConfig) and fast.compile
    graphs = {"cudagraph_skips": cudagraph_skips() - skips_before} if uses_graphs else {}
    return {
        "model": config.model,
        "device": str(device),
        "mode": config.mode,
        "epochs": config.epochs,
        "batch_size": batch_size,
        "lr": lr,
        "resize": resize or 28,
        "seed": config.seed,
        "train_examples": n_train,
        "examples_per_sec": round(statistics.median(steady), 1),
        "examples_per_sec_overall": round(n_train * config.epochs / train_seconds, 1),
        "wall_seconds": round(wall, 2),
        "compile_seconds": _round(_compile_seconds(history, compiled)),
        **graphs,  # 只在真用 CUDA 图时（CUDA 上的 cudagraphs 模式）：Inductor 放弃 CUDA 图的次数，应为 0
        "test_acc": round(history.test_acc[-1], 4),
        "train_acc": round(history.train_acc[-1], 4),
        "train_loss": round(history.train_loss[-1], 4),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "hardware": hardware_name(device),
        "cpu_threads": torch.get_num_threads(),
        "date": _now(),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# ---------------------------------------------------------------------------
# 命令行
# ---------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dlbook.bench",
        description="按 d2l 的配方训练一个模型并计时，每次运行打印一行 JSON。",
    )
    parser.add_argument("--model", default="lenet", choices=list(RECIPES), help="模型（默认 lenet）")
    parser.add_argument(
        "--mode",
        nargs="+",
        default=["plain"],
        choices=list(MODES),
        help="训练路径，可以给几个，依次运行（默认 plain）",
    )
    parser.add_argument("--epochs", type=_cli.positive_int, default=10, help="训练轮数（默认 10）")
    parser.add_argument("--device", default=None, help="cpu、cuda、cuda:N 或 mps（默认自动选择）")
    parser.add_argument("--batch-size", type=_cli.positive_int, default=None, help="批量大小（默认取配方）")
    parser.add_argument("--lr", type=_cli.positive_float, default=None, help="学习率（默认取配方）")
    parser.add_argument("--resize", type=_cli.positive_int, default=None, help="输入边长（默认取配方）")
    parser.add_argument("--subset", type=_cli.positive_int, default=None, help="只用这么多张训练图像")
    parser.add_argument("--test-subset", type=_cli.positive_int, default=None, help="只用这么多张测试图像")
    parser.add_argument("--seed", type=_cli.seed, default=0, help="随机种子（默认 0）")
    parser.add_argument(
        "--threads", type=_cli.positive_int, default=None, help="PyTorch 在 CPU 上用几个线程（默认由 PyTorch 决定）"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """命令行入口；返回退出码（参数错误时由 argparse 以退出码 2 结束）。"""
    parser = _parser()
    args = parser.parse_args(argv)
    device = str(_cli.device(parser, args.device))
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    failed = False
    for mode in args.mode:
        config = BenchConfig(
            model=args.model,
            mode=mode,
            epochs=args.epochs,
            device=device,
            batch_size=args.batch_size,
            lr=args.lr,
            resize=args.resize,
            subset=args.subset,
            test_subset=args.test_subset,
            seed=args.seed,
        )
        try:
            record = run(config)
        except Exception as exc:  # 任何一种错误都不能让其余的模式量不成（GPU 上只有一次机会）
            _cli.print_failure(f"python -m dlbook.bench：模式 {mode} 失败", exc)
            failed = True
            continue  # 其余的模式照样量
        print(json.dumps(record, ensure_ascii=False), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
