"""scripts/setup.sh 的护栏：在动手安装之前就发现装不了的情形。"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SYSTEM_PYTHON = Path("/usr/bin/python3")


def _externally_managed(python: Path) -> bool:
    code = "import sysconfig; print(sysconfig.get_path('stdlib'))"
    stdlib = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    return (Path(stdlib) / "EXTERNALLY-MANAGED").exists()


@pytest.mark.skipif(
    not SYSTEM_PYTHON.exists() or not _externally_managed(SYSTEM_PYTHON),
    reason="这台机器的 /usr/bin/python3 没有 PEP 668 的标记",
)
def test_setup_stops_before_installing_into_an_externally_managed_python():
    result = subprocess.run(
        ["bash", "scripts/setup.sh", "--test"], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHON": str(SYSTEM_PYTHON)},
    )  # fmt: skip
    assert result.returncode == 1
    assert "EXTERNALLY-MANAGED" in result.stderr and "python3 -m venv .venv" in result.stderr
    assert "bash scripts/setup.sh --test" in result.stderr  # 原样带上用户给的参数
    assert "==>" not in result.stdout  # 还没开始装任何东西


def test_setup_goes_on_with_a_python_that_may_be_installed_into():
    managed = Path(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED").exists()
    if managed and sys.prefix == sys.base_prefix:
        pytest.skip("运行测试的 Python 本身不许 pip 装包")
    script = (ROOT / "scripts/setup.sh").read_text()
    start = script.index('if "$PY" - <<')
    guard = script[start : script.index("\nfi\n", start) + 4]
    result = subprocess.run(
        ["bash", "-c", f"PY={sys.executable}\n{guard}\necho 接着安装"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stdout == "接着安装\n", result.stderr
