"""离线副本（dlbook.gallery.offline）、示例页面共用的样式表（dlbook.gallery.styles）与改写搜索索引（dlbook.gallery.search）。

这里只用很小的假网站和 MkDocs 项目；真书的离线副本在 test_site.py 里构建，在 test_browser.py 里从 file:// 打开。
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from mkdocs.config import load_config
from mkdocs.exceptions import PluginError

from dlbook.gallery import offline
from dlbook.gallery.offline import (
    WORKER_SHIM,
    ZIP_ENV,
    broken_references,
    build_offline,
    check_site,
    download_note,
    outside_resources,
    use_local_worker_shim,
)
from dlbook.gallery.plugin import _offline_zip
from dlbook.gallery.search import unescape_search_index
from dlbook.gallery.styles import shared_stylesheets
from tests.conftest import ROOT


def _write(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def tiny_site(tmp_path) -> Path:
    site = tmp_path / "site"
    _write(site / "assets" / "app.js")
    _write(site / "search" / "search_index.js")
    _write(site / WORKER_SHIM)
    _write(site / "a" / "index.html", '<a href="../b/">目录</a><a href="../b/page.html#x">锚点</a>')
    _write(site / "b" / "index.html", '<script src="/assets/app.js"></script><a href="#top">顶</a>')
    _write(site / "b" / "page.html", '<img src="pic%20one.png"><a href="https://example.com/">外</a>')
    _write(site / "b" / "pic one.png")
    return site


def test_broken_references_finds_missing_files_and_follows_directory_urls(tiny_site):
    assert broken_references(tiny_site) == []
    (tiny_site / "b" / "pic one.png").unlink()
    (tiny_site / "assets" / "app.js").unlink()
    assert broken_references(tiny_site) == ["b/index.html: /assets/app.js", "b/page.html: pic%20one.png"]


def test_directory_links_are_broken_in_an_offline_copy(tiny_site):
    # 从 file:// 打开时，指向目录的链接只会让浏览器列出目录
    assert broken_references(tiny_site, directory_urls=False) == ["a/index.html: ../b/（指向目录）"]


def test_a_directory_link_without_a_slash_is_a_directory_link_too(tiny_site):
    _write(tiny_site / "a" / "more.html", '<a href="../b">目录</a><a href="../c/">没有 index.html 的目录</a>')
    (tiny_site / "c").mkdir()
    assert broken_references(tiny_site) == ["a/more.html: ../c/"]
    assert broken_references(tiny_site, directory_urls=False) == [  # 每个链接只报一次
        "a/index.html: ../b/（指向目录）", "a/more.html: ../b（指向目录）", "a/more.html: ../c/（指向目录）",
    ]


def test_the_worker_shim_joins_other_polyfills_once(monkeypatch):
    monkeypatch.setenv(offline.OFFLINE_ENV, "true")
    config = load_config(str(ROOT / "mkdocs.yml"))
    config.extra["polyfills"] = ["other.js"]
    use_local_worker_shim(config)
    use_local_worker_shim(config)
    assert config.extra["polyfills"] == ["other.js", WORKER_SHIM]


def test_check_site_wants_local_search_and_no_outside_loads(tiny_site):
    _write(tiny_site / "a" / "page.html", '<script src="https://unpkg.com/iframe-worker/shim"></script>')
    (tiny_site / "search" / "search_index.js").unlink()
    problems = check_site(tiny_site)
    assert "a/page.html: 从站外加载 <script src=\"https://unpkg.com/iframe-worker/shim" in problems
    assert "缺少 search/search_index.js（离线时的搜索要用）" in problems
    assert "a/index.html: ../b/（指向目录）" in problems


def test_outside_resources_ignores_plain_links_and_localhost():
    html = (
        '<link rel="stylesheet" href="//fonts.googleapis.com/css">'
        '<img src="http://127.0.0.1:8000/x.png"><a href="https://arxiv.org/abs/1">论文</a>'
    )
    assert outside_resources(html) == ['<link rel="stylesheet" href="//fonts.googleapis.com/css']


def test_the_offline_config_loads_the_worker_shim_from_the_site(monkeypatch):
    monkeypatch.setenv(offline.OFFLINE_ENV, "true")
    config = load_config(str(ROOT / "mkdocs.yml"))
    use_local_worker_shim(config)
    assert config.extra["polyfills"] == [WORKER_SHIM]
    assert (ROOT / "docs" / WORKER_SHIM).is_file()
    # Material 的 offline 插件看到已有 iframe-worker，就不再加 unpkg.com 上的那一份
    config.plugins["material/offline"].on_config(config)
    assert config.extra["polyfills"] == [WORKER_SHIM]
    assert config.use_directory_urls is False


def test_the_hosted_config_loads_no_worker_shim(monkeypatch):
    monkeypatch.delenv(offline.OFFLINE_ENV, raising=False)
    config = load_config(str(ROOT / "mkdocs.yml"))
    use_local_worker_shim(config)
    assert not config.extra.get("polyfills")
    assert config.use_directory_urls is True


def _project(tmp_path: Path, config: str) -> Path:
    _write(tmp_path / "proj" / "docs" / "index.md", "# 首页\n")
    return _write(tmp_path / "proj" / "mkdocs.yml", config)


OFFLINE_PROJECT = """\
site_name: x
site_url: !ENV [DLBOOK_SITE_URL, ""]
theme:
  name: material
  font: false
