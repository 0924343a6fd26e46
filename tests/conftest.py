"""测试共用的设置：示例在 quick 模式、CPU 上执行，执行缓存在整个测试会话里共享。"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "gallery"

# 示例与网站构建一律 quick 模式、CPU（CI 没有 GPU；有 GPU 的机器上测试也要可重复）。
QUICK_ENV = {"DLBOOK_MODE": "quick", "DLBOOK_DEVICE": "cpu", "NO_MKDOCS_2_WARNING": "1"}


@pytest.fixture(scope="session")
def gallery_cache(tmp_path_factory) -> Path:
    """本次测试会话的执行缓存：先执行示例的测试填充它，网站构建再复用它。"""
    return tmp_path_factory.mktemp("executed")


def quick_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "DISPLAY", "WAYLAND_DISPLAY")}
    env.update(QUICK_ENV)
    env.update(extra)
    return env
