"""scripts/gpu_check.sh 的外壳：在 CPU 上以 quick 模式检查它怎样运行示例、收集输出、传递失败。

真正的 GPU 检查只能在有 GPU 的机器上做（见 README 的“在 GPU 上检查”）；这里保证那时脚本本身不出错。
"""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, quick_env

SCRIPT = ROOT / "scripts" / "gpu_check.sh"


def _run(tmp_path: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = quick_env(
        OUT=str(tmp_path / "out"),
        DLBOOK_FIGURES=str(tmp_path / "unused"),
        DLBOOK_DEVICE_DATA=str(tmp_path / "no-kit"),  # 不用开发机上为 GPU 机器准备的轮子（可能是别的 Python 版本的）
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
