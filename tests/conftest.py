"""测试共用的设置：示例在 quick 模式、CPU 上执行，执行缓存在整个测试会话里共享。"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "gallery"

# 示例与网站构建一律 quick 模式、CPU（CI 没有 GPU；有 GPU 的机器上测试也要可重复）。
QUICK_ENV = {"DLBOOK_MODE": "quick", "DLBOOK_DEVICE": "cpu", "NO_MKDOCS_2_WARNING": "1"}


@pytest.fixture(scope="session")
def gallery_cache(tmp_path_factory) -> Path:
    """本次测试会话的执行缓存：先执行示例的测试填充它，网站构建再复用它。"""
    return tmp_path_factory.mktemp("executed")


@pytest.fixture
def one_thread():
    """测试期间 PyTorch 只用一个线程，之后恢复原来的线程数（包括测试自己改过的时候）。

    小网络单线程更快，与其他进程共用 CPU 时也不会被线程同步拖慢；训练出的数也不随机器的核数变
    （线程数不同，浮点求和的顺序就不同）。整个文件都要时写 ``pytestmark = pytest.mark.usefixtures("one_thread")``。
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def disk_events(monkeypatch) -> list[tuple[str, int | str]]:
    """记下测试期间的 ``os.fsync`` 与 ``os.replace``，照样执行它们：检查先落盘再改名。

    每一项是 ``("fsync", 文件此刻的字节数)``、``("fsync", "dir")``（目录）或 ``("replace", 目标的文件名)``。
    """
    import stat

    events: list[tuple[str, int | str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        st = os.fstat(fd)
        events.append(("fsync", "dir" if stat.S_ISDIR(st.st_mode) else st.st_size))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", Path(dst).name))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


def quick_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "DISPLAY", "WAYLAND_DISPLAY")}
    env.update(QUICK_ENV)
    env.update(extra)
    return env


def load_script(relative: str) -> ModuleType:
    """按路径导入仓库里不在包中的脚本（scripts/、benchmarks/），模块名是文件名。

    模块先登记在 ``sys.modules`` 里再执行：脚本里的 dataclass 要在那里找到自己的模块。导入过的直接返回。
    """
    path = ROOT / relative
    if path.stem not in sys.modules:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
    return sys.modules[path.stem]
