"""GPU 上的全部检查，在一次调用里按优先级做完：``bash scripts/gpu_check.sh all`` 设好数据、字体和轮子后调用这里。

借来的 GPU 机器每个会话一共只有 15 分钟（开机也算在内），一次调用最多 10 分钟，一次做不完全部检查。
所以检查排成一张计划（:func:`default_plan`），分成几组，一组一组地做：

- **不计时的组**，几个进程同时跑（``--jobs``，默认 4；GPU 很大，小模型的一个进程用不满它）：
  ``tests/test_cuda.py``，以及 full 模式的各个训练示例（准确率目标、DCGAN 生成的图）。
  这些组里打印出的样本/秒是几个进程抢同一块 GPU 时量的，不能当作速度数字。
- **计时的组**，独占 GPU、一个接一个：硬件的上限、d2l 与 dlbook 的 LeNet、速通、ResNet-18（96×96）。

前一组全部做完，后一组才开始（计时的步骤不能与别的同时跑）。默认的顺序是：CUDA 测试、DCGAN 和两个短的示例；
然后是计时的一组（issue 6 的数字只能在 GPU 上独占着量）；最后是其余的训练示例（issue 3 的准确率），估计最短的先开始：
时间不够时，做完的步骤尽量多。计时的一组前面的不计时的组最多用到离时限还剩 ``--timed-reserve``（默认 300）秒：
到那时还在跑的步骤被终止（记为“超时”），计时的一组照样开始，issue 6 的数字不会因为前面的示例跑得慢而丢掉。

总时长不超过 ``--seconds``（默认 540 秒；应比这次调用的时限少一分钟左右）。到时限时还在跑的步骤被终止，记为“超时”；
没来得及开始的记为“未开始”；命令被外面终止（SIGTERM、SIGINT）时，正在跑的步骤也被终止（连同它们的子进程），结果照样写出。
步骤的子进程各自成一个进程组，但留在命令的会话里：这个脚本被 SIGKILL 时，借机器的一方收拾命令时也会把它们收拾掉。
标准输出接在 ``| tee`` 上、``tee`` 先被终止时，打印出错不会打断收拾（:func:`_say`）。
做完的步骤（成功或失败）记在 ``--state`` 目录里：机器还开着时再调用一次，它们直接跳过，接着做剩下的
（借来的机器调用结束后只再等几十秒，所以这通常只在紧接着的下一次调用里有用）。

开始时、每做完一步、运行中每隔一分钟和调用结束时，都把到那时为止所有步骤的结果写进 ``--out``，
所以命令被外面强行终止（SIGKILL）时也留得下来：

- ``summary.md``：每一步的状态和用时，训练示例的准确率与目标（issue 3、5、6 的数字）的比较，
  基准测试的样本/秒，测试的结果行（同时打印到标准输出）；
- ``results.json``：机器可读的全部记录（示例里 ``dlbook.results.report`` 的结果、基准测试打印的 JSON 行）；
- ``logs.tgz``：每一步的完整输出，和示例保存的图（DCGAN 生成的样本要用眼睛看）。

用法（通过 ``gpu_check.sh all``：它先设好数据目录、字体和轮子，时限也扣掉它自己用的时间）::

    bash scripts/gpu_check.sh all [--only resnet dcgan ...]          # 环境变量 CHECK_SECONDS、CHECK_JOBS
    python3 scripts/gpu_all.py --out "$OUT" [--seconds 540] [--jobs 4] [--only ...]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

MIN_START_SECONDS = 20.0
"""离时限不到这么多秒时不再开始新的步骤：开始了也做不完。"""

TIMED_RESERVE_SECONDS = 300.0
"""计时的一组前面的不计时的组最多用到离时限还剩这么多秒（计时的一组估计要四五分钟）。"""

TARGETS: dict[str, float] = {
    # issue 3：每个模型至少达到《动手学深度学习》（PyTorch 版）书中同一配方的测试准确率；ResNet-18 的现代配方 ≥ 0.93。
    "alexnet": 0.883,
    "vgg": 0.920,
    "nin": 0.772,
    "googlenet": 0.886,
    "resnet": 0.893,
    "densenet": 0.885,
    "resnet_93": 0.93,
}
"""训练示例（按步骤名）的测试准确率目标。"""

LENET_TARGET = 550_000  # issue 6：LeNet 10 轮 ≥ 55 万样本/秒（d2l 报告 5.5 万）
RESNET_TARGET = 8 * 5_033  # issue 6：ResNet-18 96×96 ≥ d2l 报告的 5033 样本/秒的 8 倍


@dataclass(frozen=True)
class Step:
    """计划里的一步：一条命令，它的日志、图和结果文件都放在状态目录里。"""

    name: str  # 只用字母、数字和下划线：用作文件名
    argv: tuple[str, ...]
    timed: bool = False  # 计时的步骤独占 GPU，一个接一个（见 groups）
    env: Mapping[str, str] = field(default_factory=dict)


def default_plan(python: str = sys.executable) -> list[Step]:
    """GPU 检查的默认计划，按优先级排列（见文件开头；不计时的组里估计最长的先开始）。"""
    full = {"DLBOOK_MODE": os.environ.get("DLBOOK_MODE") or "full"}  # 设了 DLBOOK_MODE 就照它（测试里用 quick）

    def example(path: str) -> Step:
        return Step(Path(path).stem.removeprefix("plot_"), (python, f"gallery/{path}"), env=full)

    # 出现警告时只报告、不让测试失败：CI 上警告即错误，这里却只有一次机会看到 CUDA 路径的结果
    pytest = (python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=-ra", "-W", "default")
    bench = (python, "-m", "dlbook.bench", "--device", "cuda")
    return [
        # 第一组（不计时）：CUDA 测试（快速路径第一次在 GPU 上跑）、DCGAN（issue 5）和两个短的示例
        Step("tests", (*pytest, "tests/test_cuda.py")),
        example("gan/plot_dcgan.py"),
        example("modern_cnn/plot_resnet.py"),
        example("modern_cnn/plot_batch_norm.py"),
        # 第二组（计时，独占 GPU）：issue 6 的数字。带宽、算力和开销只要十几秒，先量
        Step("hardware", (python, "gallery/pytorch2/plot_hardware.py"), timed=True, env=full),
        Step(
            "bench_lenet",
            (python, "benchmarks/d2l_lenet.py", "--epochs", "10", "--modes", "plain", "fast", "cudagraphs"),
            timed=True,
        ),
        Step("speedrun", (python, "-m", "dlbook.speedrun", "--device", "cuda", "--runs", "5"), timed=True),
        Step("bench_resnet18", (*bench, "--model", "resnet18", "--epochs", "3", "--mode", "fast", "compile"), timed=True),
        # 第三组（不计时）：其余的训练示例（issue 3 的准确率目标），估计的用时从短到长，时间不够时做完的尽量多。
        # 估计 = dlbook.counting.count_flops × 3（前向加反向）× 60000 × 轮数，full 模式的图像边长：
        # resnet_93 0.36、densenet 0.46、googlenet 0.99、vgg 1.84、nin 2.74、alexnet 3.38（单位 10^15）
        *map(example, [
            "modern_cnn/plot_resnet_93.py",
            "modern_cnn/plot_densenet.py",
            "modern_cnn/plot_googlenet.py",
            "modern_cnn/plot_vgg.py",
            "modern_cnn/plot_nin.py",
            "modern_cnn/plot_alexnet.py",
        ]),
    ]  # fmt: skip


# ---------------------------------------------------------------------------
# 运行
# ---------------------------------------------------------------------------


class _Running:
    """一个正在运行的步骤：子进程自成一个进程组，超时时连同它的子进程一起终止。

    只是新的进程组，不是新的会话（``start_new_session``）：借机器的一方在命令结束时收拾留在会话里的进程，
    另起会话的却会一直跑到机器收回，与下一次调用抢 GPU。"""

    def __init__(self, step: Step, state: Path, concurrent: bool) -> None:
        self.step = step
        self.started = time.time()
        self.concurrent = concurrent
        figures = state / "figures" / step.name
        shutil.rmtree(figures, ignore_errors=True)  # 上次超时留下的图和半截结果
        figures.mkdir(parents=True)
        results = state / "results" / f"{step.name}.jsonl"
        results.unlink(missing_ok=True)
        python_path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        env = {
            **os.environ,
            "PYTHONPATH": python_path,  # 示例脚本所在的目录不是仓库根目录：不这样就导入不到 dlbook
            "PYTHONUNBUFFERED": "1",
            "MPLBACKEND": "Agg",
            "DLBOOK_FIGURES": str(figures),
            "DLBOOK_RESULTS": str(results),
            **step.env,
        }
        self.log = open(state / "logs" / f"{step.name}.log", "w", encoding="utf-8")  # noqa: SIM115
        # Python 3.10 还没有 process_group 参数
        group: dict[str, Any] = {"process_group": 0} if sys.version_info >= (3, 11) else {"preexec_fn": os.setpgrp}
        self.proc = subprocess.Popen(step.argv, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, **group)

    def send(self, sig: signal.Signals) -> None:
        """给整个进程组发信号（编译器的工作进程也在组里）。"""
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        """先礼后兵：SIGTERM，10 秒后还没退出就 SIGKILL。"""
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            self.send(sig)
            try:
                self.proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self.log.close()

    def record(self, status: str) -> dict[str, Any]:
        self.log.close()
        return {
            "name": self.step.name,
            "status": status,
            "returncode": self.proc.returncode,
            "seconds": round(time.time() - self.started, 1),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.started)),
            "concurrent": self.concurrent,
            "argv": list(self.step.argv),
        }


def _save(state: Path, record: dict[str, Any]) -> None:
    """做完（成功或失败）的步骤记进状态目录；先写临时文件再改名，中途被杀也不留半截记录。"""
    path = state / "done" / f"{record['name']}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)


def load_done(state: Path) -> dict[str, dict[str, Any]]:
    """状态目录里记下的、已经做完的步骤。"""
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted((state / "done").glob("*.json"))
    }


def _say(text: str) -> None:
    """打印一行。标准输出是管道、读的一方（``| tee``）已经和这个命令一起被终止时，什么也不做：
    那时正要收拾正在跑的步骤、写出结果，一个 BrokenPipeError 不能打断它。"""
    try:
        print(text, flush=True)
    except OSError:
        pass


def _print_traceback() -> None:
    try:
        traceback.print_exc()
    except OSError:  # 标准错误也接在断了的管道上（见 _say）
        pass


class Interrupted(BaseException):
    """命令被外面终止（SIGTERM、SIGINT）：:func:`run_plan` 在等待步骤时发现 ``stop()`` 报告了信号，
    抛出它，收拾好再返回。

    它不是 ``Exception``：写摘要时的 ``except Exception`` 不会把它吞掉。"""


def groups(steps: Sequence[Step]) -> list[list[Step]]:
    """把计划切成组：相邻的、``timed`` 相同的步骤是一组，各组按计划里的先后做。"""
    return [list(group) for _, group in itertools.groupby(steps, key=lambda step: step.timed)]


def run_plan(
    steps: Sequence[Step],
    *,
    state: Path,
    seconds: float,
    jobs: int,
    min_start: float = MIN_START_SECONDS,
    timed_reserve: float = 0.0,
    on_change: Callable[[dict[str, dict[str, Any]]], None] | None = None,
    snapshot_every: float = 60.0,
    stop: Callable[[], str | None] | None = None,
) -> dict[str, dict[str, Any]]:
    """按计划运行还没做完的步骤，最多 ``seconds`` 秒；返回每一步这次的状态（含以前做完的）。

    计划按 :func:`groups` 分组、一组一组地做：不计时的一组最多 ``jobs`` 个同时跑，计时的一组独占 GPU、
    一个接一个；前面的组全部做完（成功或失败）之后，后面的组才开始。离时限不到 ``min_start`` 秒时不再开始新的步骤。
    后面还有计时的组时，不计时的组只能用到离时限还剩 ``timed_reserve`` 秒：那时还在跑的步骤被终止（“超时”），
    计时的组照样开始。
    ``stop()`` 返回信号的名字（不是 ``None``）时，终止正在跑的步骤、不再开始新的（“interrupted”）：
    信号处理函数只记下信号，收拾在这里做，不会在记账做到一半时被打断。
    开始时、每当一步结束（或超时）、以及运行中每隔 ``snapshot_every`` 秒，都以到那时为止的状态调用
    ``on_change``：调用方借此随时写出摘要，整个命令被外面强行终止时，已经做完的结果也留了下来。
    状态：``ok``、``failed``（非零退出码）、``skipped``（以前做完，这次跳过）、``timeout``（到时限被终止）、
    ``interrupted``（命令被外面终止，见 :class:`Interrupted`）、``not started``（没来得及开始）。
    只有 ``ok`` 与 ``failed`` 记进状态目录。
    """
    names = [s.name for s in steps]
    if len(set(names)) != len(names):
        raise ValueError(f"步骤名重复：{names}")
    if jobs < 1:
        raise ValueError(f"jobs 至少为 1，而不是 {jobs}")
    for sub in ("done", "logs", "figures", "results"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + seconds
    done = load_done(state)
    status: dict[str, dict[str, Any]] = {
        name: {**record, "status_before": record["status"], "status": "skipped"} for name, record in done.items()
        if name in names
    }
    running: list[_Running] = []  # 正在运行的步骤（任何一组的）
    last_snapshot = time.monotonic()

    def changed() -> None:
        nonlocal last_snapshot
        last_snapshot = time.monotonic()
        if on_change is None:
            return
        active = {r.step.name for r in running}
        now = {
            s.name: status.get(s.name) or {"name": s.name, "status": "running" if s.name in active else "not started"}
            for s in steps
        }  # fmt: skip
        try:
            on_change(now)
        except Exception:  # 写摘要出错不能让整个检查停下：打印出来，接着做
            _print_traceback()

    def start(step: Step, concurrent: bool) -> None:
        _say(f"== 开始 {step.name}" + ("" if concurrent else "（独占 GPU）"))
        running.append(_Running(step, state, concurrent=concurrent))
        changed()

    def finish(r: _Running) -> None:
        running.remove(r)
        rc = r.proc.returncode
        record = r.record("ok" if rc == 0 else "failed")
        _save(state, record)
        _say(f"== {r.step.name}：{record['status']}（退出码 {rc}，{record['seconds']} 秒）")
        status[r.step.name] = record
        changed()

    def stop_all(why: str) -> None:
        for r in running:  # 先一起发 SIGTERM，再逐个等：总共只多等一次
            r.send(signal.SIGTERM)
        for r in list(running):
            r.stop()
            running.remove(r)
            _say(f"== {r.step.name}：{'超时' if why == 'timeout' else '命令被终止'}，已终止")
            status[r.step.name] = r.record(why)
        changed()

    def check_stop() -> None:
        why = stop() if stop is not None else None
        if why is not None:
            raise Interrupted(why)

    def poll(limit: int, until: float) -> bool:
        """等到有空位（正在运行的少于 ``limit`` 个）或到 ``until``；到时返回 ``False``（这时已全部终止）。"""
        while True:
            check_stop()
            for r in [r for r in running if r.proc.poll() is not None]:
                finish(r)
            if time.monotonic() >= until:
                stop_all("timeout")
                return False
            if len(running) < limit:
                return True
            if time.monotonic() - last_snapshot >= snapshot_every:
                changed()  # 长的步骤跑着时也定期写出日志
            time.sleep(0.5)

    def finished(group: Sequence[Step]) -> bool:
        return all(status.get(s.name, {}).get("status") in ("ok", "failed", "skipped") for s in group)

    changed()
    try:
        plan = groups(steps)
        for k, group in enumerate(plan):
            timed_later = not group[0].timed and any(g[0].timed for g in plan[k + 1 :])
            until = deadline - timed_reserve if timed_later else deadline
            todo = [s for s in group if s.name not in done]
            limit = 1 if group[0].timed else jobs
            in_time = True
            while todo and in_time and until - time.monotonic() > min_start:
                check_stop()
                start(todo.pop(0), concurrent=limit > 1)
                in_time = poll(limit, until)
            if in_time:
                poll(1, until)  # 等这一组剩下的做完（或到这一组的时限）
            if not finished(group) and deadline - time.monotonic() <= min_start:
                break  # 时间用完了：后面的组不开始
    except Interrupted as exc:
        stop_all("interrupted")  # 先终止步骤，再说话：打印可能失败（见 _say）
        _say(f"== 收到 {exc}：已终止正在运行的步骤，写出结果")
    for step in steps:
        status.setdefault(step.name, {"name": step.name, "status": "not started"})
    return {name: status[name] for name in names}


# ---------------------------------------------------------------------------
# 摘要
# ---------------------------------------------------------------------------


def _json_lines(text: str) -> list[dict[str, Any]]:
    """输出里每一行中的 JSON 对象（可以有前缀，例如 ``d2l    {...}``）。"""
    found = []
    for line in text.splitlines():
        start = line.find("{")
        if start < 0:
            continue
        try:
            value = json.loads(line[start:])
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def _pytest_line(text: str) -> str | None:
    """pytest 最后的结果行，例如 ``9 passed in 95.2s``。"""
    for line in reversed(text.splitlines()):
        if any(word in line for word in (" passed", " failed", " error", " skipped")) and " in " in line:
            return line.strip("= ")
    return None


def _check(value: float | None, target: float) -> str:
    if value is None:
        return "—"
    return "达到" if value >= target else "**未达到**"


def _failed(record: Mapping[str, Any]) -> bool:
    """这一步失败、超时或被终止了（包括以前失败、这次跳过的）。"""
    return record.get("status") in ("failed", "timeout", "interrupted") or record.get("status_before") == "failed"


def collect(state: Path, status: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """从状态目录里读出每一步的结果：report() 的记录、输出里的 JSON 行、pytest 的结果行。"""
    steps = {}
    for name, record in status.items():
        log_path = state / "logs" / f"{name}.log"
        results_path = state / "results" / f"{name}.jsonl"
        log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
        reports = _json_lines(results_path.read_text(encoding="utf-8")) if results_path.exists() else []
        steps[name] = {
            **record,
            "reports": reports,
            "json_lines": _json_lines(log),
            "pytest": _pytest_line(log) if name == "tests" else None,
            "time_lines": [line for line in log.splitlines() if "用时" in line][-3:],
            "log_tail": log.splitlines()[-15:] if _failed(record) else [],
        }
    return steps


def summary_markdown(steps: Mapping[str, dict[str, Any]], *, environment: str) -> str:
    """给人看的摘要：状态表、准确率与目标、基准测试的数字、失败步骤的日志末尾。"""
    lines = [f"# GPU 检查摘要\n\n{environment}\n", "| 步骤 | 状态 | 用时（秒） | 同时运行 |", "| --- | --- | ---: | --- |"]
    for name, s in steps.items():
        state = s["status"] + (f"（以前：{s['status_before']}）" if "status_before" in s else "")
        lines.append(f"| {name} | {state} | {s.get('seconds', '—')} | {'是' if s.get('concurrent') else '否'} |")
    if steps.get("tests", {}).get("pytest"):
        lines.append(f"\ntests/test_cuda.py：{steps['tests']['pytest']}")

    lines += [
        "\n## 训练示例\n",
        "几个示例同时运行，用时只作参考。\n",
        "| 步骤 | 模型 | 模式 | 设备 | 测试准确率 | 训练准确率 | 轮数 | 用时（秒） | 目标 | |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, s in steps.items():
        for r in s["reports"]:
            target = TARGETS.get(name)
            model = r["name"] + (f"（{r['note']}）" if r.get("note") else "")
            lines.append(
                f"| {name} | {model} | {r['mode']} | {r['device']} | {r['test_acc']:.4f} | {r['train_acc']:.4f} | {r['epochs']} | "
                f"{r['seconds']:.1f} | {target if target is not None else '—'} | "
                f"{_check(r['test_acc'], target) if target is not None and r['mode'] == 'full' else ''} |"
            )

    quiet = [(n, s) for n, s in steps.items() if not s["reports"] and s["time_lines"] and n != "tests"]
    if quiet:
        lines.append("\n没有调用 `report()` 的示例，日志里写到用时的行：\n")
        lines += [f"- {name}：{line.strip()}" for name, s in quiet for line in s["time_lines"]]

    lines += [
        "\n## 基准测试（独占 GPU）\n",
        "目标对照两个数：稳定后的样本/秒（编译时间另列在“编译（秒）”一栏）与含第一轮（编译、预热）的样本/秒。\n",
        "| 步骤 | 谁 | 模式 | 样本/秒（稳定） | 样本/秒（含第一轮） | 编译（秒） | 测试准确率 | 目标 | 稳定 / 含第一轮 |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name in ("bench_lenet", "bench_resnet18"):
        target = LENET_TARGET if name == "bench_lenet" else RESNET_TARGET
        for r in steps.get(name, {}).get("json_lines", []):
            if not isinstance(r.get("examples_per_sec"), (int, float)):
                continue  # 日志里别的带花括号的行（警告之类）不是基准测试的记录
            who = "d2l" if r.get("side") == "d2l" else "dlbook"
            overall = r.get("examples_per_sec_overall", r["examples_per_sec"])
            mode = r.get("mode", "—")
            if r.get("cudagraph_skips"):  # 不为 0：这一行量的其实只是编译，没有 CUDA 图
                mode += f"（**CUDA 图被放弃 {r['cudagraph_skips']} 次**）"
            lines.append(
                f"| {name} | {who} | {mode} | {r['examples_per_sec']:.0f} | {overall:.0f} | "
                f"{r.get('compile_seconds', '—')} | {r.get('test_acc', '—')} | {target} | "
                f"{_check(r.get('examples_per_sec'), target) + ' / ' + _check(overall, target) if who == 'dlbook' else ''} |"
            )
    for r in steps.get("speedrun", {}).get("json_lines", []):
        if "summary" not in r and "seed" not in r:
            continue
        if "summary" in r:
            lines.append(f"\n速通汇总：`{json.dumps(r['summary'], ensure_ascii=False)}`")
        else:
            lines.append(
                f"- 速通 种子 {r.get('seed')}：测试准确率（翻转 TTA）{r.get('test_acc_tta')}，"
                f"训练 {r.get('train_seconds')} 秒，编译 {r.get('compile_seconds')} 秒"
                + (f"，**CUDA 图被放弃 {r['cudagraph_skips']} 次**" if r.get("cudagraph_skips") else "")
            )

    failed = [(n, s) for n, s in steps.items() if s["log_tail"]]
    if failed:
        lines.append("\n## 失败或超时的步骤：日志的最后几行\n")
        for name, s in failed:
            lines += [f"### {name}（{s['status']}）", "```text", *s["log_tail"], "```"]
    return "\n".join(lines) + "\n"


def _environment() -> str:
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "没有 CUDA 设备"
        version = torch.__version__
    except ImportError:
        gpu, version = "（没有 PyTorch）", "—"
    now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return f"硬件：{gpu}；PyTorch {version}；Python {sys.version.split()[0]}；{now}"


def write_outputs(state: Path, out: Path, steps: Mapping[str, dict[str, Any]], *, environment: str) -> str:
    """写 ``summary.md``、``results.json`` 和 ``logs.tgz``（日志、图、结果文件），返回摘要的文字。

    每个文件先写到临时文件再改名：写到一半被终止时，留下的仍是上一次完整的版本。
    """
    out.mkdir(parents=True, exist_ok=True)
    summary = summary_markdown(steps, environment=environment)
    record = json.dumps({"environment": environment, "steps": steps}, ensure_ascii=False, indent=1)
    for name, text in (("summary.md", summary), ("results.json", record)):
        tmp = out / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out / name)
    tmp = out / ".logs.tgz.tmp"
    with tarfile.open(tmp, "w:gz") as archive:
        for sub in ("logs", "figures", "results"):
            if (state / sub).exists():
                archive.add(state / sub, arcname=sub)
    tmp.replace(out / "logs.tgz")
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/gpu_all.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="摘要、记录和日志写到这里")
    parser.add_argument("--state", type=Path, default=Path("/tmp/dlbook-check"), help="做完的步骤记在这里")
    parser.add_argument("--seconds", type=float, default=540.0, help="这次调用最多运行多少秒（默认 540）")
    parser.add_argument("--jobs", type=int, default=4, help="不计时的一组最多几个同时跑（默认 4）")
    parser.add_argument(
        "--timed-reserve", type=float, default=TIMED_RESERVE_SECONDS,
        help=f"计时的一组前面的不计时的组最多用到离时限还剩多少秒（默认 {TIMED_RESERVE_SECONDS:.0f}）",
    )  # fmt: skip
    parser.add_argument("--only", nargs="+", metavar="STEP", help="只做这几步（默认全部）")
    args = parser.parse_args(argv)
    plan = default_plan()
    if args.only:
        unknown = set(args.only) - {s.name for s in plan}
        if unknown:
            parser.error(f"没有这些步骤：{sorted(unknown)}；可选 {[s.name for s in plan]}")
        plan = [s for s in plan if s.name in args.only]
    if args.jobs < 1:
        parser.error("--jobs 至少为 1")
    environment = _environment()

    def write(status: dict[str, dict[str, Any]]) -> str:
        return write_outputs(args.state, args.out, collect(args.state, status), environment=environment)

    received: list[str] = []  # 信号处理函数只记下来；run_plan 在等待步骤时查看（见它的 stop 参数）

    def interrupt(signum: int, _frame: object) -> None:
        received.append(signal.Signals(signum).name)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, interrupt)
    status = run_plan(
        plan, state=args.state, seconds=args.seconds, jobs=args.jobs, timed_reserve=args.timed_reserve,
        on_change=write, stop=lambda: received[0] if received else None,
    )  # fmt: skip
    _say(write(status))
    ok = all(s["status"] in ("ok", "skipped") and s.get("status_before", "ok") == "ok" for s in status.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
