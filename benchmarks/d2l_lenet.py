"""d2l 1.0.3 自己的 ``train_ch6`` 与 ``python -m dlbook.bench`` 并排训练 LeNet，打印两边的数字和比值。

配方两边相同：sigmoid + 平均汇聚的 LeNet，Xavier 初始化，SGD，学习率 0.9，批量 256，默认 10 轮，
完整的 Fashion-MNIST。d2l 用它自己的一切：``load_data_fashion_mnist``（torchvision 数据集 +
``ToTensor`` + 4 个 ``DataLoader`` 工作进程）、``train_ch6``（每个批量都把损失和正确数读回主机）、
``Animator`` 画图（这里用 Agg 后端，不显示）。dlbook 用 ``fit``：数据整块放在设备上，指标留在设备上。

用法（仓库根目录）::

    pip install --no-deps d2l==1.0.3     # 只为这个比较安装，不是 dlbook 的依赖
    python benchmarks/d2l_lenet.py --epochs 10 --threads 1 --modes plain compile

两边在各自的子进程里依次运行，使用同样的线程数和设备（有 GPU 时都用 ``cuda:0``，即 d2l 的 ``try_gpu()``）。
比较两种速度：

- **样本/秒**：d2l 打印的 “examples/sec” 只计每个批量的计算（不含取数据、评估和画图），
  dlbook 一边取同一定义的 ``examples_per_sec_overall``（含第一轮的编译与预热，不含评估）；
- **墙钟时间**：整个训练调用从开始到结束（两边都含每轮的评估；d2l 还含取数据和画图）。

d2l 的 ``load_data_fashion_mnist`` 会从网上下载数据；这里先把 Fashion-MNIST 的四个 IDX 文件解压到
临时目录的 ``data/FashionMNIST/raw/`` 下（torchvision 的 ``_check_exists`` 只检查这四个解压后的文件在不在），
再让 d2l 在它旁边的 ``work/`` 里运行（它用的路径是 ``../data``），所以不会联网。
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import importlib.machinery
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path

_RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_SOURCES = (os.environ.get("DLBOOK_DATA"), "/usr/share/datasets/fashion-mnist")


# ---------------------------------------------------------------------------
# d2l 一边（在子进程里运行）
# ---------------------------------------------------------------------------


def _import_d2l():
    try:
        import pandas  # noqa: F401
    except ImportError:
        # d2l.torch 在模块顶部 import pandas，但 train_ch6 及它用到的函数都不用它：给一个空模块即可。
        stub = types.ModuleType("pandas")
        stub.__spec__ = importlib.machinery.ModuleSpec("pandas", loader=None)  # torch._dynamo 会查它
        sys.modules["pandas"] = stub
    from d2l import torch as d2l

    return d2l


def run_d2l(epochs: int, threads: int | None, seed: int = 0) -> dict:
    """按《动手学深度学习》6.6 节原样训练 LeNet，返回 d2l 打印的数字和墙钟时间。

    ``seed`` 固定全局随机数：``train_ch6`` 里的 Xavier 初始化和 ``DataLoader`` 的打乱顺序都取自它。
    """
    import torch
    from torch import nn

    if threads is not None:
        torch.set_num_threads(threads)
    d2l = _import_d2l()
    torch.manual_seed(seed)
    net = nn.Sequential(  # 6.6 节的 LeNet
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10),
    )  # fmt: skip
    batch_size, lr = 256, 0.9
    train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size=batch_size)
    printed = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(printed):  # Animator 在终端里会反复打印 <Figure ...>
        d2l.train_ch6(net, train_iter, test_iter, epochs, lr, d2l.try_gpu())
    wall = time.perf_counter() - start
    text = printed.getvalue()
    speed = re.search(r"([\d.]+) examples/sec on (\S+)", text)
    acc = re.search(r"loss ([\d.]+), train acc ([\d.]+), test acc ([\d.]+)", text)
    if speed is None or acc is None:
        raise RuntimeError(f"没能从 d2l 的输出里读出结果：\n{text[-2000:]}")
    return {
        "side": "d2l",
        "d2l_version": _d2l_version(),
        "seed": seed,
        "device": speed.group(2),
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "examples_per_sec": float(speed.group(1)),
        "wall_seconds": round(wall, 2),
        "test_acc": float(acc.group(3)),
        "train_acc": float(acc.group(2)),
        "train_loss": float(acc.group(1)),
        "cpu_threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def _d2l_version() -> str:
    from importlib.metadata import version

    return version("d2l")


# ---------------------------------------------------------------------------
# 组织两边
# ---------------------------------------------------------------------------


def _prepare_data(root: Path) -> None:
    """把四个 IDX 文件（解压后）放进 ``root/FashionMNIST/raw/``。"""
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in _RAW_FILES:
        for source in filter(None, _SOURCES):
            plain, packed = Path(source) / name, Path(source) / f"{name}.gz"
            if plain.is_file():
                shutil.copyfile(plain, raw / name)
                break
            if packed.is_file():
                with gzip.open(packed, "rb") as src, open(raw / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                break
        else:
            sys.exit(
                f"找不到 Fashion-MNIST 文件 {name}(.gz)：请安装 Debian 包 dataset-fashion-mnist，"
                "或设置环境变量 DLBOOK_DATA 指向放着这四个 IDX 文件的目录。"
            )


def _last_json(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"子进程没有打印 JSON：\n{stdout[-2000:]}")
    return json.loads(lines[-1])


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} 失败（退出码 {proc.returncode}）：\n{proc.stderr[-4000:]}")
    return proc.stdout


def _try(what: str, run: Callable[[], dict]) -> dict | None:
    """运行一边的一次训练；失败时打印原因、返回 ``None``，让其余的训练照做（GPU 上只有一次机会）。"""
    try:
        return run()
    except (RuntimeError, ValueError) as exc:  # ValueError：子进程打印的 JSON 行不完整（json.JSONDecodeError）
        print(f"{what} 失败：{exc}", file=sys.stderr, flush=True)
        return None


def _load_average() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "未知"


def _table(title: str, d2l: dict | None, ours: list[dict]) -> None:
    """一个种子的对比表；d2l 一边失败了（``None``）时只列 dlbook 的数字，没有比值。"""
    from dlbook.text import pad  # 表头的汉字占两列：按终端宽度补空格

    print(title)
    header = [("样本/秒", 10), ("墙钟秒", 10), ("测试准确率", 12), ("样本/秒之比", 13), ("墙钟之比", 10)]
    print(" " * 16 + "".join(pad(name, width, align=">") for name, width in header))
    if d2l is None:
        print(f"{'d2l train_ch6':<16}" + "".join(pad(text, width, align=">") for text, width in
                                                 zip(["失败", "—", "—", "—", "—"], [10, 10, 12, 13, 10])))
    else:
        print(f"{'d2l train_ch6':<16}{d2l['examples_per_sec']:>10.0f}{d2l['wall_seconds']:>10.1f}"
              f"{d2l['test_acc']:>12.3f}{1:>13.2f}{1:>10.2f}")  # fmt: skip
    for r in ours:
        if d2l is None:
            ratio = wall_ratio = "—"
        else:
            ratio = f"{r['examples_per_sec_overall'] / d2l['examples_per_sec']:.2f}"
            wall_ratio = f"{d2l['wall_seconds'] / r['wall_seconds']:.2f}"
        print(f"{'dlbook ' + r['mode']:<16}{r['examples_per_sec_overall']:>10.0f}{r['wall_seconds']:>10.1f}"
              f"{r['test_acc']:>12.3f}{ratio:>13}{wall_ratio:>10}")  # fmt: skip


def _spread(values: list[float]) -> str:
    """平均值 ± 样本标准差（只有一个值时只写平均值）。"""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return f"{mean:.4f}"
    return f"{mean:.4f} ± {statistics.stdev(values):.4f}"


def _summary(runs: list[tuple[dict, list[dict]]], modes: list[str]) -> None:
    """多个种子时：每一边测试准确率的平均值与标准差，以及样本/秒之比的范围。"""
    print(f"{len(runs)} 个种子（{', '.join(str(d['seed']) for d, _ in runs)}）的汇总：")
    print(f"  d2l train_ch6    测试准确率 {_spread([d['test_acc'] for d, _ in runs])}")
    for i, mode in enumerate(modes):
        accs = [ours[i]["test_acc"] for _, ours in runs]
        ratios = [ours[i]["examples_per_sec_overall"] / d["examples_per_sec"] for d, ours in runs]
        walls = [d["wall_seconds"] / ours[i]["wall_seconds"] for d, ours in runs]
        print(f"  dlbook {mode:<9} 测试准确率 {_spread(accs)}；样本/秒之比 {min(ratios):.2f}～{max(ratios):.2f}"
              f"（中位数 {statistics.median(ratios):.2f}），墙钟之比 {min(walls):.2f}～{max(walls):.2f}")  # fmt: skip
    diffs = [ours[0]["test_acc"] - d["test_acc"] for d, ours in runs]
    print(f"  同一种子上 dlbook {modes[0]} − d2l 的测试准确率之差：{', '.join(f'{x:+.4f}' for x in diffs)}"
          f"；平均 {statistics.fmean(diffs):+.4f}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None, help="两边都用这么多个 CPU 线程")
    parser.add_argument(
        "--modes", nargs="+", default=["plain"], help="dlbook 一边的 --mode（plain、fast、compile…）"
    )
    parser.add_argument(
        "--seeds", nargs="+", type=int, default=[0], help="随机种子；每个种子两边各训练一次（默认 0）"
    )
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)  # 子进程用
    parser.add_argument("--run-d2l", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.run_d2l:  # 子进程：只跑 d2l 一边
        print(json.dumps(run_d2l(args.epochs, args.threads, args.seed)))
        return 0

    try:
        _d2l_version()
        have_d2l = True
    except Exception:
        # 照样量 dlbook 一边（GPU 上只有一次机会），只是没有比值；退出码 1
        print("没有安装 d2l：pip install --no-deps d2l==1.0.3（只为这个比较；pandas 不必安装）", file=sys.stderr)
        have_d2l = False
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    threads = [] if args.threads is None else ["--threads", str(args.threads)]
    runs: list[tuple[dict | None, list[dict]]] = []
    failed = False
    print(f"负载（1/5/15 分钟平均）：{_load_average()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="d2l-bench-") as tmp:
        data = Path(tmp) / "data"
        _prepare_data(data)
        work = Path(tmp) / "work"  # d2l 读 ../data，即上面的 data/
        work.mkdir()
        for seed in args.seeds:
            d2l_cmd = [sys.executable, str(Path(__file__).resolve()), "--run-d2l", "--epochs", str(args.epochs),
                       "--seed", str(seed)]  # fmt: skip
            d2l = None
            if have_d2l:
                d2l = _try("d2l", lambda: _last_json(_run(d2l_cmd + threads, cwd=work, env=env)))
            if d2l is not None:
                print("d2l   ", json.dumps(d2l, ensure_ascii=False), flush=True)
            ours = []
            for mode in args.modes:
                cmd = [sys.executable, "-m", "dlbook.bench", "--model", "lenet", "--epochs", str(args.epochs),
                       "--device", device, "--mode", mode, "--seed", str(seed), *threads]  # fmt: skip
                record = _try(f"dlbook {mode}", lambda: _last_json(_run(cmd, cwd=Path(tmp), env=env)))
                if record is not None:
                    ours.append(record)
                    print("dlbook", json.dumps(record, ensure_ascii=False), flush=True)
            failed = failed or d2l is None or len(ours) < len(args.modes)
            if ours:
                runs.append((d2l, ours))
    print(f"负载（1/5/15 分钟平均）：{_load_average()}")
    for d2l, ours in runs:
        print()
        _table(
            f"LeNet，{args.epochs} 轮，批量 256，学习率 0.9，种子 {ours[0]['seed']}；{ours[0]['hardware']}；"
            f"PyTorch {torch.__version__}；{ours[0]['date'][:10]}",
            d2l,
            ours,
        )
    if len(runs) > 1 and not failed:  # 汇总要每个种子的每一次训练都在
        print()
        _summary(runs, args.modes)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
