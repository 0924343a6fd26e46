"""执行结果的内容哈希缓存。

键由这些东西决定：脚本的字节、``dlbook`` 包的源码（只在执行之后处理页面的几个模块除外，
见 ``_PAGE_ONLY``）、运行模式、设备种类，以及 Python、PyTorch、torchvision、NumPy、matplotlib 的版本。
任何一项变了，键就变了，示例会重新执行；什么都没变，重建时一个示例也不执行。

每个条目是 ``<键>.ipynb`` 加 ``<键>.json``（元数据，最后写入，它的存在表示条目完整）。
写入先写临时文件、落盘，再 :func:`os.replace`，中途失败或断电都不会留下半个条目。
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import nbformat
from nbformat import NotebookNode

__all__ = ["CacheEntry", "ExampleCache", "atomic_write", "cache_key", "environment", "fsync_dir"]

CACHE_FORMAT = 1
_PACKAGE_ROOT = Path(__file__).resolve().parents[1]
# 这些模块只处理已经执行过的笔记本和生成的页面，改了它们不会改变任何示例的输出，不算进键：
# 调整页面的渲染时不必把整个图库重新执行一遍
_PAGE_ONLY = frozenset(
    f"gallery/{name}.py"
    for name in ("figures", "griffe_doctest", "offline", "plugin", "render", "search", "slugs", "styles")
)


def atomic_write(path: Path, data: bytes) -> None:
    """把 ``data`` 原子地写到 ``path``：要么是完整的新内容，要么保持原样。

    临时文件先 ``fsync`` 再改名，改名之后再 ``fsync`` 所在目录：文件系统可以先让改名落盘、后写数据，
    不这样做，断电之后可能留下一个空的或半截的文件。
    每次 ``fsync`` 不到一毫秒，一次构建写的几百个文件加起来不到一秒。
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """让目录里的改名落盘。Windows 上打不开目录，也就没有对目录的 fsync：跳过。"""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # 有的文件系统不支持对目录 fsync：改名已经完成，只是不保证落盘
        pass
    finally:
        os.close(fd)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def environment() -> dict[str, str]:
    """影响示例输出的软件版本。"""
    return {
        "python": platform.python_version(),
        **{name: _version(name) for name in ("torch", "torchvision", "numpy", "matplotlib")},
    }


def _source_digest(root: Path = _PACKAGE_ROOT) -> str:
    h = hashlib.sha256()
    for file in sorted(root.rglob("*.py")):
        if "__pycache__" in file.parts or file.relative_to(root).as_posix() in _PAGE_ONLY:
            continue
        h.update(file.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(file.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def cache_key(script: Path, *, mode: str, device: str, env: dict[str, str] | None = None) -> str:
    """示例 ``script`` 在给定模式和设备下的缓存键（64 位十六进制）。"""
    h = hashlib.sha256()
    parts = {
        "format": CACHE_FORMAT,
        "script": hashlib.sha256(Path(script).read_bytes()).hexdigest(),
        "dlbook": _source_digest(),
        "mode": mode,
        "device": device,
        "env": env if env is not None else environment(),
    }
    h.update(json.dumps(parts, sort_keys=True).encode())
    return h.hexdigest()


@dataclass(frozen=True)
class CacheEntry:
    """缓存里一个执行过的示例。"""

    key: str
    script: str
    mode: str
    device: str
    seconds: float
    executed_at: str
    env: dict[str, str]


def _well_typed(entry: CacheEntry) -> bool:
    """元数据的每个字段是不是它该有的类型（JSON 里写成了 ``"seconds": "1.5"`` 之类的就不是）。"""
    return (
        all(isinstance(getattr(entry, name), str) for name in ("key", "script", "mode", "device", "executed_at"))
        and isinstance(entry.seconds, (int, float)) and not isinstance(entry.seconds, bool)
        and isinstance(entry.env, dict)
    )  # fmt: skip


class ExampleCache:
    """目录 ``root`` 下的执行缓存。"""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.root / f"{key}.ipynb", self.root / f"{key}.json"

    def get(self, key: str) -> tuple[NotebookNode, CacheEntry] | None:
        """返回缓存的笔记本与元数据；没有或已损坏时返回 ``None``。"""
        nb_path, meta_path = self._paths(key)
        if not (nb_path.is_file() and meta_path.is_file()):
            return None
        try:
            entry = CacheEntry(**json.loads(meta_path.read_text(encoding="utf-8")))
            nb = nbformat.reads(nb_path.read_text(encoding="utf-8"), as_version=4)
            nbformat.validate(nb)  # 是合法的 JSON 却不是笔记本（{}、[]、"cells": "x"）
        except Exception:  # noqa: BLE001  JSON、编码、字段、nbformat 的各种错误：损坏的条目当作没有，重新执行后会被覆盖
            return None
        if not _well_typed(entry) or entry.key != key or entry.seconds <= 0:
            return None
        return nb, entry

    def prune(self, current: dict[str, str], *, mode: str, device: str) -> tuple[int, int]:
        """删掉被取代的条目：同一个脚本、同样的模式和设备，键却不是 ``current[脚本]`` 的（脚本、dlbook 或版本变了）。

        ``current`` 是这次构建用到的 ``{脚本: 键}``；别的模式、设备，以及这次没有构建的脚本，条目都留着。
        也删掉写到一半被打断、放了一个小时以上的临时文件。返回 ``(删掉的条目数, 释放的字节数)``。
        """
        removed, freed = 0, 0
        for meta in self.root.glob("*.json"):
            try:
                entry = json.loads(meta.read_text(encoding="utf-8"))
                superseded = (
                    entry["script"] in current and entry["key"] != current[entry["script"]]
                    and entry["mode"] == mode and entry["device"] == device
                )  # fmt: skip
            except (OSError, ValueError, TypeError, KeyError):
                continue  # 读不出的条目 get() 也不会用；留给下次写入时覆盖
            if not superseded:
                continue
            # 元数据最后写、最先删：中途出错时留下的半个条目在 get() 看来就是没有
            for path in (meta, meta.with_suffix(".ipynb"), meta.with_suffix(".thumb.png")):
                try:
                    size = path.stat().st_size
                    path.unlink()
                except FileNotFoundError:
                    continue
                freed += size
            removed += 1
        for tmp in self.root.glob(".*.tmp"):
            try:
                if time.time() - tmp.stat().st_mtime > 3600:
                    freed += tmp.stat().st_size
                    tmp.unlink()
            except FileNotFoundError:
                continue
        return removed, freed

    def put(self, nb: NotebookNode, entry: CacheEntry) -> None:
        nb_path, meta_path = self._paths(entry.key)
        atomic_write(nb_path, nbformat.writes(nb).encode("utf-8"))
        atomic_write(meta_path, json.dumps(asdict(entry), ensure_ascii=False, indent=1).encode())
