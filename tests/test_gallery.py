"""每个示例脚本在 quick 模式、CPU 上执行两次：单独运行（像读者那样），以及在 Jupyter 内核里（像网站构建那样）。"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from dlbook.gallery.build import build_gallery, find_scripts
from tests.conftest import GALLERY, quick_env

pytestmark = pytest.mark.slow

SCRIPTS = find_scripts(GALLERY)
IDS = [p.relative_to(GALLERY).as_posix() for p in SCRIPTS]
_WARNING = re.compile(r"Warning|Glyph \d+|missing from font", re.IGNORECASE)
# 连库里触发的 DeprecationWarning 也显示出来（Python 默认只显示 __main__ 里的），
# 忽略的只有 pyproject.toml 里同样忽略的那条 PyTorch 自己的警告
_SHOW_WARNINGS = (
    "-W", "default",
    "-W", "ignore:`torch.jit.script_method` is deprecated:DeprecationWarning",
)
_ADDRESS = re.compile(r"<[^<>]* at 0x[0-9a-fA-F]+>")
# PyTorch 2.4 导入 torch.utils.cpp_extension（Inductor 在 CPU 上编译时会导入）时，若机器上有 nvcc 却没有 GPU，
# 就用 print 往 stderr 写这一行；之后的版本改成了日志。这是 PyTorch 自己的提示，不是示例的问题
_TORCH_24_CUDA_HOME = re.compile(r"^No CUDA runtime is found, using CUDA_HOME='[^'\n]*'\n", re.MULTILINE)


def test_gallery_is_not_empty():
    assert len(SCRIPTS) >= 6, IDS


@pytest.mark.parametrize("script", SCRIPTS, ids=IDS)
def test_example_runs_alone(script, tmp_path):
    """``python gallery/<章>/plot_x.py``：从别的目录运行，无显示器，图存成文件。"""
    figures = tmp_path / "figures"
    proc = subprocess.run(
        [sys.executable, *_SHOW_WARNINGS, str(script)],
        cwd=tmp_path,
        env=quick_env(DLBOOK_FIGURES=str(figures)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.strip(), "示例应当打印它的结果"
    assert not _WARNING.search(proc.stderr), proc.stderr[-4000:]
    source = script.read_text(encoding="utf-8")
    saved = sorted(figures.glob("*.png")) if figures.exists() else []
    if "show(" in source:
        assert saved, "示例调用了 show()，无显示器时应当把图存成文件"
    for png in saved:
        assert png.read_bytes().startswith(b"\x89PNG")
        assert str(png) in proc.stdout or png.name in proc.stdout, "存图后应打印路径"


@pytest.mark.parametrize("script", SCRIPTS, ids=IDS)
def test_example_in_kernel(script, tmp_path, gallery_cache, monkeypatch):
    """在 Jupyter 内核里执行（结果进入本会话的缓存，网站构建测试会复用）。"""
    for key, value in quick_env().items():
        monkeypatch.setenv(key, value)
    rel = script.relative_to(GALLERY).as_posix()
    build = build_gallery(
        GALLERY, tmp_path / "out", gallery_cache, mode="quick", device="cpu",
        pattern=f"^{re.escape(rel)}$", log=lambda _: None,
    )
    example = build.examples[rel]
    assert example.seconds > 0
    outputs = [o for c in example.notebook.cells for o in c.get("outputs", [])]
    stderr = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    stderr = _TORCH_24_CUDA_HOME.sub("", stderr)
    assert not stderr.strip(), f"内核里不应有写到 stderr 的输出（警告？）：\n{stderr}"
    assert any(o.get("output_type") == "stream" for o in outputs), "示例应当打印它的结果"
    # 单元格的最后一个表达式会显示出来：只为副作用调用的函数不应留下 <torch._C.Generator at 0x…> 这类输出
    shown = "".join(o.get("data", {}).get("text/plain", "") for o in outputs if o.get("output_type") == "execute_result")
    assert not _ADDRESS.search(shown), f"页面上出现了带内存地址的对象：{_ADDRESS.search(shown)[0]}"
    if "show(" in script.read_text(encoding="utf-8"):
        assert example.images, "示例的图应当被内核捕获"
