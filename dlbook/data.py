"""Fashion-MNIST：读取、校验、缓存，以及把张量分成小批量。

数据按下面的顺序查找，找到即用：

1. 参数 ``root``（给出时只查这里）；
2. 环境变量 ``DLBOOK_DATA`` 指向的目录（设了就必须是一个存在的目录，否则报错，不悄悄改用别处的数据）；
3. Debian/Ubuntu 软件包 ``dataset-fashion-mnist`` 安装的 ``/usr/share/datasets/fashion-mnist``；
4. 下载缓存 ``$DLBOOK_CACHE/fashion-mnist``（默认 ``~/.cache/dlbook/fashion-mnist``）。

目录里放 4 个 IDX 文件即可，压缩（``.gz``）或不压缩都行，也可以放在子目录
``fashion-mnist/`` 或 torchvision 的 ``FashionMNIST/raw/`` 里。都找不到时从镜像下载到缓存目录
（先写临时文件，校验通过后才改名，绝不留下半个文件）；镜像列表可用环境变量
``DLBOOK_FASHION_MNIST_MIRRORS`` 覆盖（逗号分隔的若干网址前缀）。

每个文件都会检查 IDX 文件头并核对解压后内容的 SHA-256，损坏的文件会报出
:class:`DataError`，说明是哪个文件、该怎么办。
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import math
import operator
import os
import re
import shutil
import socket
import tempfile
import time
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

__all__ = [
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_CLASSES_ZH",
    "DataError",
    "TensorLoader",
    "fashion_mnist_loaders",
    "fashion_mnist_tensors",
    "load_fashion_mnist",
]

FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
FASHION_MNIST_CLASSES_ZH: tuple[str, ...] = (
    "T恤", "裤子", "套衫", "连衣裙", "外套", "凉鞋", "衬衫", "运动鞋", "包", "短靴",
)  # fmt: skip

Split = Literal["train", "test"]

DATA_ENV = "DLBOOK_DATA"
CACHE_ENV = "DLBOOK_CACHE"
MIRRORS_ENV = "DLBOOK_FASHION_MNIST_MIRRORS"
DOWNLOAD_TIMEOUT = 30.0  # 秒：镜像连上了却迟迟不发数据时，多久之后换下一个

_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
_ROOT_SOURCE = "参数 root"
_SUBDIRS = (".", "fashion-mnist", "FashionMNIST/raw")
_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# 解压后内容的 SHA-256：不管文件从哪里来、压缩与否，都按同一标准校验。
_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
_FIX_HINT = (
    "请删除这个文件后重新运行（会重新查找或下载），"
    f"或把环境变量 {DATA_ENV} 指向一份完好的 Fashion-MNIST。"
)
_SYSTEM_FIX_HINT = (  # 软件包的文件不该由用户删除：重装它
    "这是 Debian 软件包 dataset-fashion-mnist 的文件：请重新安装它"
    "（sudo apt install --reinstall dataset-fashion-mnist），"
    f"或把环境变量 {DATA_ENV} 指向一份完好的 Fashion-MNIST。"
)


def _fix_hint(path: Path) -> str:
    return _SYSTEM_FIX_HINT if Path(path).is_relative_to(_SYSTEM_DIR) else _FIX_HINT


class DataError(RuntimeError):
    """数据文件缺失或损坏；消息里写明文件路径和解决办法。"""


# ---------------------------------------------------------------------------
# 查找
# ---------------------------------------------------------------------------


def _check(test: Callable[[], bool], path: Path) -> bool:
    """``path.is_dir()``、``path.is_file()`` 之类的检查；没有权限时报出是哪个路径，而不是一个光秃秃的 PermissionError。"""
    try:
        return test()
    except OSError as exc:
        raise DataError(f"无法访问 {path}：{exc}。请检查它（和它上层目录）的权限，或换一个目录。") from exc


def _cache_dir() -> Path:
    base = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "dlbook"
    return Path(base).expanduser() / "fashion-mnist"


def _search_dirs(root: str | Path | None) -> list[tuple[Path, str]]:
    """要查找的目录及其来源说明，按优先顺序。"""
    if root is not None:
        return [(Path(root).expanduser(), _ROOT_SOURCE)]
    dirs: list[tuple[Path, str]] = []
    if env := os.environ.get(DATA_ENV):
        directory = Path(env).expanduser()
        if not _check(directory.is_dir, directory):
            # 设了却指错了地方（多半是笔误）：不悄悄改用别处的数据
            raise DataError(
                f"环境变量 {DATA_ENV}={env!r} 指向的目录不存在（或不是目录）。"
                f"请把它改成放着 Fashion-MNIST 的 IDX 文件的目录，或者删掉这个变量。"
            )
        dirs.append((directory, f"环境变量 {DATA_ENV}"))
    dirs.append((_SYSTEM_DIR, "Debian 软件包 dataset-fashion-mnist"))
    dirs.append((_cache_dir(), "下载缓存"))
    return dirs


def _find(name: str, dirs: list[tuple[Path, str]]) -> Path | None:
    for directory, _ in dirs:
        for sub in _SUBDIRS:
            for candidate in (directory / sub / name, directory / sub / f"{name}.gz"):
                if _check(candidate.is_file, candidate):
                    return candidate
    return None


def _given_root(dirs: list[tuple[Path, str]]) -> bool:
    """查找的是不是调用者用参数 ``root`` 给的目录（见 :func:`_search_dirs`）。"""
    return dirs[0][1] == _ROOT_SOURCE


def _searched(dirs: list[tuple[Path, str]]) -> str:
    lines = []
    for directory, source in dirs:
        if _check(directory.is_dir, directory):
            missing = ""
        else:
            missing = "，不是目录" if directory.exists() else "，目录不存在"
        lines.append(f"  - {directory}（{source}{missing}）")
    return "\n".join(lines)


def _not_found_message(name: str, dirs: list[tuple[Path, str]], extra: str = "") -> str:
    """``extra`` 是下载失败的经过；给了它，说明已经联网下载过，第 3 条就只提镜像。"""
    mirrors = (
        f"{MIRRORS_ENV}=https://镜像1/路径/,https://镜像2/路径/（逗号分隔，每个网址下有同名 .gz 文件）"
    )
    download = (
        f"换一个能访问的镜像：设置环境变量 {mirrors}。"
        if extra
        else f"联网后以 download=True 运行；若默认镜像访问不畅，设置环境变量 {mirrors}。"
    )
    if _given_root(dirs):  # 给了 root 就只查它：环境变量和 Debian 包都用不上
        fixes = ["把 4 个 IDX 文件放进参数 root 指定的目录（或把 root 改成放着它们的目录）"]
    else:
        fixes = [
            f"把 4 个 IDX 文件放进一个目录，并设置环境变量 {DATA_ENV}=该目录",
            "Debian/Ubuntu：sudo apt install dataset-fashion-mnist",
        ]
    numbered = "；\n".join(f"  {i}. {fix}" for i, fix in enumerate([*fixes, download], start=1))
    return (
        f"找不到 Fashion-MNIST 文件 {name}（或 {name}.gz）。已查找：\n{_searched(dirs)}\n"
        f"{extra}解决办法（任选其一）：\n{numbered}"
    )


# ---------------------------------------------------------------------------
# 解析与校验
# ---------------------------------------------------------------------------


def _label_and_hint(path: Path, label: str | None, hint: str | None) -> tuple[str, str]:
    """错误消息的开头和结尾：默认是“文件 <path>”和按文件所在的位置给出的解决办法。"""
    return (f"文件 {path}" if label is None else label, _fix_hint(path) if hint is None else hint)


def _decode_idx(
    raw: bytes, path: Path, name: str, *, label: str | None = None, hint: str | None = None
) -> np.ndarray:
    """检查 IDX 文件头（魔数、各维大小与文件长度）和 SHA-256，返回 uint8 数组。

    出错时的消息以 ``label``（默认“文件 <path>”）开头、以 ``hint``（默认按文件所在的位置给出的解决办法）结尾。"""
    label, hint = _label_and_hint(path, label, hint)
    ndim = 3 if "images" in name else 1
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(
            f"{label} 被截断：只有 {len(raw)} 字节，连 IDX 文件头都不完整。{hint}"
        )
    magic = int.from_bytes(raw[:4], "big")
    expected_magic = 0x0800 | ndim  # 0x08 表示 unsigned byte，最低字节是维数
    if magic != expected_magic:
        raise DataError(
            f"{label} 不是 Fashion-MNIST 的 IDX 文件：魔数为 0x{magic:08x}，"
            f"应为 0x{expected_magic:08x}。{hint}"
        )
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    declared, actual = math.prod(dims), len(raw) - header
    if actual != declared:
        problem = "被截断" if actual < declared else "末尾有多余数据"
        raise DataError(
            f"{label} {problem}：文件头声明形状 {dims}，共 {declared} 字节数据，"
            f"实际有 {actual} 字节。{hint}"
        )
    digest = hashlib.sha256(raw).hexdigest()
    if digest != _SHA256[name]:
        raise DataError(
            f"{label} 内容校验失败：解压后的 SHA-256 为 {digest}，应为 {_SHA256[name]}。{hint}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _read_bytes(path: Path, *, label: str | None = None, hint: str | None = None) -> bytes:
    """读出文件，``.gz`` 的解压；``label``、``hint`` 同 :func:`_decode_idx`。"""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(
            f"无法读取文件 {path}：{exc}。请检查文件权限，"
            f"或把环境变量 {DATA_ENV} 指向一份可读的 Fashion-MNIST。"
        ) from exc
    if path.suffix != ".gz":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile 是 OSError 的子类
        label, hint = _label_and_hint(path, label, hint)
        raise DataError(f"{label} 不是完整的 gzip 文件（{exc}）。{hint}") from exc


@functools.lru_cache(maxsize=8)
def _load_idx(path: str, name: str, mtime_ns: int, size: int) -> Tensor:
    # mtime 与大小也是键：文件被替换（例如删除后重新下载）时不会用到旧结果。
    array = _decode_idx(_read_bytes(Path(path)), Path(path), name)
    return torch.from_numpy(array.copy())


def _read_idx(path: Path, name: str) -> Tensor:
    resolved = path.resolve()
    stat = resolved.stat()
    return _load_idx(str(resolved), name, stat.st_mtime_ns, stat.st_size)


# ---------------------------------------------------------------------------
# 下载
# ---------------------------------------------------------------------------


def _mirrors() -> list[str]:
    urls = [u.strip() for u in os.environ.get(MIRRORS_ENV, "").split(",") if u.strip()]
    if not urls:
        from torchvision.datasets import FashionMNIST

        urls = list(FashionMNIST.mirrors)
    return [u if u.endswith("/") else u + "/" for u in urls]


def _download_url(url: str, path: Path) -> None:
    """把 ``url`` 下载到 ``path``。连接或读取 :data:`DOWNLOAD_TIMEOUT` 秒没有进展就放弃。

    不核对压缩文件的 MD5：下载之后核对的是解压后内容的 SHA-256（:func:`_decode_idx`），
    所以重新压缩过的镜像（例如 Debian 软件包里的文件）同样能用。
    """
    request = urllib.request.Request(url, headers={"User-Agent": "dlbook"})
    with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as response, path.open("wb") as out:
        shutil.copyfileobj(response, out, 1 << 16)
        out.flush()
        os.fsync(out.fileno())  # 之后改名放进缓存：先落盘，断电不会留下改了名的半截文件


def _alive(pid: int) -> bool:
    if os.name == "nt":  # Windows 上 os.kill(pid, 0) 发的是 Ctrl+C（CTRL_C_EVENT == 0），不能用来探测：只按时间判断
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # 例如 PermissionError：进程在，只是属于别人
        return True
    return True


def _host() -> str:
    """写进临时目录名的主机名：只留字母、数字和点（``-`` 是名字里的分隔符）。"""
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"


def _remove_abandoned(dest: Path) -> None:
    """删掉被杀掉的下载（SIGTERM、断电：``finally`` 来不及运行）留下的临时目录。

    临时目录名里有下载进程的 PID 和主机名（``.download-<pid>-<主机>-…``）：这台主机上的进程已经不在，
    或者目录放了一天以上，就是被遗弃的。别的主机（共用一个缓存目录的容器、机器）上的下载查不了 PID，
    只按时间判断。里面的文件从来没有移到 ``dest`` 里，删掉它们不会丢失任何数据。
    """
    for tmp in dest.glob(".download-*"):
        parts = tmp.name.split("-")
        pid = parts[1]
        here = len(parts) < 4 or parts[2] == _host()  # 没有主机名的是旧的写法：当作这台主机的
        try:
            stale = time.time() - tmp.stat().st_mtime > 24 * 3600
        except OSError:
            continue
        if stale or (here and not (pid.isdigit() and _alive(int(pid)))):
            shutil.rmtree(tmp, ignore_errors=True)


def _download(name: str, dest: Path, dirs: list[tuple[Path, str]]) -> Path:
    """从镜像下载 ``name.gz`` 到 ``dest``：临时目录 → 校验 → ``os.replace``。"""
    filename = f"{name}.gz"
    try:
        dest.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(dest)
        tmp = Path(tempfile.mkdtemp(prefix=f".download-{os.getpid()}-{_host()}-", dir=dest))
    except OSError as exc:
        where = "把参数 root 改成" if _given_root(dirs) else f"用环境变量 {CACHE_ENV} 指定"
        raise DataError(f"无法在 {dest} 创建下载目录：{exc}。请{where}一个可写的目录。") from exc
    errors: list[str] = []
    try:
        for mirror in _mirrors():
            url = mirror + filename
            try:
                _download_url(url, tmp / filename)
                # 出错时说“下载的文件”，不提临时文件的路径（马上就删了），也不叫人去删它：下一个镜像会接着试
                raw = _read_bytes(tmp / filename, label="下载的文件", hint="")
                _decode_idx(raw, tmp / filename, name, label="下载的文件", hint="")
            except Exception as exc:  # 网络、超时、格式、校验：换下一个镜像
                errors.append(f"  - {url}：{exc}")
                (tmp / filename).unlink(missing_ok=True)
                continue
            target = dest / filename
            os.replace(tmp / filename, target)
            return target
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    failures = "下载也失败了：\n" + "\n".join(errors) + "\n"
    raise DataError(_not_found_message(name, dirs, failures))


# ---------------------------------------------------------------------------
# 公开接口
# ---------------------------------------------------------------------------


def _check_split(split: str) -> None:
    if split not in _FILES:
        raise ValueError(f"split 应为 'train' 或 'test'，而不是 {split!r}")


def _load_split(split: str, *, root: str | Path | None, download: bool) -> tuple[Tensor, Tensor]:
    """找到并读取一个划分；返回内存缓存里的 uint8 张量本身（调用者不得原地修改）。"""
    _check_split(split)
    dirs = _search_dirs(root)
    tensors = []
    for name in _FILES[split]:
        path = _find(name, dirs)
        if path is None:
            if not download:
                raise DataError(_not_found_message(name, dirs))
            dest = dirs[0][0] if root is not None else _cache_dir()
            path = _download(name, dest, dirs)
        tensors.append(_read_idx(path, name))
    images, labels = tensors
    return images, labels


def load_fashion_mnist(
    split: Split, *, root: str | Path | None = None, download: bool = True
) -> tuple[Tensor, Tensor]:
    """读取 Fashion-MNIST 的一个划分，返回 ``uint8`` 图像 ``(N, 28, 28)`` 和 ``int64`` 标签 ``(N,)``。

    查找顺序见模块说明；同一进程里重复调用直接用内存中的结果（返回副本，可随意修改）。

    Args:
        split: ``"train"``（60000 张）或 ``"test"``（10000 张）。
        root: 只在这个目录里找；缺文件且 ``download=True`` 时也下载到这里。
        download: 哪里都找不到时是否从镜像下载。

    Raises:
        DataError: 文件找不到（列出查找过的位置）或已损坏（写明文件和解决办法）。

    >>> X, y = load_fashion_mnist("test")
    >>> X.shape, X.dtype, y.shape, y.dtype
    (torch.Size([10000, 28, 28]), torch.uint8, torch.Size([10000]), torch.int64)
    >>> [FASHION_MNIST_CLASSES_ZH[i] for i in y[:3]]
    ['短靴', '套衫', '裤子']
    """
    images, labels = _load_split(split, root=root, download=download)
    return images.clone(), labels.long()


def fashion_mnist_tensors(
    split: Split,
    *,
    resize: int | None = None,
    subset: int | None = None,
    device: torch.device | str | None = None,
    seed: int = 0,
    root: str | Path | None = None,
) -> tuple[Tensor, Tensor]:
    """Fashion-MNIST 的一个划分，变成可以直接送进模型的张量。

    返回 ``float32`` 图像 ``(N, 1, H, W)``（取值缩放到 [0, 1]）和 ``int64`` 标签 ``(N,)``，
    都放在 ``device`` 上（默认 CPU）。

    Args:
        split: ``"train"``（60000 张）或 ``"test"``（10000 张）。
        resize: 把图像双线性插值到 ``resize × resize``；``None`` 保持 28 × 28。
            注意内存：60000 张 224 × 224 的 float32 图像约 12 GB。
        subset: 只取随机选出的这么多张（由 ``seed`` 固定），用于快速实验。
        device: 张量所在设备。
        seed: 选子集用的随机种子。
        root: 同 :func:`load_fashion_mnist`。

    >>> X, y = fashion_mnist_tensors("test", subset=100, resize=32)
    >>> X.shape, X.dtype, y.shape
    (torch.Size([100, 1, 32, 32]), torch.float32, torch.Size([100]))
    >>> 0 <= X.min().item() and X.max().item() <= 1
    True
    """
    images, labels = _load_split(split, root=root, download=True)
    if subset is not None:
        if not 1 <= subset <= len(labels):
            raise ValueError(f"{split} 划分只有 {len(labels)} 张图像，subset 应在 1 到 {len(labels)} 之间，而不是 {subset}")
        index = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))[:subset]
        images, labels = images[index], labels[index]
    device = torch.device(device) if device is not None else torch.device("cpu")
    # 先把 uint8 搬到设备上（数据量只有 float32 的四分之一），再转换和缩放。
    X = images.to(device).unsqueeze(1).float().div_(255)  # (N, 1, 28, 28)
    if resize is not None and resize != X.shape[-1]:
        if resize < 1:
            raise ValueError(f"resize 应为正整数，而不是 {resize}")
        X = F.interpolate(
            X, size=(resize, resize), mode="bilinear", align_corners=False, antialias=resize < 28
        ).clamp_(0, 1)  # (N, 1, resize, resize)
    return X, labels.to(device).long()


def _positive_batch_size(batch_size: int) -> int:
    """``batch_size`` 作为 ``int``；不是正整数（``0``、``2.5``、``True``、``"8"``）时报错。NumPy 的整数也行。"""
    try:
        size = None if isinstance(batch_size, bool) else operator.index(batch_size)
    except TypeError:
        size = None
    if size is None or size < 1:
        raise ValueError(f"batch_size 应为正整数，而不是 {batch_size!r}")
    return size


class TensorLoader:
    """把放在同一设备上的 ``(X, y)`` 切成小批量，比 :class:`~torch.utils.data.DataLoader` 快得多。

    数据全在 GPU 上时，每个批量只是一次索引，没有逐样本的 Python 开销。
    ``shuffle=True`` 时每轮（每次迭代）在数据所在设备上重新打乱，顺序由 ``seed`` 和此前迭代过几次共同决定：
    同一个种子的新加载器总是从同一串顺序开始，先用 ``next(iter(loader))`` 偷看一个批量，后面各轮的顺序就都变了
    （与 ``DataLoader`` 一样）。
    ``transform`` 作用在整个批量的 ``X`` 上（例如 :func:`dlbook.augment.random_crop_flip` 做数据增强）。

    >>> X, y = torch.arange(10).reshape(5, 2), torch.arange(5)
    >>> loader = TensorLoader(X, y, batch_size=2)
    >>> len(loader)
    3
    >>> [yb.tolist() for _, yb in loader]
    [[0, 1], [2, 3], [4]]
    >>> len(TensorLoader(X, y, batch_size=2, drop_last=True))
    2
    >>> negated = TensorLoader(X, y, batch_size=3, transform=lambda xb: -xb)
    >>> [xb.tolist() for xb, _ in negated][1]
    [[-6, -7], [-8, -9]]
    >>> shuffled = TensorLoader(X, y, batch_size=5, shuffle=True)
    >>> sorted(next(iter(shuffled))[1].tolist())
    [0, 1, 2, 3, 4]
    """

    def __init__(
        self,
        X: Tensor,
        y: Tensor,
        *,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        transform: Callable[[Tensor], Tensor] | None = None,
    ) -> None:
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"X 有 {X.shape[0]} 个样本而 y 有 {y.shape[0]} 个，数量必须相同")
        if X.device != y.device:
            raise ValueError(f"X 在 {X.device} 上而 y 在 {y.device} 上，必须在同一设备")
        self.X, self.y = X, y
        self.batch_size = _positive_batch_size(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.transform = transform
        self._generator = _generator_on(X.device, seed)

    def __len__(self) -> int:
        n, b = self.X.shape[0], self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        n, b = self.X.shape[0], self.batch_size
        stop = len(self) * b
        if not self.shuffle:
            for i in range(0, min(stop, n), b):
                yield self._batch(self.X[i : i + b]), self.y[i : i + b]
            return
        perm = torch.randperm(n, generator=self._generator, device=self._generator.device)
        perm = perm.to(self.X.device)
        for i in range(0, min(stop, n), b):
            index = perm[i : i + b]
            yield self._batch(self.X[index]), self.y[index]

    def _batch(self, X: Tensor) -> Tensor:
        return X if self.transform is None else self.transform(X)


def _generator_on(device: torch.device, seed: int) -> torch.Generator:
    try:
        return torch.Generator(device=device).manual_seed(seed)
    except RuntimeError:  # 某些后端没有自己的生成器：在 CPU 上生成排列再搬过去
        return torch.Generator().manual_seed(seed)


def fashion_mnist_loaders(
    batch_size: int,
    *,
    resize: int | None = None,
    subset: int | None = None,
    test_subset: int | None = None,
    device: torch.device | str | None = None,
    kind: Literal["tensor", "dataloader"] = "tensor",
    seed: int = 0,
    num_workers: int = 0,
) -> tuple[TensorLoader, TensorLoader] | tuple[DataLoader, DataLoader]:
    """Fashion-MNIST 的训练与测试批量迭代器 ``(train, test)``；训练集每轮打乱，测试集不打乱。

    Args:
        batch_size: 批量大小。
        resize: 同 :func:`fashion_mnist_tensors`。
        subset: 训练集的子集大小，同 :func:`fashion_mnist_tensors`。
        test_subset: 测试集的子集大小。
        seed: 同 :func:`fashion_mnist_tensors`。
        device: ``kind="tensor"`` 时数据所在的设备（默认 CPU）；``kind="dataloader"`` 时数据留在
            CPU，设备是 CUDA 就使用锁页内存。
        kind: ``"tensor"`` 返回 :class:`TensorLoader`；``"dataloader"`` 返回
            :class:`torch.utils.data.DataLoader`（逐样本取数据，较慢，用来演示标准写法）。
        num_workers: 只对 ``"dataloader"`` 有效。

    >>> train, test = fashion_mnist_loaders(64, subset=256, test_subset=100)
    >>> len(train), len(test)
    (4, 2)
    >>> X, y = next(iter(train))
    >>> X.shape, y.shape
    (torch.Size([64, 1, 28, 28]), torch.Size([64]))
    """
    if kind not in ("tensor", "dataloader"):
        raise ValueError(f"kind 应为 'tensor' 或 'dataloader'，而不是 {kind!r}")
    _positive_batch_size(batch_size)  # 在读数据、缩放图像之前就检查：224×224 的训练集要十几 GB
    device = torch.device(device) if device is not None else torch.device("cpu")
    data_device = device if kind == "tensor" else torch.device("cpu")
    X_train, y_train = fashion_mnist_tensors(
        "train", resize=resize, subset=subset, device=data_device, seed=seed
    )
    X_test, y_test = fashion_mnist_tensors(
        "test", resize=resize, subset=test_subset, device=data_device, seed=seed
    )
    if kind == "tensor":
        return (
            TensorLoader(X_train, y_train, batch_size=batch_size, shuffle=True, seed=seed),
            TensorLoader(X_test, y_test, batch_size=batch_size),
        )
    options = dict(
        batch_size=batch_size,
        num_workers=num_workers,
        pin_memory=device.type == "cuda",
        persistent_workers=num_workers > 0,
    )
    return (
        DataLoader(
            TensorDataset(X_train, y_train),
            shuffle=True,
            generator=torch.Generator().manual_seed(seed),
            **options,
        ),
        DataLoader(TensorDataset(X_test, y_test), shuffle=False, **options),
    )