plugins:
  - search
  - offline:
      enabled: !ENV [DLBOOK_OFFLINE, false]
extra:
  polyfills: [assets/javascripts/iframe-worker/shim.js]
"""


def _offline_project(tmp_path: Path) -> Path:
    """能构建出合格离线副本的最小 MkDocs 项目（带站内的 iframe-worker），返回它的 mkdocs.yml。"""
    config = _project(tmp_path, OFFLINE_PROJECT)
    _write(config.parent / "docs" / WORKER_SHIM).write_bytes((ROOT / "docs" / WORKER_SHIM).read_bytes())
    return config


def test_a_working_copy_is_zipped_under_one_folder(tmp_path, monkeypatch, capsys):
    config = _offline_project(tmp_path)
    _write(config.parent / "docs" / "two.md", "# 第二页\n")
    monkeypatch.setenv("DLBOOK_SITE_URL", "https://example.com/book/")  # 托管网站的地址不进离线副本
    monkeypatch.chdir(tmp_path)  # 相对路径：mkdocs 在配置文件所在的目录里运行
    assert offline.main(["-o", "new/sub/copy.zip", "-f", "proj/mkdocs.yml"]) == 0
    out = tmp_path / "new" / "sub" / "copy.zip"
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        pages = {name: zf.read(name).decode("utf-8") for name in names if name.endswith(".html")}
    assert {name.split("/")[0] for name in names} == {offline.FOLDER}
    assert sorted(pages) == [f"{offline.FOLDER}/index.html", f"{offline.FOLDER}/two.html"]  # 没有 404.html
    assert f"{offline.FOLDER}/search/search_index.js" in names and f"{offline.FOLDER}/{WORKER_SHIM}" in names
    assert not any("example.com" in html for html in pages.values())
    assert sorted(p.name for p in out.parent.iterdir()) == ["copy.zip"]  # 没有留下 .part
    printed = capsys.readouterr().out
    assert printed.startswith(f"写出 {out.resolve()}（") and "，2 个页面）" in printed  # 打印的是解析后的路径


def test_the_zip_reaches_the_disk_before_it_is_renamed(tmp_path, disk_events):
    config = _offline_project(tmp_path)
    out = tmp_path / "copy.zip"
    build_offline(out, config_file=config)
    # mkdocs 构建时的写入不算：只看最后三件事
    assert disk_events[-3:] == [("fsync", out.stat().st_size), ("replace", "copy.zip"), ("fsync", "dir")]


def test_a_zip_that_fails_half_way_leaves_neither_part_nor_zip(tmp_path, monkeypatch):
    config = _offline_project(tmp_path)
    written = []

    def write_then_fail(self, filename, arcname=None, *args, **kwargs):
        if len(written) == 3:
            raise OSError(28, "No space left on device")
        written.append(arcname)
        return real_write(self, filename, arcname, *args, **kwargs)

    real_write = zipfile.ZipFile.write
    monkeypatch.setattr(zipfile.ZipFile, "write", write_then_fail)
    out = tmp_path / "copy.zip"
    with pytest.raises(OSError, match="No space left"):
        build_offline(out, config_file=config)
    assert len(written) == 3 and sorted(p.name for p in tmp_path.iterdir()) == ["proj"]


def test_a_failed_build_writes_no_zip(tmp_path):
    config = _project(tmp_path, "site_name: x\nnav:\n  - 不存在.md\n")
    out = tmp_path / "out" / "copy.zip"
    with pytest.raises(RuntimeError, match="离线副本构建失败"):
        build_offline(out, config_file=config)
    assert not out.parent.exists(), "构建失败时不留下为 zip 建的空目录"


def test_a_copy_that_would_not_work_offline_is_not_zipped(tmp_path):
    # 能构建，但不是离线方式：没有 search_index.js、没有站内的 iframe-worker
    config = _project(tmp_path, "site_name: x\ntheme: mkdocs\n")
    out = tmp_path / "copy.zip"
    out.write_bytes(b"old")  # 上一次的副本：检查不过时原样留着
    with pytest.raises(RuntimeError, match="离线副本有问题，没有写 copy.zip") as info:
        build_offline(out, config_file=config)
    assert "缺少 search/search_index.js" in str(info.value)
    assert out.read_bytes() == b"old"
    assert not (tmp_path / "copy.zip.part").exists()


@pytest.mark.parametrize("kind", ["directory", "under a file"])
def test_a_bad_output_path_is_named_before_building(tmp_path, monkeypatch, kind):
    config = _project(tmp_path, "site_name: x\n")
    if kind == "directory":
        out, expected = tmp_path / "copies", "是一个目录"
        out.mkdir()
    else:
        (tmp_path / "afile").write_text("")
        out, expected = tmp_path / "afile" / "copy.zip", "是一个文件，不是目录"

    def no_build(*args, **kwargs):
        raise AssertionError("输出路径不对，不应该开始构建")

    monkeypatch.setattr(offline.subprocess, "run", no_build)
    with pytest.raises(ValueError, match=expected):
        build_offline(out, config_file=config)


@pytest.mark.parametrize(("count", "listed", "total"), [(20, 20, False), (21, 20, True)])
def test_a_long_list_of_problems_is_cut_at_twenty(tmp_path, monkeypatch, count, listed, total):
    import subprocess

    config = _project(tmp_path, "site_name: x\n")
    monkeypatch.setattr(offline.subprocess, "run", lambda args, **kw: subprocess.CompletedProcess(args, 0))
    monkeypatch.setattr(offline, "check_site", lambda site: [f"p{i}.html: x" for i in range(count)])
    with pytest.raises(RuntimeError) as info:
        build_offline(tmp_path / "copy.zip", config_file=config)
    message = str(info.value)
    assert message.count(".html: x") == listed and (f"……共 {count} 处" in message) is total


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="找不到 MkDocs 配置文件 .*nope.yml"):
        build_offline(tmp_path / "x.zip", config_file=tmp_path / "nope.yml")


def test_main_reports_errors_without_a_traceback(tmp_path, capsys):
    assert offline.main(["-o", str(tmp_path / "x.zip"), "-f", str(tmp_path / "nope.yml")]) == 1
    assert "找不到 MkDocs 配置文件" in capsys.readouterr().err


def test_download_note_has_three_forms():
    assert download_note("../dlbook-offline.zip", 3 * 2**20).startswith(
        "[下载离线副本 dlbook-offline.zip](../dlbook-offline.zip)（3 MB）"
    )
    assert "python -m dlbook.gallery.offline" in download_note(None)
    assert download_note(None, offline=True).startswith("你读的就是离线副本")


def test_offline_zip_setting_is_checked(tmp_path, monkeypatch):
    monkeypatch.delenv(ZIP_ENV, raising=False)
    assert _offline_zip() is None
    monkeypatch.setenv(ZIP_ENV, str(tmp_path / "missing.zip"))
    with pytest.raises(PluginError, match="找不到这个文件"):
        _offline_zip()
    _write(tmp_path / "not.zip", "plain text")
    monkeypatch.setenv(ZIP_ENV, str(tmp_path / "not.zip"))
    with pytest.raises(PluginError, match="不是 zip 文件"):
        _offline_zip()
    with zipfile.ZipFile(tmp_path / "ok.zip", "w") as zf:
        zf.writestr("dlbook-offline/index.html", "<p>")
    monkeypatch.setenv(ZIP_ENV, str(tmp_path / "ok.zip"))
    assert _offline_zip() == (tmp_path / "ok.zip").resolve()


def test_shared_stylesheets_keep_order_and_share_identical_blocks():
    page = '<style type="text/css">a{}</style><p>x</p><style>b{}</style><style>a{}</style><style media="print">c{}</style>'
    out, files = shared_stylesheets(page, lambda uri: "../" + uri)
    links = [f'<link rel="stylesheet" href="../{uri}">' for uri in files]
    assert len(files) == 2 and list(files.values()) == ["a{}", "b{}"]
    assert out == links[0] + "<p>x</p>" + links[1] + links[0] + '<style media="print">c{}</style>'


def test_a_broken_search_index_is_named_and_left_as_it_was(tmp_path):
    index = _write(tmp_path / "search" / "search_index.json", '{"docs": [')
    with pytest.raises(ValueError, match=r"search_index\.json 不是有效的 JSON"):
        unescape_search_index(index)
    assert index.read_text(encoding="utf-8") == '{"docs": ['
    assert [p.name for p in index.parent.iterdir()] == ["search_index.json"]


def test_search_index_keeps_control_characters_and_line_separators_escaped(tmp_path):
    import json

    data = {"docs": [{"text": "a\x1b[0m\u2028b\u2029c\\u4e00", "location": "页"}]}
    index = _write(tmp_path / "search_index.json", json.dumps(data))
    unescape_search_index(index)
    text = index.read_text(encoding="utf-8")
    assert json.loads(text) == data
    assert "\u2028" not in text and "\u2029" not in text and "\x1b" not in text
    assert '"location":"页"' in text
