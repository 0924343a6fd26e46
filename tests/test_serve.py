"""``mkdocs serve``（README 里建站的命令）：改了示例脚本，页面换上重新执行的输出，之后不再重建。

用一个只有一页、一个示例的小项目，配置与仓库的 mkdocs.yml 一样（插件、``watch``）；
另有一项检查仓库的 mkdocs.yml 本身：构建写文件的目录不在被监视的目录里，否则 serve 会没完没了地重建。
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, quick_env

pytestmark = pytest.mark.slow

CONFIG = """\
site_name: serve 测试
theme:
  name: material
  language: zh
  font: false
plugins:
  - dlbook-gallery
  - mkdocs-jupyter:
      include: ["gallery/*/plot_*.ipynb"]
      execute: false
      include_requirejs: false
watch:
  - gallery
"""

SCRIPT = '''\
"""
会被改的示例
============
"""

# %%
print("版本", {version})
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    """在后台运行的 ``mkdocs serve``；日志一行一行收进 ``lines``。"""

    def __init__(self, project: Path) -> None:
        self.port = _free_port()
        env = quick_env(PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mkdocs", "serve", "-a", f"127.0.0.1:{self.port}"],
            cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    def wait_for_log(self, text: str, *, times: int = 1, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while self.count(text) < times:
            if self.proc.poll() is not None:
                raise AssertionError(f"mkdocs serve 退出了（{self.proc.returncode}）：\n{self.log}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{timeout} 秒内日志里没有第 {times} 次出现 {text!r}：\n{self.log}")
            time.sleep(0.2)

    def page(self) -> str:
        # 构建出错时 mkdocs 让请求一直等到下一次构建成功：一定要有超时
        url = f"http://127.0.0.1:{self.port}/"
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.read().decode("utf-8")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # 与在终端里按 Ctrl+C 一样
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "index.md").write_text('# 首页\n\n{{ example("ch/plot_edit.py") }}\n', encoding="utf-8")
    (root / "gallery" / "ch").mkdir(parents=True)
    (root / "gallery" / "ch" / "plot_edit.py").write_text(SCRIPT.format(version=1), encoding="utf-8")
    (root / "mkdocs.yml").write_text(CONFIG, encoding="utf-8")
    return root


def _outputs(html: str) -> list[str]:
    return re.findall(r"版本 (\d+)", html)


def test_serve_reexecutes_an_edited_example_and_then_settles(project):
    server = _Server(project)
    try:
        server.wait_for_log("Serving on")
        assert _outputs(server.page()) == ["1"]
        assert server.count("执行 ch/plot_edit.py") == 1

        # 改了脚本：重新执行，页面换上新的输出
        script = project / "gallery" / "ch" / "plot_edit.py"
        script.write_text(SCRIPT.format(version=2), encoding="utf-8")
        server.wait_for_log("Documentation built", times=2)
        assert _outputs(server.page()) == ["2"]
        assert server.count("执行 ch/plot_edit.py") == 2

        # 构建写出的执行缓存、生成的页面不在被监视的目录里：不会因此再重建
        time.sleep(5)
        assert server.count("Building documentation") == 2, server.log

        # 脚本出错：日志说清是哪个脚本、哪个单元格；服务器不退出，改好之后照常构建
        script.write_text(SCRIPT.format(version=3) + '\n# %%\nraise RuntimeError("故意的")\n', encoding="utf-8")
        server.wait_for_log("图库构建失败")
        assert "plot_edit.py 在第 2 个代码单元格出错" in server.log
        assert "故意的" in server.log
        assert server.proc.poll() is None
        script.write_text(SCRIPT.format(version=4), encoding="utf-8")
        server.wait_for_log("Documentation built", times=3)
        assert _outputs(server.page()) == ["4"]
    finally:
        server.stop()
    assert server.proc.returncode is not None


def test_the_repository_config_does_not_watch_what_the_build_writes():
    """仓库的 mkdocs.yml 监视 gallery/ 与 dlbook/（改了示例或库就重建），构建写文件的目录都不在里面。"""
    from mkdocs.config import load_config

    config = load_config(str(ROOT / "mkdocs.yml"))
    watched = [Path(p).resolve() for p in config.watch]
    assert {p.name for p in watched} >= {"gallery", "dlbook"}
    gallery = config.plugins["dlbook-gallery"].config
    written = [ROOT / gallery.out_dir, ROOT / gallery.cache_dir, ROOT / ".cache" / "mkdocs-jupyter"]
    for out in written:
        for path in [*watched, Path(config.docs_dir).resolve()]:
            assert not out.resolve().is_relative_to(path), f"构建写的 {out} 在被监视的 {path} 里"
