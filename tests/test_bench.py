"""dlbook.bench：``python -m dlbook.bench`` 的输出格式、参数检查与计时工具。不检查任何速度数字。"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import pytest
import torch

from dlbook import bench
from dlbook.bench import BenchConfig, run
from dlbook.text import text_width
from dlbook.train import History
from tests.conftest import ROOT, load_script

KEYS = {
    "model", "device", "mode", "epochs", "batch_size", "lr", "resize", "seed", "train_examples",
    "examples_per_sec", "examples_per_sec_overall", "wall_seconds", "compile_seconds",
    "test_acc", "train_acc", "train_loss", "torch", "python", "hardware", "cpu_threads", "date",
}  # fmt: skip
TINY = ["--epochs", "2", "--device", "cpu", "--subset", "512", "--test-subset", "256"]


def test_cli_prints_one_json_line_per_run():
    proc = subprocess.run(
        [sys.executable, "-m", "dlbook.bench", *TINY, "--mode", "plain", "fast", "--threads", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert not proc.stderr.strip(), proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2
    plain, fast = (json.loads(line) for line in lines)
    assert set(plain) == KEYS
    assert (plain["mode"], fast["mode"]) == ("plain", "fast")
    # d2l 的 LeNet 配方
    assert (plain["model"], plain["batch_size"], plain["lr"], plain["resize"]) == ("lenet", 256, 0.9, 28)
    assert plain["epochs"] == 2 and plain["train_examples"] == 512 and plain["device"] == "cpu"
    assert plain["seed"] == 0
    assert plain["examples_per_sec"] > 0 and plain["wall_seconds"] > 0
    assert plain["compile_seconds"] == 0.0 and plain["cpu_threads"] == 1
    assert plain["torch"] == torch.__version__ and plain["hardware"] and plain["date"][:2] == "20"
    # CPU 上 fast 与 plain 做的计算相同
    assert fast["test_acc"] == plain["test_acc"] and fast["train_loss"] == plain["train_loss"]


def test_run_other_models_with_their_recipe():
    import time

    start = time.perf_counter()
    record = run(
        BenchConfig(model="resnet18", epochs=1, device="cpu", resize=16, batch_size=32, subset=64, test_subset=32)
    )
    assert 0 < record["wall_seconds"] <= time.perf_counter() - start + 0.01  # fit 的用时，在 run 的用时之内
    assert (record["model"], record["lr"], record["resize"], record["batch_size"]) == ("resnet18", 0.05, 16, 32)
    assert record["compile_seconds"] == 0.0 and 0 <= record["test_acc"] <= 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "transformer"], "invalid choice: 'transformer'"),
        (["--mode", "turbo"], "invalid choice: 'turbo'"),
        (["--device", "tpu"], "未知的设备 'tpu'"),
        (["--epochs", "0"], "应为正整数"),
    ],
)
def test_cli_rejects_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        bench.main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="这台机器有 CUDA")
def test_cli_rejects_missing_cuda(capsys):
    with pytest.raises(SystemExit) as exc:
        bench.main(["--device", "cuda"])
    assert exc.value.code == 2
    assert "没有可用的 CUDA" in capsys.readouterr().err


def test_cli_reports_a_failed_run_and_measures_the_other_modes(monkeypatch, capsys):
    def run_or_fail(config):
        if config.mode == "compile":
            raise RuntimeError("找不到 C++ 编译器")
        if config.mode == "fast":
            raise ValueError("批量太大")
        if config.mode == "cudagraphs":  # 编译器内部的断言之类：也不能让其余的模式量不成
            raise AssertionError("Inductor 内部错误")
        return {"mode": config.mode}

    monkeypatch.setattr(bench, "run", run_or_fail)
    assert bench.main(["--device", "cpu", "--mode", "compile", "fast", "cudagraphs", "plain"]) == 1
    out, err = capsys.readouterr()
    assert "模式 compile 失败：找不到 C++ 编译器" in err and "模式 fast 失败：批量太大" in err
    assert "模式 cudagraphs 失败：Inductor 内部错误" in err
    assert err.count("Traceback") == 2  # 编译器、CUDA 的错误带回溯；dlbook 自己检查出的错误只要一行
    assert json.loads(out) == {"mode": "plain"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "gpt"}, "未知的模型"),
        ({"mode": "turbo"}, "未知的模式"),
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 0}, "batch_size 应为正数"),  # 从前 0 被悄悄换成配方的 256
        ({"resize": -1}, "resize 应为正数"),
        ({"lr": 0.0}, "lr 应为正数"),
    ],
)
def test_bench_config_checks_its_fields(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BenchConfig(**kwargs)


def test_every_model_has_a_recipe():
    from dlbook.models import MODELS

    # SpeedNet 是速通（dlbook.speedrun）用的网络，不在 d2l 里，没有 d2l 的配方
    assert set(bench.RECIPES) == set(MODELS) - {"speednet"}


def test_run_starts_from_d2ls_xavier_initialisation(monkeypatch):
    import dlbook.train

    initialised = []
    real = dlbook.train.init_xavier
    monkeypatch.setattr(dlbook.train, "init_xavier", lambda m: (initialised.append(type(m).__name__), real(m)))
    run(BenchConfig(epochs=1, device="cpu", subset=64, test_subset=32))
    assert initialised.count("Conv2d") == 2 and initialised.count("Linear") == 3  # LeNet 的每一层


def test_time_interleaved_warms_every_step_up_and_times_each_repeat_times():
    calls = {"a": 0, "b": 0}

    def step(name):
        return lambda: calls.__setitem__(name, calls[name] + 1)

    times = bench.time_interleaved({"a": step("a"), "b": step("b")}, steps=2, warmup=3, repeat=4)
    assert calls == {"a": 3 + 4 * 2, "b": 3 + 4 * 2} and set(times) == {"a", "b"}
    assert set(bench.time_interleaved({"a": step("a")}, steps=1, repeat=1)) == {"a"}  # 一遍也行
    with pytest.raises(ValueError, match="repeat 至少为 1，而不是 0"):
        bench.time_interleaved({"a": step("a")}, steps=1, repeat=0)


def test_time_interleaved_takes_each_steps_fastest_repeat(monkeypatch):
    # 别的程序只会让一遍变慢：取最快的一遍（不是平均，也不是最后一遍）
    laps = {"a": iter([3.0, 1.0, 2.0]), "b": iter([5.0, 6.0, 4.0])}
    order = []

    def fake_time_per_step(step, *, steps, warmup, device):
        name = step()
        order.append(name)
        return next(laps[name])

    monkeypatch.setattr(bench, "time_per_step", fake_time_per_step)
    times = bench.time_interleaved({"a": lambda: "a", "b": lambda: "b"}, steps=1, warmup=0, repeat=3)
    assert times == {"a": 1.0, "b": 4.0}
    assert order == ["a", "b"] * 3  # 轮流：A、B、A、B……


def test_time_per_step_starts_the_clock_after_the_warmup(monkeypatch):
    # 每调用一次 step，假时钟走 1 秒：预热的 2 次不能算进去
    from types import SimpleNamespace

    now = [0.0]
    monkeypatch.setattr(bench, "time", SimpleNamespace(perf_counter=lambda: now[0]))

    def step():
        now[0] += 1.0

    assert bench.time_per_step(step, steps=3, warmup=2) == 1.0


def test_compile_seconds_is_the_first_epoch_overhead():
    history = History(seconds=[9.0, 2.0, 3.0, 2.5])
    assert bench._compile_seconds(history, compiled=True) == pytest.approx(6.5)
    assert bench._compile_seconds(history, compiled=False) == 0.0
    assert bench._compile_seconds(History(seconds=[9.0]), compiled=True) is None
    assert bench._compile_seconds(History(seconds=[1.0, 2.0]), compiled=True) == 0.0  # 不为负


def test_time_per_step_counts_only_timed_steps():
    calls = []
    seconds = bench.time_per_step(lambda: calls.append(1), steps=3, warmup=2)
    assert len(calls) == 5 and seconds >= 0
    with pytest.raises(ValueError, match="steps"):
        bench.time_per_step(lambda: None, steps=0)


def test_environment_line_names_hardware_version_and_date(monkeypatch):
    monkeypatch.setattr(bench.os, "getloadavg", lambda: (0.5, 0.5, 0.5))
    line = bench.environment("cpu")
    assert bench.hardware_name("cpu") in line and torch.__version__ in line
    assert bench._now()[:10] in line
    assert len(line.splitlines()) == 2  # 不忙：没有提醒


@pytest.mark.parametrize(("load", "cores", "busy"), [(3.4, 2, True), (2.0, 2, False), (0.3, 2, False), (9.0, 16, False)])
def test_a_busy_machine_is_named_beside_the_timings(monkeypatch, load, cores, busy):
    monkeypatch.setattr(bench.os, "getloadavg", lambda: (load, 0.0, 0.0))
    monkeypatch.setattr(bench.os, "cpu_count", lambda: cores)
    lines = bench.environment("cpu").splitlines()
    assert len(lines) == (3 if busy else 2)
    if busy:
        assert lines[2] == bench.busy_note() and f"负载 {load:.1f}，{cores} 个核" in lines[2]
        assert text_width(lines[2]) <= 80  # 页面上的输出框放得下


def test_no_load_average_means_no_note(monkeypatch):
    def missing():
        raise OSError("no load average")

    monkeypatch.setattr(bench.os, "getloadavg", missing)
    assert bench.busy_note() is None


def _right_edges(line: str) -> list[int]:
    """每一段非空白文字的右边在第几列（汉字占两列）。"""
    from dlbook.text import text_width

    return [text_width(line[: m.end()]) for m in re.finditer(r"\S+", line)]


def test_d2l_comparison_table_lines_up(capsys):
    # benchmarks/d2l_lenet.py 的表头曾按字符个数补空格：汉字占两列，表头比数据宽了 13 列
    module = load_script("benchmarks/d2l_lenet.py")
    d2l = {"examples_per_sec": 12345.0, "wall_seconds": 50.2, "test_acc": 0.81}
    ours = [{"mode": "plain", "examples_per_sec_overall": 40000.0, "wall_seconds": 20.0, "test_acc": 0.82}]
    module._table("标题", d2l, ours)
    module._table("标题", None, ours)  # d2l 一边失败了：只有 dlbook 的数字
    lines = capsys.readouterr().out.splitlines()
    for _, header, *rows in (lines[:4], lines[4:]):
        for row in rows:
            assert _right_edges(row)[-5:] == _right_edges(header), (header, row)
    assert lines[7].split()[-5:] == ["40000", "20.0", "0.820", "—", "—"]


@pytest.mark.slow
def test_d2l_comparison_still_measures_dlbook_when_a_side_fails(capsys, monkeypatch):
    # GPU 上只有一次机会：d2l 没装上、或 dlbook 的某个模式失败时，其余的数字照样量出来，退出码 1
    module = load_script("benchmarks/d2l_lenet.py")
    monkeypatch.setattr(module, "_d2l_version", lambda: (_ for _ in ()).throw(ImportError("没有 d2l")))
    code = module.main(["--epochs", "1", "--threads", "1", "--modes", "plain", "no-such-mode"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "没有安装 d2l" in err and "dlbook no-such-mode 失败" in err
    record = json.loads(next(line for line in out.splitlines() if line.startswith("dlbook {"))[len("dlbook "):])
    assert record["mode"] == "plain" and record["epochs"] == 1 and 0 <= record["test_acc"] <= 1
    assert "d2l train_ch6" in out and "失败" in out


def test_within_noise_is_relative_to_the_reference():
    from dlbook.bench import NOISE, within_noise

    assert NOISE == 0.10
    assert within_noise(2.0, 2.19) and within_noise(2.0, 1.81)
    assert not within_noise(2.0, 2.21) and not within_noise(2.0, 1.79)
    assert not within_noise(4.0, 4.4)  # 10%（浮点数里是 0.10000000000000009）：不算噪声
    assert not within_noise(4.0, 5.0, noise=0.25) and not within_noise(4.0, 3.0, noise=0.25)  # 浮点数里也恰好是边界
    assert within_noise(2.0, 2.5, noise=0.3) and not within_noise(2.0, 2.5, noise=0.2)


def test_inductor_cache_hits_reads_dynamos_counter():
    from torch._dynamo.utils import counters

    from dlbook.bench import inductor_cache_hits

    before = inductor_cache_hits()
    assert isinstance(before, int) and before >= 0
    counters["inductor"]["fxgraph_cache_hit"] += 2
    try:
        assert inductor_cache_hits() == before + 2
    finally:
        counters["inductor"]["fxgraph_cache_hit"] -= 2


def test_cudagraph_skips_counts_what_inductor_gave_up(monkeypatch):
    from torch._dynamo.utils import counters

    before = bench.cudagraph_skips()
    monkeypatch.setitem(counters["inductor"], "cudagraph_skips", before + 2)
    assert bench.cudagraph_skips() == before + 2


@pytest.mark.slow
def test_cudagraph_skips_reads_the_counter_inductor_really_bumps():
    # 上一个测试自己写计数器；这里让 Inductor 自己写：CPU 上的张量用不了 CUDA 图，它放弃一次。
    # 计数器改了名字时 cudagraph_skips() 会一直是 0，test_cuda 里“等于 0”的断言就白做了。
    torch._dynamo.reset()
    before = bench.cudagraph_skips()
    f = torch.compile(lambda x: (x * 2).sin(), mode="reduce-overhead")
    f(torch.randn(8))
    assert bench.cudagraph_skips() == before + 1
    torch._dynamo.reset()


def test_hardware_name_on_the_cpu_reads_the_model_name_from_proc_cpuinfo():
    from pathlib import Path

    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        pytest.skip("没有 /proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
    if not names:
        pytest.skip("/proc/cpuinfo 里没有 model name")
    expected = bench.short_cpu_name(names[0])
    assert bench.hardware_name("cpu") == f"{expected}（PyTorch 用 {torch.get_num_threads()} 个线程）"


def test_hardware_name_falls_back_to_the_platform_without_proc_cpuinfo(monkeypatch):
    # 没有 /proc/cpuinfo 的系统（macOS、Windows）：用 platform 报的名字；连它也是空的时候说“未知 CPU”
    def no_cpuinfo(*args, **kwargs):
        raise FileNotFoundError("/proc/cpuinfo")

    monkeypatch.setattr(bench, "open", no_cpuinfo, raising=False)
    monkeypatch.setattr(bench.platform, "processor", lambda: "")
    monkeypatch.setattr(bench.platform, "machine", lambda: "arm64")
    assert bench.hardware_name("cpu").startswith("arm64（")
    monkeypatch.setattr(bench.platform, "machine", lambda: "")
    assert bench.hardware_name("cpu").startswith("未知 CPU（")


@pytest.mark.parametrize(
    "raw",
    [
        "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz",
        "11th Gen Intel(R) Core(TM) i7-1185G7 @ 3.00GHz",
        "AMD EPYC 7763 64-Core Processor",
        "Some Vendor " + "Very Long Model Name " * 4,
    ],
)
def test_environment_lines_fit_the_page_whatever_the_cpu_is_called(raw, monkeypatch):
    # 示例把 environment() 印在输出里，每行不能超过代码框的宽度；型号只由运行的机器决定，
    # 这里的机器名字短，换一台 CI 机器就可能超出
    from dlbook.gallery.notebook import CODE_COLUMNS

    monkeypatch.setattr(bench, "_cpu_name", lambda: bench.short_cpu_name(raw))
    monkeypatch.setattr(torch, "get_num_threads", lambda: 128)
    for line in bench.environment("cpu").splitlines():
        assert text_width(line) <= CODE_COLUMNS, line
    name = bench.hardware_name("cpu")
    assert "(R)" not in name and "GHz" not in name and len(bench.short_cpu_name(raw)) <= bench.CPU_NAME_LIMIT


RECIPE_SCRIPTS = {
    "lenet": "cnn_basics/plot_lenet.py",
    "lenet_bn": "modern_cnn/plot_batch_norm.py",
    "alexnet": "modern_cnn/plot_alexnet.py",
    "vgg11": "modern_cnn/plot_vgg.py",
    "nin": "modern_cnn/plot_nin.py",
    "googlenet": "modern_cnn/plot_googlenet.py",
    "resnet18": "modern_cnn/plot_resnet.py",
    "densenet": "modern_cnn/plot_densenet.py",
}


def _full_settings(script) -> dict:
    """示例脚本顶层的 ``名字 = 常数`` 与 ``名字 = dlbook.pick(quick=…, full=常数)``：full 模式下的值。"""
    import ast

    settings = {}
    for node in ast.parse(script.read_text(encoding="utf-8")).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        value = node.value
        if isinstance(value, ast.Call) and ast.unparse(value.func) == "dlbook.pick":
            value = next(k.value for k in value.keywords if k.arg == "full")
        if isinstance(value, ast.Constant):
            settings[node.targets[0].id] = value.value
    return settings


@pytest.mark.parametrize("model", sorted(bench.RECIPES))
def test_the_chapter_example_trains_with_the_recipe_the_benchmark_measures(model):
    # 页面上 full 模式的训练与 python -m dlbook.bench 量的是同一个 d2l 配方：改了一边、忘了另一边就不再可比
    assert set(RECIPE_SCRIPTS) == set(bench.RECIPES)
    full = _full_settings(ROOT / "gallery" / RECIPE_SCRIPTS[model])
    recipe = bench.RECIPES[model]
    assert (full["lr"], full["batch_size"], full.get("resize"), full["epochs"]) == (
        recipe.lr, recipe.batch_size, recipe.resize, 10,
    )


def test_each_mode_turns_on_what_its_name_says():
    from dlbook.fast import FastConfig

    modes = bench.MODES
    assert modes["plain"] is False and modes["fast"] == FastConfig()  # 没有快速路径；快速路径的默认开关（不编译）
    assert modes["compile"] == FastConfig(compile=True) and not modes["compile"].cuda_graphs
    assert modes["cudagraphs"] == FastConfig(compile=True, cuda_graphs=True)
    assert bench._parser().parse_args([]).epochs == 10  # d2l 的配方训练 10 轮


def test_time_per_step_divides_the_timed_span_by_the_steps(monkeypatch):
    from types import SimpleNamespace

    clock = iter([2.0, 12.0])
    monkeypatch.setattr(bench, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
    assert bench.time_per_step(lambda: None, steps=5) == 2.0
    clock = iter([0.0, 3.0])
    assert bench.time_per_step(lambda: None, steps=1, warmup=0) == 3.0  # 一步也行


def test_the_record_takes_steady_speed_without_the_first_epoch_and_overall_speed_with_it(monkeypatch):
    import dlbook.train

    history = History(
        epoch=[1, 2, 3, 4], train_loss=[0.9, 0.5, 0.4, 0.3], train_acc=[0.5, 0.7, 0.8, 0.85],
        test_acc=[0.5, 0.6, 0.7, 0.75], examples_per_sec=[16.0, 64.0, 32.0, 128.0], seconds=[4.0, 1.0, 2.0, 0.5],
    )  # fmt: skip
    monkeypatch.setattr(dlbook.train, "fit", lambda *args, **kwargs: history)
    record = run(BenchConfig(epochs=4, device="cpu", subset=64, test_subset=32))
    assert record["examples_per_sec"] == 64.0  # 第 2 到 4 轮的中位数：第一轮（编译、预热）不算
    # 64 张图 × 4 轮，除以各轮训练用时之和 64/16 + 64/64 + 64/32 + 64/128 = 7.5 秒
    assert record["examples_per_sec_overall"] == round(64 * 4 / 7.5, 1)
    assert (record["test_acc"], record["train_loss"], record["compile_seconds"]) == (0.75, 0.3, 0.0)


@pytest.mark.parametrize("compile_s", [0.0, 0.4, 3.0, 60.0, 600.0, 1e5])
@pytest.mark.parametrize("compiled_s", [0.0001, 0.004, 0.0089, 0.0095, 0.011, 0.05])
def test_break_even_is_compile_time_over_the_saving_and_fits_its_column(compile_s, compiled_s):
    eager_s = 0.010
    text = bench.break_even(compile_s, eager_s, compiled_s)
    assert text_width(text) <= 11, text  # plot_compile_speed 的表格给这一列留了 11 列
    if bench.within_noise(eager_s, compiled_s):
        assert text == "看不出"
    elif compiled_s > eager_s:
        assert text == "永不"
    elif compile_s / (eager_s - compiled_s) > 100_000:
        assert text == "10 万步以上"
    else:
        steps = max(math.ceil(compile_s / (eager_s - compiled_s)), 1)
        assert text == f"{steps:,} 步"


def test_bench_config_takes_small_positive_overrides():
    config = BenchConfig(batch_size=1, resize=1, lr=0.05)  # 最小的正数也行：0 和负数才不行
    assert (config.batch_size, config.resize, config.lr) == (1, 1, 0.05)
