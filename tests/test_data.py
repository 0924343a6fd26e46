"""dlbook.data：查找、校验、下载（离线模拟）、张量与批量迭代器。"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import urllib.error
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler

from dlbook import data
from dlbook.data import (
    DataError,
    TensorLoader,
    fashion_mnist_loaders,
    fashion_mnist_tensors,
    load_fashion_mnist,
)

DEBIAN = Path("/usr/share/datasets/fashion-mnist")
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"

pytestmark = pytest.mark.skipif(
    not (DEBIAN / f"{TEST_IMAGES}.gz").is_file(),
    reason="需要 Debian 软件包 dataset-fashion-mnist（/usr/share/datasets/fashion-mnist）",
)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """没有 DLBOOK_DATA、没有系统目录、缓存在 tmp_path/cache：只能靠下载。"""
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.delenv(data.MIRRORS_ENV, raising=False)
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(data, "_SYSTEM_DIR", tmp_path / "no-system-dir")
    return tmp_path / "cache" / "fashion-mnist"


def _raw(name: str) -> bytes:
    return gzip.decompress((DEBIAN / f"{name}.gz").read_bytes())


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


# ---------------------------------------------------------------------------
# 读取与查找
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("split", "n"), [("train", 60000), ("test", 10000)])
def test_load_shapes_dtypes_and_balanced_classes(split, n):
    X, y = load_fashion_mnist(split)
    assert X.shape == (n, 28, 28) and X.dtype == torch.uint8
    assert y.shape == (n,) and y.dtype == torch.int64
    assert torch.equal(torch.bincount(y), torch.full((10,), n // 10))
    assert X.max() == 255 and X.min() == 0


def test_unknown_split():
    with pytest.raises(ValueError, match="'valid'"):
        load_fashion_mnist("valid")


def test_repeated_loads_hit_the_cache_and_return_copies():
    X1, _ = load_fashion_mnist("test")
    hits = data._load_idx.cache_info().hits
    X1.zero_()  # 修改返回值不能影响缓存
    X2, _ = load_fashion_mnist("test")
    assert data._load_idx.cache_info().hits == hits + 2
    assert X2.sum() > 0


@pytest.mark.parametrize("layout", [".", "fashion-mnist", "FashionMNIST/raw"])
@pytest.mark.parametrize("compressed", [True, False])
def test_root_layouts_compressed_or_not(tmp_path, layout, compressed):
    folder = tmp_path / layout
    folder.mkdir(parents=True, exist_ok=True)
    for name in (TEST_IMAGES, TEST_LABELS):
        if compressed:
            shutil.copy(DEBIAN / f"{name}.gz", folder / f"{name}.gz")
        else:
            (folder / name).write_bytes(_raw(name))
    X, y = load_fashion_mnist("test", root=tmp_path, download=False)
    X_ref, y_ref = load_fashion_mnist("test")
    assert torch.equal(X, X_ref) and torch.equal(y, y_ref)


def test_dlbook_data_is_searched_before_the_system_dir(tmp_path, monkeypatch):
    own = tmp_path / "mine" / "fashion-mnist"
    own.mkdir(parents=True)
    shutil.copy(DEBIAN / f"{TEST_LABELS}.gz", own)
    (own / f"{TEST_IMAGES}.gz").write_bytes(b"not gzip at all")
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "mine"))
    # 系统目录里的文件是好的，但 DLBOOK_DATA 排在前面，所以必须报它的坏文件。
    with pytest.raises(DataError, match=re.escape(str(own / f"{TEST_IMAGES}.gz"))):
        load_fashion_mnist("test")


def test_not_found_without_download_lists_searched_places(isolated, monkeypatch, tmp_path):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "empty"))
    fake = FakeDownload()
    monkeypatch.setattr(data, "_download_url", fake)
    with pytest.raises(DataError) as info:
        load_fashion_mnist("test", download=False)
    assert fake.urls == []  # download=False：一次也没有去下载
    message = str(info.value)
    assert "下载也失败了" not in message
    for place in (tmp_path / "empty", data._SYSTEM_DIR, isolated):
        assert str(place) in message
    assert "目录不存在" in message
    for hint in ("DLBOOK_DATA", "dataset-fashion-mnist", data.MIRRORS_ENV, TEST_IMAGES):
        assert hint in message


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_dlbook_data_that_is_not_a_directory_is_an_error(tmp_path, monkeypatch, kind):
    # 系统目录里有好数据，但设错了的 DLBOOK_DATA 不能被悄悄跳过
    wrong = tmp_path / "typo"
    if kind == "file":
        wrong.write_text("")
    monkeypatch.setenv(data.DATA_ENV, str(wrong))
    with pytest.raises(DataError, match=re.escape(f"{data.DATA_ENV}={str(wrong)!r}")):
        load_fashion_mnist("test")


def test_not_found_in_root_without_download(tmp_path):
    with pytest.raises(DataError, match="参数 root") as info:
        load_fashion_mnist("train", root=tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path) in message
    assert "/usr/share" not in message  # 给了 root 就只查 root
    # 建议也只针对 root：环境变量和 Debian 包在这里都不起作用
    assert "root" in message.split("解决办法")[1]
    assert data.DATA_ENV not in message and "apt install" not in message
    fixes = message.split("解决办法（任选其一）：\n")[1].split("；\n")
    assert [fix.split(".")[0] for fix in fixes] == ["  1", "  2"]  # 从 1 开始编号


def test_root_that_is_a_file(tmp_path, monkeypatch):
    afile = tmp_path / "afile"
    afile.write_text("")
    with pytest.raises(DataError, match=re.escape(f"{afile}（参数 root，不是目录）")):
        load_fashion_mnist("test", root=afile, download=False)
    monkeypatch.setattr(data, "_download_url", FakeDownload())
    with pytest.raises(DataError, match="请把参数 root 改成一个可写的目录") as info:
        load_fashion_mnist("test", root=afile)
    assert data.CACHE_ENV not in str(info.value)  # 给了 root 时 DLBOOK_CACHE 不起作用


def test_a_directory_without_permission_is_named(tmp_path, monkeypatch):
    # 3.11 的 pathlib 只吞掉“不存在”一类的错误：没有权限的目录让 is_dir()/is_file() 抛出 PermissionError
    locked = tmp_path / "locked"
    real_is_dir = Path.is_dir

    def is_dir(self):
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real_is_dir(self)

    monkeypatch.setattr(Path, "is_dir", is_dir)
    monkeypatch.setenv(data.DATA_ENV, str(locked))
    with pytest.raises(DataError, match=re.escape(f"无法访问 {locked}")) as info:
        load_fashion_mnist("test")
    assert "权限" in str(info.value)
    monkeypatch.delenv(data.DATA_ENV)

    def is_file(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "is_file", is_file)
    with pytest.raises(DataError, match="无法访问 .*t10k-images-idx3-ubyte"):
        load_fashion_mnist("test", root=tmp_path)


# ---------------------------------------------------------------------------
# 损坏的文件
# ---------------------------------------------------------------------------


def _corrupt_labels(raw: bytes) -> bytes:
    return raw[:-1] + bytes([(raw[-1] + 1) % 10])


CORRUPTIONS = {
    "gzip 截断": (True, lambda gz: gz[: len(gz) // 2], "gzip"),
    "不是 gzip": (True, lambda gz: gzip.decompress(gz), "gzip"),
    "截断": (False, lambda raw: raw[:-100], "被截断"),
    "文件头不完整": (False, lambda raw: raw[:6], "连 IDX 文件头都不完整"),
    "连魔数都不完整": (False, lambda raw: raw[:2], "连 IDX 文件头都不完整"),
    "文件头里的数量被改": (False, lambda raw: raw[:4] + b"\x01" + raw[5:], r"文件头声明形状 \(16787216,\)"),
    "只有文件头": (False, lambda raw: raw[:8], r"被截断：文件头声明形状 \(10000,\)"),  # 文件头完整，数据一个字节也没有
    "多余数据": (False, lambda raw: raw + b"\0", "多余"),
    "魔数错误": (False, lambda raw: b"\x00\x00\x08\x03" + raw[4:], "魔数"),
    "内容被改": (False, _corrupt_labels, "SHA-256"),
}


@pytest.mark.parametrize("case", CORRUPTIONS)
def test_corrupt_label_file_is_reported(tmp_path, case):
    compressed, damage, expected = CORRUPTIONS[case]
    shutil.copy(DEBIAN / f"{TEST_IMAGES}.gz", tmp_path)
    source = (DEBIAN / f"{TEST_LABELS}.gz").read_bytes()
    target = tmp_path / (f"{TEST_LABELS}.gz" if compressed else TEST_LABELS)
    target.write_bytes(damage(source if compressed else gzip.decompress(source)))
    with pytest.raises(DataError, match=expected) as info:
        load_fashion_mnist("test", root=tmp_path)
    message = str(info.value)
    assert str(target) in message and "删除" in message and "DLBOOK_DATA" in message
    assert _files(tmp_path) == sorted([tmp_path / f"{TEST_IMAGES}.gz", target])  # 没有去下载


def test_a_damaged_file_of_the_debian_package_says_reinstall(tmp_path, monkeypatch):
    # 软件包的文件不该让读者去删：叫他重新安装
    system = tmp_path / "system"
    system.mkdir()
    shutil.copy(DEBIAN / f"{TEST_IMAGES}.gz", system)
    (system / f"{TEST_LABELS}.gz").write_bytes(b"broken")
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.setattr(data, "_SYSTEM_DIR", system)
    with pytest.raises(DataError, match="gzip") as info:
        load_fashion_mnist("test", download=False)
    message = str(info.value)
    assert str(system / f"{TEST_LABELS}.gz") in message
    assert "apt install --reinstall dataset-fashion-mnist" in message and "删除" not in message


def test_truncated_image_gz_is_reported(tmp_path):
    gz = (DEBIAN / f"{TEST_IMAGES}.gz").read_bytes()
    (tmp_path / f"{TEST_IMAGES}.gz").write_bytes(gz[:100_000])
    with pytest.raises(DataError, match=f"{TEST_IMAGES}.gz"):
        load_fashion_mnist("test", root=tmp_path, download=False)


def test_unreadable_file_is_reported(tmp_path, monkeypatch):
    shutil.copy(DEBIAN / f"{TEST_IMAGES}.gz", tmp_path)

    def deny(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", deny)
    with pytest.raises(DataError, match="权限") as info:
        load_fashion_mnist("test", root=tmp_path)
    assert str(tmp_path / f"{TEST_IMAGES}.gz") in str(info.value)


def test_replaced_file_is_read_again(tmp_path):
    (tmp_path / TEST_IMAGES).write_bytes(_raw(TEST_IMAGES))
    (tmp_path / TEST_LABELS).write_bytes(_raw(TEST_LABELS))
    load_fashion_mnist("test", root=tmp_path)
    (tmp_path / TEST_LABELS).write_bytes(_raw(TEST_LABELS)[:-5])
    with pytest.raises(DataError, match="被截断"):
        load_fashion_mnist("test", root=tmp_path)


# ---------------------------------------------------------------------------
# 下载（离线：用复制 Debian 文件代替网络）
# ---------------------------------------------------------------------------


class FakeDownload:
    """代替 ``data._download_url``；记录网址，按 ``behaviour`` 写文件或失败。"""

    def __init__(
        self, behaviour: str = "ok", fail_hosts: tuple[str, ...] = (), altered_hosts: tuple[str, ...] = ()
    ):
        self.behaviour, self.fail_hosts, self.altered_hosts, self.urls = behaviour, fail_hosts, altered_hosts, []

    def __call__(self, url: str, path: Path) -> None:
        self.urls.append(url)
        if any(host in url for host in self.fail_hosts):
            raise urllib.error.URLError("connection refused")
        payload = (DEBIAN / path.name).read_bytes()
        if self.behaviour == "truncated":
            payload = payload[: len(payload) // 3]
        if any(host in url for host in self.altered_hosts):  # 完好的 gzip，内容却改了一个字节
            raw = bytearray(gzip.decompress(payload))
            raw[-1] ^= 1
            payload = gzip.compress(bytes(raw))
        path.write_bytes(payload)
        if self.behaviour == "interrupt":
            raise KeyboardInterrupt


def test_download_into_cache(isolated, monkeypatch):
    fake = FakeDownload()
    monkeypatch.setattr(data, "_download_url", fake)
    X, y = load_fashion_mnist("test")
    assert X.shape == (10000, 28, 28) and y.shape == (10000,)
    from torchvision.datasets import FashionMNIST

    assert fake.urls == [FashionMNIST.mirrors[0] + f"{n}.gz" for n in (TEST_IMAGES, TEST_LABELS)]
    assert _files(isolated) == [isolated / f"{TEST_IMAGES}.gz", isolated / f"{TEST_LABELS}.gz"]
    load_fashion_mnist("test")  # 第二次直接从缓存读
    assert len(fake.urls) == 2


def test_tensors_are_downloaded_when_missing(isolated, monkeypatch):
    monkeypatch.setattr(data, "_download_url", FakeDownload())
    X, y = fashion_mnist_tensors("test", subset=10)
    assert X.shape == (10, 1, 28, 28) and y.shape == (10,)
    assert _files(isolated) == [isolated / f"{TEST_IMAGES}.gz", isolated / f"{TEST_LABELS}.gz"]


def test_download_into_root(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_download_url", FakeDownload())
    root = tmp_path / "new"
    load_fashion_mnist("test", root=root)
    assert _files(root) == [root / f"{TEST_IMAGES}.gz", root / f"{TEST_LABELS}.gz"]


def test_unwritable_cache_is_reported(isolated, monkeypatch, tmp_path):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    monkeypatch.setenv(data.CACHE_ENV, str(blocker))
    monkeypatch.setattr(data, "_download_url", FakeDownload())
    with pytest.raises(DataError, match=data.CACHE_ENV):
        load_fashion_mnist("test")


def test_mirror_override_and_fallback(isolated, monkeypatch):
    monkeypatch.setenv(data.MIRRORS_ENV, " https://bad.example/fm , https://good.example/fm/ ")
    fake = FakeDownload(fail_hosts=("bad.example",))
    monkeypatch.setattr(data, "_download_url", fake)
    load_fashion_mnist("test")
    assert fake.urls[:2] == [
        f"https://bad.example/fm/{TEST_IMAGES}.gz",
        f"https://good.example/fm/{TEST_IMAGES}.gz",
    ]
    assert len(_files(isolated)) == 2


def test_a_mirror_serving_altered_data_is_skipped_and_nothing_of_it_is_kept(isolated, monkeypatch):
    # 格式完好、校验和不对：下载时就要发现，换下一个镜像；改过的文件不能进缓存
    monkeypatch.setenv(data.MIRRORS_ENV, "https://altered.example/,https://good.example/")
    fake = FakeDownload(altered_hosts=("altered.example",))
    monkeypatch.setattr(data, "_download_url", fake)
    X, y = load_fashion_mnist("test")
    assert [url.split("/")[2] for url in fake.urls] == ["altered.example", "good.example"] * 2
    assert X.shape == (10000, 28, 28) and len(_files(isolated)) == 2
    monkeypatch.setenv(data.MIRRORS_ENV, "https://altered.example/")
    other = isolated.parent / "other"
    monkeypatch.setenv(data.CACHE_ENV, str(other))
    with pytest.raises(DataError, match="SHA-256"):
        load_fashion_mnist("test")
    assert list(other.rglob("*")) == [other / "fashion-mnist"]  # 只有空的缓存目录：没有文件，也没有临时目录


def test_failed_download_leaves_nothing_behind(isolated, monkeypatch):
    monkeypatch.setattr(data, "_download_url", FakeDownload("truncated"))
    with pytest.raises(DataError) as info:
        load_fashion_mnist("test")
    message = str(info.value)
    assert "下载也失败了" in message and f"{TEST_IMAGES}.gz" in message
    assert str(isolated) in message and "dataset-fashion-mnist" in message
    assert data.MIRRORS_ENV in message
    assert "download=True" not in message, "已经下载过了，不要再叫读者以 download=True 运行"
    # 下载的文件坏了：不提已经删掉的临时文件，也不叫读者去删它
    assert "下载的文件 不是完整的 gzip 文件" in message
    assert ".download-" not in message and "删除这个文件" not in message
    assert _files(isolated) == []
    assert list(isolated.iterdir()) == []  # 临时目录也删掉了


def test_unreachable_mirrors(isolated, monkeypatch):
    monkeypatch.setattr(data, "_download_url", FakeDownload(fail_hosts=("://",)))
    with pytest.raises(DataError, match="connection refused"):
        load_fashion_mnist("test")
    assert _files(isolated) == []


@pytest.fixture
def mirror(tmp_path):
    """本机上的一个 HTTP 镜像，发的是 Debian 重新压缩过的 .gz（与 torchvision 记录的 MD5 不同）。"""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(DEBIAN)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_download_from_a_recompressed_mirror(isolated, monkeypatch, mirror):
    # 真的走一遍 HTTP；校验的是解压后内容的 SHA-256，不是压缩文件的 MD5
    monkeypatch.setenv(data.MIRRORS_ENV, mirror)
    X, y = load_fashion_mnist("test")
    assert X.shape == (10000, 28, 28) and y.shape == (10000,)
    assert _files(isolated) == [isolated / f"{TEST_IMAGES}.gz", isolated / f"{TEST_LABELS}.gz"]


def test_a_download_is_on_disk_before_it_is_renamed_into_the_cache(isolated, monkeypatch, mirror, disk_events):
    """断电之后缓存里不会有改了名的半截文件：每个文件下载完先 fsync，再改名。"""
    monkeypatch.setenv(data.MIRRORS_ENV, mirror)
    load_fashion_mnist("test")
    expected = []
    for name in (TEST_IMAGES, TEST_LABELS):
        expected += [("fsync", (DEBIAN / f"{name}.gz").stat().st_size), ("replace", f"{name}.gz")]
    assert disk_events == expected


def test_a_small_download_is_flushed_before_it_is_synced(tmp_path, disk_events):
    # 小于写缓冲区的文件：不先 flush，fsync 落盘的是一个空文件
    source = tmp_path / "small.gz"
    source.write_bytes(b"x" * 100)
    data._download_url(source.as_uri(), tmp_path / "copy.gz")
    assert disk_events == [("fsync", 100)] and (tmp_path / "copy.gz").read_bytes() == b"x" * 100


def test_a_mirror_that_never_answers_times_out(isolated, monkeypatch):
    import socket

    listener = socket.create_server(("127.0.0.1", 0))  # 接受连接，却一个字节也不发
    try:
        port = listener.getsockname()[1]
        monkeypatch.setenv(data.MIRRORS_ENV, f"http://127.0.0.1:{port}/fm/")
        monkeypatch.setattr(data, "DOWNLOAD_TIMEOUT", 0.5)
        with pytest.raises(DataError, match=f"127.0.0.1:{port}/fm/{TEST_IMAGES}.gz.*timed out"):
            load_fashion_mnist("test")
    finally:
        listener.close()
    assert _files(isolated) == [] and list(isolated.iterdir()) == []


def test_interrupted_download_leaves_nothing_behind(isolated, monkeypatch):
    monkeypatch.setattr(data, "_download_url", FakeDownload("interrupt"))
    with pytest.raises(KeyboardInterrupt):
        load_fashion_mnist("test")
    assert _files(isolated) == []


def test_a_download_killed_by_sigterm_is_cleaned_up_by_the_next_one(isolated, monkeypatch, mirror):
    # SIGTERM 不运行 finally：被杀的下载留下临时目录；下一次下载把它删掉，正在进行的别人的下载不动
    import signal
    import socket
    import subprocess
    import sys
    import time

    listener = socket.create_server(("127.0.0.1", 0))  # 让下载停在读数据上
    script = (
        "import pathlib, dlbook.data as d\n"
        "d._SYSTEM_DIR = pathlib.Path('/nonexistent')\n"
        "d.load_fashion_mnist('test')\n"
    )
    env = {**os.environ, data.CACHE_ENV: str(isolated.parent),
           data.MIRRORS_ENV: f"http://127.0.0.1:{listener.getsockname()[1]}/"}
    env.pop(data.DATA_ENV, None)
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.monotonic() + 60
        while not list(isolated.glob(".download-*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == -signal.SIGTERM
    finally:
        proc.kill()
        listener.close()
    (abandoned,) = isolated.glob(".download-*")
    assert abandoned.name.startswith(f".download-{proc.pid}-{data._host()}-")
    running = isolated / f".download-{os.getpid()}-inprogress"  # 这个进程还活着：不能删（旧的、没有主机名的写法）
    running.mkdir()
    # 共用缓存目录的另一台主机上的下载：同样的 PID 在这里查不了，只按时间判断
    elsewhere = isolated / f".download-{proc.pid}-another.host-abc"
    elsewhere.mkdir()
    old_elsewhere = isolated / f".download-{proc.pid}-another.host-old"
    old_elsewhere.mkdir()
    os.utime(old_elsewhere, (0, 0))
    monkeypatch.setenv(data.MIRRORS_ENV, mirror)
    load_fashion_mnist("test")
    assert not abandoned.exists() and running.is_dir()
    assert elsewhere.is_dir() and not old_elsewhere.exists()
    assert _files(isolated) == [isolated / f"{TEST_IMAGES}.gz", isolated / f"{TEST_LABELS}.gz"]


# ---------------------------------------------------------------------------
# 张量
# ---------------------------------------------------------------------------


def test_tensors_are_scaled_floats():
    X, y = fashion_mnist_tensors("test", device="cpu")
    X_raw, y_raw = load_fashion_mnist("test")
    assert X.shape == (10000, 1, 28, 28) and X.dtype == torch.float32
    assert torch.equal(X[:, 0] * 255, X_raw.float())
    assert torch.equal(y, y_raw) and y.dtype == torch.int64 and y.device == torch.device("cpu")
    X.zero_()
    y.zero_()  # 返回值与内存缓存互不相干
    X_again, y_again = fashion_mnist_tensors("test")
    assert X_again.sum() > 0 and torch.equal(y_again, y_raw)


def test_subset_is_seeded_and_keeps_pairs_aligned():
    X_all, y_all = fashion_mnist_tensors("test")
    X, y = fashion_mnist_tensors("test", subset=50, seed=1)
    X_again, _ = fashion_mnist_tensors("test", subset=50, seed=1)
    X_other, _ = fashion_mnist_tensors("test", subset=50, seed=2)
    assert X.shape == (50, 1, 28, 28) and y.shape == (50,)
    assert torch.equal(X, X_again) and not torch.equal(X, X_other)
    flat = X_all.flatten(1)
    for image, label in zip(X, y, strict=True):
        matches = (flat == image.flatten()).all(dim=1).nonzero().flatten()
        assert len(matches) >= 1 and (y_all[matches] == label).any()


@pytest.mark.parametrize("subset", [0, 10001])
def test_subset_out_of_range(subset):
    with pytest.raises(ValueError, match="subset"):
        fashion_mnist_tensors("test", subset=subset)


@pytest.mark.parametrize("size", [14, 32])
def test_resize_is_bilinear(size):
    X, _ = fashion_mnist_tensors("test", subset=8, resize=size)
    X28, _ = fashion_mnist_tensors("test", subset=8)
    expected = F.interpolate(X28, size=(size, size), mode="bilinear", antialias=size < 28)
    assert X.shape == (8, 1, size, size)
    torch.testing.assert_close(X, expected.clamp(0, 1))
    assert X.min() >= 0 and X.max() <= 1


@pytest.mark.parametrize(("subset", "resize"), [(1, 1), (10000, None)])
def test_smallest_and_largest_settings_are_allowed(subset, resize):
    X, y = fashion_mnist_tensors("test", subset=subset, resize=resize)
    assert X.shape == (subset, 1, resize or 28, resize or 28) and y.shape == (subset,)


def test_invalid_resize():
    with pytest.raises(ValueError, match="resize"):
        fashion_mnist_tensors("test", subset=2, resize=0)


# ---------------------------------------------------------------------------
# TensorLoader
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# fashion_mnist_loaders
# ---------------------------------------------------------------------------


def test_tensor_loaders():
    train, test = fashion_mnist_loaders(32, subset=100, test_subset=70, resize=16)
    assert isinstance(train, TensorLoader) and isinstance(test, TensorLoader)
    assert (len(train), len(test)) == (4, 3)
    xb, yb = next(iter(train))
    assert xb.shape == (32, 1, 16, 16) and yb.dtype == torch.int64
    first = [torch.cat([yb for _, yb in train]) for _ in range(2)]
    assert not torch.equal(first[0], first[1])  # 训练集每轮打乱
    _, y_test = fashion_mnist_tensors("test", subset=70)
    assert torch.equal(torch.cat([yb for _, yb in test]), y_test)  # 测试集不打乱


def test_dataloader_loaders():
    train, test = fashion_mnist_loaders(25, subset=100, kind="dataloader")
    assert isinstance(train, DataLoader) and isinstance(test, DataLoader)
    assert len(train.dataset) == 100 and len(test.dataset) == 10000
    xb, _ = next(iter(train))
    assert xb.shape == (25, 1, 28, 28) and xb.device.type == "cpu"
    assert train.num_workers == test.num_workers == 0  # 默认在本进程里取数据
    assert isinstance(train.sampler, RandomSampler) and isinstance(test.sampler, SequentialSampler)  # 只打乱训练集
    one_worker, _ = fashion_mnist_loaders(25, subset=100, kind="dataloader", num_workers=1)  # 不迭代：不启动进程
    assert one_worker.num_workers == 1 and one_worker.persistent_workers


def test_tensor_loaders_put_the_data_on_the_device_and_dataloaders_keep_it_on_cpu():
    # meta 设备在没有 GPU 的机器上也有：张量只有形状，没有数据
    train, test = fashion_mnist_loaders(8, subset=16, test_subset=8, device="meta")
    assert train.X.device.type == train.y.device.type == test.X.device.type == "meta"
    train, _ = fashion_mnist_loaders(8, subset=16, test_subset=8, device="meta", kind="dataloader")
    assert all(t.device.type == "cpu" for t in train.dataset.tensors)


def test_unknown_loader_kind():
    with pytest.raises(ValueError, match="kind"):
        fashion_mnist_loaders(32, kind="numpy")


def test_bad_batch_size_is_reported_before_loading_anything(monkeypatch):
    # 224×224 的训练集要十几 GB：批量写错时不该先把它读出来、缩放完再报错
    def no_loading(*args, **kwargs):
        raise AssertionError("不该读数据")

    monkeypatch.setattr(data, "fashion_mnist_tensors", no_loading)
    with pytest.raises(ValueError, match="batch_size 应为正整数，而不是 0"):
        fashion_mnist_loaders(0, resize=224)


def test_batch_size_one_is_allowed():
    train, test = fashion_mnist_loaders(1, subset=3, test_subset=2)
    assert (len(train), len(test)) == (3, 2)
