"""scripts/gpu_check.sh 的外壳：在 CPU 上以 quick 模式检查它怎样运行示例、收集输出、传递失败。

真正的 GPU 检查只能在有 GPU 的机器上做（见 MAINTAINING.md 的“在 GPU 上检查”）；这里保证那时脚本本身不出错。
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, load_script, quick_env

SCRIPT = ROOT / "scripts" / "gpu_check.sh"


def _run(tmp_path: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = quick_env(
        OUT=str(tmp_path / "out"),
        DLBOOK_FIGURES=str(tmp_path / "unused"),
        DLBOOK_DEVICE_DATA=str(tmp_path / "no-kit"),  # 不用开发机上为 GPU 机器准备的轮子（可能是别的 Python 版本的）
        CHECK_STATE=str(tmp_path / "state"),  # all：每个测试自己的状态目录
    )
    return subprocess.run(
        ["bash", str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_run_collects_logs_and_figures(tmp_path):
    proc = _run(tmp_path, "run", "gallery/cnn_basics/plot_padding_stride.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "== gallery/cnn_basics/plot_padding_stride.py：退出码 0" in proc.stdout
    with tarfile.open(tmp_path / "out" / "logs.tgz") as archive:
        names = archive.getnames()
    assert "./plot_padding_stride.log" in names
    assert not (tmp_path / "out" / "work").exists()  # 打包后删掉，$OUT 里只留一个文件


def test_run_reports_a_failing_script(tmp_path):
    broken = tmp_path / "plot_broken.py"
    broken.write_text('"""\n坏的\n====\n"""\n\n# %%\nraise RuntimeError("故意出错")\n')
    proc = _run(tmp_path, "run", str(broken))
    assert proc.returncode == 1
    assert "退出码 1" in proc.stdout and "RuntimeError" in proc.stdout
    with tarfile.open(tmp_path / "out" / "logs.tgz") as archive:
        log = archive.extractfile("./plot_broken.log").read().decode()
    assert "故意出错" in log


@pytest.mark.parametrize("args", [["nonsense"], ["run"]])
def test_bad_arguments_exit_2(tmp_path, args):
    proc = _run(tmp_path, *args)
    assert proc.returncode == 2
    assert proc.stderr.strip()


def test_run_uses_the_data_in_the_kit(tmp_path):
    kit = tmp_path / "kit"
    (kit / "fashion-mnist").mkdir(parents=True)
    script = tmp_path / "plot_env.py"
    script.write_text('"""\n环境\n====\n"""\n\n# %%\nimport os\n\nprint("数据目录", os.environ["DLBOOK_DATA"])\n')
    env = quick_env(OUT=str(tmp_path / "out"), DLBOOK_DEVICE_DATA=str(kit))
    proc = subprocess.run(
        ["bash", str(SCRIPT), "run", str(script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with tarfile.open(tmp_path / "out" / "logs.tgz") as archive:
        log = archive.extractfile("./plot_env.log").read().decode()
    assert f"数据目录 {kit / 'fashion-mnist'}" in log


# ---------------------------------------------------------------------------
# scripts/gpu_all.py：一次调用做完全部检查（gpu_check.sh all）
# ---------------------------------------------------------------------------


def _gpu_all():
    return load_script("scripts/gpu_all.py")


def _py(code: str) -> tuple[str, ...]:
    import sys

    return (sys.executable, "-c", code)


def test_plan_runs_what_fits_and_resumes_where_it_stopped(tmp_path):
    gpu_all = _gpu_all()
    Step = gpu_all.Step
    state = tmp_path / "state"
    trace = tmp_path / "trace.txt"
    steps = [
        # good 等 slow 开始了才结束：不然机器忙时 good 可能在 slow 开始之前就做完了
        Step("good", _append(trace, "good", together_with="slow")),
        Step("bad", _py("import sys; print('坏了'); sys.exit(3)")),
        Step("slow", _append(trace, "slow", seconds=60)),
        Step("timed", _py("print('计时')"), timed=True),
    ]
    snapshots = []  # 每当一步结束时的状态：调用方借此随时写出摘要
    status = gpu_all.run_plan(
        steps, state=state, seconds=6, jobs=3, min_start=0.5,
        on_change=lambda now: snapshots.append({n: s["status"] for n, s in now.items()}),
    )  # fmt: skip
    assert set(snapshots[0].values()) == {"not started"}  # 一开始就写出一份
    after_good = next(snap for snap in snapshots if snap["good"] == "ok")
    assert after_good["slow"] == "running" and after_good["timed"] == "not started"
    assert snapshots[-1]["slow"] == "timeout"
    assert {n: s["status"] for n, s in status.items()} == {
        "good": "ok", "bad": "failed", "slow": "timeout", "timed": "not started",
    }  # fmt: skip
    assert status["bad"]["returncode"] == 3
    assert sorted(gpu_all.load_done(state)) == ["bad", "good"]  # 超时的不算做完
    assert (state / "logs" / "bad.log").read_text(encoding="utf-8").strip() == "坏了"

    # 再调用一次：做完的跳过，超时的重做；这次第一组做完了，计时的一组才开始。
    fast = [s if s.name != "slow" else Step("slow", _py("print('这次快了')")) for s in steps]
    again = gpu_all.run_plan(fast, state=state, seconds=30, jobs=3, min_start=0.5)
    assert {n: s["status"] for n, s in again.items()} == {
        "good": "skipped", "bad": "skipped", "slow": "ok", "timed": "ok",
    }  # fmt: skip
    assert again["bad"]["status_before"] == "failed"
    summary = gpu_all.summary_markdown(gpu_all.collect(state, again), environment="硬件：测试")
    assert "### bad（skipped）" in summary and "坏了" in summary  # 以前失败的步骤，日志末尾仍在摘要里


def _append(path: Path, name: str, *, together_with: str | None = None, seconds: float = 1) -> tuple[str, ...]:
    """一个步骤：开始时写 ``+名字;``，睡 ``seconds`` 秒，结束时写 ``-名字;``（看得出谁与谁同时跑）。

    ``together_with``：睡之前先等到那一步也开始了（最多 30 秒）。两步同时跑时总能等到；
    一个接一个地跑时，先开始的那步等满 30 秒才结束，另一步在它之后才开始：不靠机器快慢来判断。"""
    wait = (
        f"deadline = time.time() + 30\n"
        f"while '+{together_with};' not in open({str(path)!r}).read() and time.time() < deadline: time.sleep(0.05)\n"
        if together_with else ""
    )  # fmt: skip
    return _py(f"import time\nopen({str(path)!r}, 'a').write('+{name};')\n{wait}time.sleep({seconds})\n"
               f"open({str(path)!r}, 'a').write('-{name};')")  # fmt: skip


def test_plan_runs_its_groups_one_after_another(tmp_path):
    gpu_all = _gpu_all()
    Step = gpu_all.Step
    trace = tmp_path / "trace.txt"
    steps = [
        Step("a1", _append(trace, "a1", together_with="a2")),
        Step("a2", _append(trace, "a2", together_with="a1")),
        Step("t1", _append(trace, "t1"), timed=True),
        Step("t2", _append(trace, "t2"), timed=True),
        Step("b1", _append(trace, "b1")),
        Step("b2", _append(trace, "b2")),
    ]
    assert [[s.name for s in g] for g in gpu_all.groups(steps)] == [["a1", "a2"], ["t1", "t2"], ["b1", "b2"]]
    status = gpu_all.run_plan(steps, state=tmp_path / "state", seconds=60, jobs=4, min_start=0.5)
    assert {s["status"] for s in status.values()} == {"ok"}
    text = trace.read_text()
    # 第一组两个同时跑；计时的两个一个接一个、不与别的重叠；第三组在它们之后才开始
    events = text.rstrip(";").split(";")
    t1 = events.index("+t1")
    assert sorted(events[:t1]) == ["+a1", "+a2", "-a1", "-a2"]
    assert events[0].startswith("+") and events[1].startswith("+")  # a1、a2 同时在跑
    assert events[t1 : t1 + 4] == ["+t1", "-t1", "+t2", "-t2"]  # 计时的一个接一个，不与别的重叠
    assert sorted(events[t1 + 4 :]) == ["+b1", "+b2", "-b1", "-b2"]
    assert status["t1"]["concurrent"] is False and status["b1"]["concurrent"] is True


def test_plan_starts_no_later_group_while_an_earlier_one_is_unfinished(tmp_path):
    gpu_all = _gpu_all()
    Step = gpu_all.Step
    steps = [Step("slow", _py("import time; time.sleep(60)")), Step("t", _py("pass"), timed=True), Step("b", _py("pass"))]
    status = gpu_all.run_plan(steps, state=tmp_path, seconds=3, jobs=4, min_start=0.5)
    assert [status[n]["status"] for n in ("slow", "t", "b")] == ["timeout", "not started", "not started"]


def test_an_interrupted_plan_stops_its_steps_and_says_so(tmp_path):
    gpu_all = _gpu_all()
    Step = gpu_all.Step
    steps = [Step("long", _py("import time; time.sleep(60)")), Step("after", _py("pass"))]
    received = []  # 就像 SIGTERM 在 long 跑着时到来：main 的信号处理函数把它记在这里

    def on_change(now):
        if now["long"]["status"] == "running":
            received.append("SIGTERM")

    status = gpu_all.run_plan(
        steps, state=tmp_path, seconds=60, jobs=1, min_start=0.5, on_change=on_change,
        stop=lambda: received[0] if received else None,
    )  # fmt: skip
    assert status["long"]["status"] == "interrupted" and status["long"]["returncode"] == -15
    assert status["after"]["status"] == "not started"
    assert gpu_all.load_done(tmp_path) == {}  # 被终止的不算做完：下次重做


def test_untimed_steps_before_the_timed_group_leave_it_its_reserve(tmp_path):
    gpu_all = _gpu_all()
    Step = gpu_all.Step
    steps = [
        Step("slow", _py("import time; time.sleep(60)")),
        Step("queued", _py("pass")),  # 同一组，排在 slow 后面（jobs=1），到这一组的时限还没开始
        Step("timed", _py("print('计时')"), timed=True),
        Step("after", _py("import time; time.sleep(60)")),  # 计时的组后面的不计时的组：用到总时限
    ]
    start = time.monotonic()
    status = gpu_all.run_plan(steps, state=tmp_path, seconds=8, jobs=1, min_start=0.5, timed_reserve=5)
    assert {n: s["status"] for n, s in status.items()} == {
        "slow": "timeout", "queued": "not started", "timed": "ok", "after": "timeout",
    }  # fmt: skip
    assert status["slow"]["seconds"] < 5 and time.monotonic() - start >= 8


def test_a_summary_that_fails_to_write_does_not_stop_the_plan(tmp_path, capsys):
    gpu_all = _gpu_all()
    steps = [gpu_all.Step("one", _py("pass")), gpu_all.Step("two", _py("pass"))]

    def on_change(now):
        raise OSError("磁盘满了")

    status = gpu_all.run_plan(steps, state=tmp_path, seconds=30, jobs=1, min_start=0.5, on_change=on_change)
    assert [s["status"] for s in status.values()] == ["ok", "ok"]
    assert "OSError: 磁盘满了" in capsys.readouterr().err


def test_steps_import_dlbook_from_this_checkout(tmp_path, monkeypatch):
    gpu_all = _gpu_all()
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    step = gpu_all.Step("env", _py("import os; print(os.environ['PYTHONPATH'])"))
    gpu_all.run_plan([step], state=tmp_path, seconds=30, jobs=1, min_start=0.5)
    printed = (tmp_path / "logs" / "env.log").read_text(encoding="utf-8").strip()
    assert printed == f"{ROOT}{os.pathsep}/elsewhere"


def test_steps_get_a_process_group_of_their_own_in_the_callers_session(tmp_path):
    # 自己的进程组：超时时连同子进程一起终止；同一个会话：这个脚本被 SIGKILL 时，借机器的一方收拾会话时也收拾它们
    gpu_all = _gpu_all()
    step = gpu_all.Step("ids", _py("import os; print(os.getpid(), os.getpgid(0), os.getsid(0))"))
    gpu_all.run_plan([step], state=tmp_path, seconds=30, jobs=1, min_start=0.5)
    pid, pgid, sid = map(int, (tmp_path / "logs" / "ids.log").read_text(encoding="utf-8").split())
    assert pgid == pid != os.getpgid(0)
    assert sid == os.getsid(0)


def _processes_with(marker: str) -> list[int]:
    """环境变量里含有 ``marker`` 的进程（步骤的环境里有它自己的状态目录）。"""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker.encode() in (proc / "environ").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.mark.slow
@pytest.mark.parametrize("reader", ["alive", "gone"])
def test_sigterm_to_the_all_phase_stops_the_running_steps_and_writes_the_summary(tmp_path, reader):
    # reader="gone"：输出接在 `| tee` 上，外面到时限时连 tee 一起终止，之后的每次打印都是 BrokenPipeError
    state = tmp_path / "state"
    env = quick_env(OUT=str(tmp_path / "out"), DLBOOK_DEVICE_DATA=str(tmp_path / "no-kit"), CHECK_STATE=str(state))
    proc = subprocess.Popen(
        ["bash", str(SCRIPT), "all", "--only", "resnet"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    log = state / "logs" / "resnet.log"
    deadline = time.monotonic() + 120
    while not (log.exists() and log.stat().st_size > 0) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert log.exists(), "resnet 这一步没有开始"
    if reader == "gone":
        proc.stdout.close()
    proc.send_signal(signal.SIGTERM)  # 外面的 timeout 就是这样终止命令的；exec 之后这个进程就是 gpu_all.py
    if reader == "alive":
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode == 1, output
        assert "收到 SIGTERM" in output
    else:
        proc.wait(timeout=60)
    summary = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "| resnet | interrupted |" in summary
    deadline = time.monotonic() + 10  # 被 SIGKILL 的孙进程退出要一点时间：等一等，而不是立刻查
    while _processes_with(str(state)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_with(str(state)) == []  # 示例脚本和它的子进程都结束了


def test_plan_does_not_start_a_step_it_cannot_finish(tmp_path):
    gpu_all = _gpu_all()
    # 开始时还剩 20 秒，够 min_start；one 做完后最多还剩 14 秒，不够。Python 启动慢（机器忙）也有几秒余量
    steps = [gpu_all.Step("one", _py("import time; time.sleep(6)")), gpu_all.Step("two", _py("pass"))]
    status = gpu_all.run_plan(steps, state=tmp_path, seconds=20, jobs=1, min_start=15)
    assert status["one"]["status"] == "ok" and status["two"]["status"] == "not started"


def test_plan_refuses_duplicate_names(tmp_path):
    gpu_all = _gpu_all()
    with pytest.raises(ValueError, match="重复"):
        gpu_all.run_plan([gpu_all.Step("a", _py("pass"))] * 2, state=tmp_path, seconds=5, jobs=1)


def test_summary_compares_results_with_the_targets(tmp_path):
    gpu_all = _gpu_all()
    record = {"params": 1, "train_loss": 0.3, "examples_per_sec": 1.0, "epochs": 10, "seconds": 60.0,
              "device": "cuda", "mode": "full", "note": "224×224"}  # fmt: skip
    reports = {
        "alexnet": {**record, "name": "AlexNet", "test_acc": 0.9012, "train_acc": 0.91},
        "nin": {**record, "name": "NiN", "test_acc": 0.1, "train_acc": 0.1},
    }
    bench = [
        'd2l    {"side": "d2l", "examples_per_sec": 61000.0, "test_acc": 0.79}',
        'dlbook {"model": "lenet", "mode": "cudagraphs", "examples_per_sec": 900000.0, '
        '"examples_per_sec_overall": 600000.0, "compile_seconds": 12.5, "test_acc": 0.8, "cudagraph_skips": 0}',
        'dlbook {"model": "lenet", "mode": "cudagraphs", "examples_per_sec": 500000.0, '
        '"examples_per_sec_overall": 400000.0, "compile_seconds": 12.5, "test_acc": 0.8, "cudagraph_skips": 3}',
        'dlbook {"model": "lenet", "mode": "compile", "examples_per_sec": 700000.0, '
        '"examples_per_sec_overall": 300000.0, "compile_seconds": 40.0, "test_acc": 0.8}',
    ]
    state = tmp_path / "state"
    for sub in ("logs", "results"):
        (state / sub).mkdir(parents=True)
    for name, r in reports.items():
        (state / "results" / f"{name}.jsonl").write_text(json.dumps(r, ensure_ascii=False) + "\n", encoding="utf-8")
        (state / "logs" / f"{name}.log").write_text("训练……\n", encoding="utf-8")
    warning = "UserWarning: 某个库的警告 kwargs={}"  # 带花括号、能解析成 JSON 的行不是记录，不能让摘要出错
    (state / "logs" / "bench_lenet.log").write_text("\n".join(["开始", warning, *bench, "表格"]), encoding="utf-8")
    status = {n: {"name": n, "status": "ok", "seconds": 1.0} for n in [*reports, "bench_lenet"]}
    steps = gpu_all.collect(state, status)
    text = gpu_all.write_outputs(state, tmp_path / "out", steps, environment="硬件：测试")
    alexnet = next(line for line in text.splitlines() if line.startswith("| alexnet | AlexNet"))
    nin = next(line for line in text.splitlines() if line.startswith("| nin | NiN"))
    assert "0.9012" in alexnet and alexnet.endswith("| 达到 |")
    assert nin.endswith("| **未达到** |")
    lenet = [line for line in text.splitlines() if line.startswith(("| bench_lenet | d2l", "| bench_lenet | dlbook"))]
    assert len(lenet) == 4 and lenet[1].endswith("| 达到 / 达到 |") and "600000" in lenet[1]
    assert "| cudagraphs |" in lenet[1]  # 没有放弃 CUDA 图：不另加说明
    assert "| cudagraphs（**CUDA 图被放弃 3 次**） |" in lenet[2]
    assert lenet[3].endswith("| 达到 / **未达到** |")  # 编译把含第一轮的速度拉到目标以下
    saved = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert saved["steps"]["alexnet"]["reports"][0]["test_acc"] == 0.9012
    with tarfile.open(tmp_path / "out" / "logs.tgz") as archive:
        assert "logs/bench_lenet.log" in archive.getnames()


def test_all_phase_runs_the_plan_and_writes_the_summary(tmp_path):
    proc = _run(tmp_path, "all", "--only", "tests", "resnet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "| tests | ok |" in summary and "| resnet | ok |" in summary
    assert "| resnet | ResNet-18（32×32） | quick | cpu |" in summary  # report() 的记录经 DLBOOK_RESULTS 收集
    assert "test_cuda.py：" in summary and "skipped" in summary  # 没有 GPU：CUDA 测试全部跳过
    with tarfile.open(tmp_path / "out" / "logs.tgz") as archive:
        assert "figures/resnet/plot_resnet-1.png" in archive.getnames()


def test_all_phase_rejects_an_unknown_step(tmp_path):
    proc = _run(tmp_path, "all", "--only", "nonsense")
    assert proc.returncode == 2 and "nonsense" in proc.stderr
