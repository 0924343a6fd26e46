"""整站构建（``mkdocs build --strict``）与构建结果的静态检查。浏览器测试在 test_browser.py。"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dlbook.gallery.offline import broken_references, check_site, outside_resources
from tests.conftest import ROOT, quick_env

pytestmark = pytest.mark.slow

CHAPTER_PAGES = [
    "cnn-basics/from-fc-to-conv",
    "cnn-basics/conv2d",
    "cnn-basics/padding-and-stride",
    "cnn-basics/channels",
    "cnn-basics/pooling",
    "cnn-basics/lenet",
]


OFFLINE_ZIP_BYTES = b"PK\x05\x06" + bytes(18)  # 一个空的 zip：托管网站的构建只把它原样放进根目录


@pytest.fixture(scope="session")
def site(tmp_path_factory, gallery_cache) -> Path:
    """严格模式构建整个网站，复用本会话里示例测试留下的执行缓存。

    像 .github/workflows/site.yml 一样附带一个离线副本（``DLBOOK_OFFLINE_ZIP``）；
    真的离线副本由 ``offline_site`` 构建。
    """
    out = tmp_path_factory.mktemp("site")
    zip_path = tmp_path_factory.mktemp("zip") / "copy.zip"
    zip_path.write_bytes(OFFLINE_ZIP_BYTES)
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=quick_env(DLBOOK_CACHE_DIR=str(gallery_cache), DLBOOK_OFFLINE_ZIP=str(zip_path)),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr[-6000:]
    return out


@pytest.fixture(scope="session")
def offline_site(tmp_path_factory, gallery_cache) -> Path:
    """``python -m dlbook.gallery.offline`` 写出的离线副本，解压后的目录（``…/dlbook-offline``）。"""
    tmp = tmp_path_factory.mktemp("offline")
    proc = subprocess.run(
        [sys.executable, "-m", "dlbook.gallery.offline", "-o", str(tmp / "book.zip")],
        cwd=ROOT,
        env=quick_env(DLBOOK_CACHE_DIR=str(gallery_cache)),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr[-6000:]
    assert "写出" in proc.stdout and not (tmp / "book.zip.part").exists()
    with zipfile.ZipFile(tmp / "book.zip") as zf:
        assert {name.split("/")[0] for name in zf.namelist()} == {"dlbook-offline"}
        zf.extractall(tmp / "unzipped")
    return tmp / "unzipped" / "dlbook-offline"


def _html(site: Path, page: str) -> str:
    return (site / page / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("page", CHAPTER_PAGES)
def test_every_chapter_page_has_an_executed_example(site, page):
    html = _html(site, page)
    assert 'class="dlbook-run-info"' in html
    assert "quick 模式 · cpu · 运行" in html
    assert 'class="language-python highlight"' in html or "language-python" in html
    assert 'class="language-text highlight"' in html or "language-text" in html, "应有文本输出"
    assert "{{ example(" not in html


def test_figures_are_files_not_base64(site):
    html = _html(site, "cnn-basics/lenet")
    srcs = re.findall(r'<img[^>]+src="([^"]+)"', html)
    figures = [s for s in srcs if "/images/" in s]
    assert figures, srcs
    for src in figures:
        assert not src.startswith("data:")
        assert (site / "cnn-basics" / "lenet" / src).resolve().is_file(), src


def test_example_pages_and_downloads(site):
    page = site / "gallery" / "cnn_basics" / "plot_lenet" / "index.html"
    html = page.read_text(encoding="utf-8")
    assert "dlbook-run-info" in html
    assert (site / "gallery" / "cnn_basics" / "plot_lenet.py").is_file()
    import nbformat

    nb = nbformat.read(site / "gallery" / "_downloads" / "cnn_basics" / "plot_lenet.ipynb", as_version=4)
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "下载的笔记本应当执行过"
    index = (site / "gallery" / "index.html").read_text(encoding="utf-8")
    assert index.count("images/thumb/") >= 6


def test_notebook_pages_have_chinese_heading_ids(site):
    html = (site / "gallery" / "cnn_basics" / "plot_lenet" / "index.html").read_text(encoding="utf-8")
    assert 'id=""' not in html
    ids = set(re.findall(r'<h[1-6][^>]* id="([^"]+)"', html))
    toc = re.findall(r'<a href="#([^"]+)" class="md-nav__link', html)
    assert toc, "示例页面应当有目录"
    assert all(t in ids for t in toc), (toc, ids)


def test_every_table_of_contents_link_finds_its_heading(site):
    # 标题里有行内代码时，mkdocs-jupyter 的目录项标题丢了代码的文字，曾经有 10 个示例页面的目录链接指向不存在的 id
    broken = []
    for path in sorted(site.rglob("index.html")):
        html = path.read_text(encoding="utf-8")
        ids = set(re.findall(r'<h[1-6][^>]* id="([^"]+)"', html))
        for target in re.findall(r'<a href="#([^"]+)" class="md-nav__link', html):
            if target not in ids:
                broken.append(f"{path.parent.relative_to(site)}#{target}")
    assert not broken, broken


def test_site_makes_no_outside_requests(site):
    offenders = []
    for path in site.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.relative_to(site)}: {tag}" for tag in outside_resources(text)]
        for host in ("fonts.googleapis", "fonts.gstatic", "cdn.jsdelivr", "cdnjs", "unpkg.com"):
            assert host not in text, f"{path}: {host}"
    assert not offenders, offenders[:10]


def test_every_local_link_and_resource_exists(site):
    assert broken_references(site) == []


def test_example_pages_share_one_copy_of_the_notebook_styles(site):
    # mkdocs-jupyter 在每个示例页面内嵌约 570 KB 的 JupyterLab 样式；现在都链接到同几个共用文件
    pages = sorted((site / "gallery").glob("*/plot_*/index.html"))
    assert len(pages) >= 40
    shared = set()
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "<style" not in html, page
        links = re.findall(r'<link rel="stylesheet" href="((?:\.\./)+assets/stylesheets/notebook-[0-9a-f]{12}\.css)">', html)
        assert links, page
        shared.update((page.parent / link).resolve() for link in links)
        assert page.stat().st_size < 250_000, (page, page.stat().st_size)
    assert all(path.is_file() for path in shared)
    assert max(path.stat().st_size for path in shared) > 300_000  # JupyterLab 的主样式表确实挪出来了
    assert len(shared) <= 6


def test_home_page_links_the_offline_copy_built_beside_the_site(site):
    assert (site / "dlbook-offline.zip").read_bytes() == OFFLINE_ZIP_BYTES
    html = _html(site, ".")
    assert re.search(r'<a href="dlbook-offline\.zip">下载离线副本 dlbook-offline\.zip</a>', html)


def test_offline_copy_opens_from_the_file_system(offline_site):
    assert check_site(offline_site) == []
    assert not (offline_site / "404.html").exists()
    index = (offline_site / "index.html").read_text(encoding="utf-8")
    assert 'href="cnn-basics/index.html"' in index and "你读的就是离线副本" in index
    assert (offline_site / "gallery" / "cnn_basics" / "plot_lenet.html").is_file()


def test_math_and_search_assets_are_local(site):
    assert (site / "assets" / "mathjax" / "tex-chtml.js").is_file()
    assert (site / "assets" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
    html = _html(site, "cnn-basics/padding-and-stride")
    assert 'class="arithmatex"' in html


def test_search_index_is_segmented(site):
    import json

    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert index["config"]["lang"] == ["zh"]
    text = " ".join(doc["text"] for doc in index["docs"])
    assert "\u200b" in text, "jieba 分词后的文本用零宽空格分隔词"


def test_search_index_is_utf8_text_and_the_offline_copy_inlines_it(site, offline_site):
    """汉字在索引里是 UTF-8 原文，不是 6 个字节的 ``\\uXXXX``；离线副本的 search_index.js 就是这份索引。"""
    import json

    raw = (site / "search" / "search_index.json").read_text(encoding="utf-8")
    assert "卷积" in raw
    # 只有控制字符（\u00XX）和 U+2028、U+2029 该转义；代码里的反斜杠在 JSON 里写成两个，先去掉
    escaped = re.findall(r"\\u(?!00|202[89])[0-9a-fA-F]{4}", raw.replace("\\\\", ""))
    assert not escaped, f"索引里还有 {len(escaped)} 个 \\u 转义"
    offline = (offline_site / "search" / "search_index.json").read_text(encoding="utf-8")
    script = (offline_site / "search" / "search_index.js").read_text(encoding="utf-8")
    assert script == "var __index = " + offline
    assert json.loads(offline)["docs"]


def test_search_indexes_example_code_once_and_no_notebook_chrome(site):
    """示例页面的代码在搜索索引里只有一份；隐藏的提示符和复制按钮的文字不进索引。"""
    import json

    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    docs = [doc for doc in index["docs"] if doc["location"].startswith("gallery/")]
    assert docs
    text = " ".join(doc["text"] for doc in docs)
    assert "Copied!" not in text
    assert not re.search(r"(?:In|Out)\s*\[\s*\d*\s*\]:", text)
    page = " ".join(doc["text"] for doc in docs if doc["location"].startswith("gallery/cnn_basics/plot_channels/"))
    # 高亮的代码留在 <pre> 里，可以搜到；给复制按钮用的那份纯文本不再重复一遍
    assert page.count("seed_everything(0)") == 1, page[:2000]


def test_api_page_covers_every_public_module():
    """docs/api.md 列出 dlbook 的每个公开模块（图库构建的内部模块除外），新模块不会被忘在 API 参考之外。"""
    listed = set(re.findall(r"^::: (\S+)$", (ROOT / "docs" / "api.md").read_text(encoding="utf-8"), re.M))
    internal = {"cjk", "execute", "griffe_doctest", "notebook", "plugin", "render", "search", "slugs", "styles"}  # dlbook.gallery 的内部
    modules = set()
    for path in (ROOT / "dlbook").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__" or parts[-1].startswith("_"):
            continue
        if parts[:2] == ("dlbook", "gallery") and parts[-1] in internal:
            continue
        modules.add(".".join(parts))
    assert modules - listed == set()


class _ProseBreaks(HTMLParser):
    """收集正文（代码、脚本、公式之外）里夹在两个汉字或全角标点之间的换行。"""

    RAW = {"pre", "code", "script", "style", "textarea"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
    BREAK = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef][ \t]*\n\s*[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # 每个打开的元素：它或它的祖先是不是代码、公式
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        skip = tag in self.RAW or "arithmatex" in (dict(attrs).get("class") or "")
        self.stack.append(skip or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.found += [m.group(0) for m in self.BREAK.finditer(data)]


def test_chinese_prose_has_no_line_breaks_that_render_as_spaces(site):
    # 源文件里折行的中文，换行在 Chromium 里显示成空格（“数据 集”）；构建时应当都删掉了（dlbook.gallery.cjk）
    offenders = []
    for path in sorted(site.rglob("*.html")):
        parser = _ProseBreaks()
        parser.feed(path.read_text(encoding="utf-8"))
        offenders += [f"{path.parent.relative_to(site)}: {hit!r}" for hit in parser.found]
    assert not offenders, (len(offenders), offenders[:10])


def test_gallery_index_lists_chapters_in_book_order(site):
    """图库首页的章节按导航的先后，而不是按目录名的字母顺序。"""
    from mkdocs.config import load_config

    from dlbook.gallery.plugin import _book_order, _nav_pages

    config = load_config(str(ROOT / "mkdocs.yml"))
    order = _book_order(_nav_pages(config.nav), Path(config.docs_dir))
    chapters = list(dict.fromkeys(name.split("/")[0] for name in order))
    html = _html(site, "gallery")
    first_card = [html.index(f'href="{chapter}/') for chapter in chapters]
    assert len(chapters) == 6 and first_card == sorted(first_card), chapters


def test_no_page_repeats_an_id(site):
    # API 参考页曾有 96 个 id="__codelineno-0-1"：每个函数签名单独高亮，行锚点的编号从头开始
    repeated = {}
    for path in sorted(site.rglob("*.html")):
        ids = re.findall(r'<[a-zA-Z][^>]*\sid="([^"]+)"', path.read_text(encoding="utf-8"))
        twice = sorted(i for i, n in Counter(ids).items() if n > 1)
        if twice:
            repeated[str(path.relative_to(site))] = twice[:5]
    assert not repeated, repeated


def test_example_pages_link_figure_files_and_describe_them(site):
    pages = sorted((site / "gallery").glob("*/plot_*/index.html"))
    assert len(pages) >= 40
    alts = []
    for path in pages:
        html = path.read_text(encoding="utf-8")
        assert not re.search(r'<img\b[^>]*\ssrc="data:', html), f"{path}: 图应当是文件，不内嵌 base64"
        assert "No description has been provided" not in html, path
        for tag in re.findall(r"<img\b[^>]*>", html):
            src = re.search(r'\ssrc="([^"]+)"', tag)[1]
            if "/images/" in src:
                assert (path.parent / src).resolve().is_file(), (path, src)
                alts.append(re.search(r'\salt="([^"]*)"', tag)[1])
    assert len(alts) >= 60
    described = [a for a in alts if a != "示例输出的图"]
    assert len(described) >= len(alts) // 2, described  # 大多数图有自己的标题或坐标轴名字
    assert not [a for a in alts if "$" in a or "\\" in a], "替代文字里不应有 TeX 源码"


def test_every_figure_links_to_its_own_file(site):
    linked, unlinked = 0, []
    for path in sorted(site.rglob("*.html")):
        html = path.read_text(encoding="utf-8")
        links = {}
        for a in re.findall(r'<a\b[^>]*\bclass="dlbook-figure-link"[^>]*>\s*<img\b[^>]*>', html):
            href = re.search(r'\shref="([^"]+)"', a)[1]
            src = re.search(r'<img\b[^>]*\ssrc="([^"]+)"', a)[1]
            assert href == src, (path, href, src)
            links[src] = links.get(src, 0) + 1
            linked += 1
        for src in re.findall(r'<img\b[^>]*\ssrc="([^"]*/images/[^"]+)"', html):
            if "/images/thumb/" in src:
                continue  # 图库卡片的缩略图链接到示例页面
            if links.get(src, 0) == 0:
                unlinked.append((str(path.relative_to(site)), src))
            else:
                links[src] -= 1
    assert linked >= 120, linked  # 章节页与示例页各放一次
    assert unlinked == []


def test_figure_text_stays_readable_on_chapter_pages(site):
    # 比正文宽的图缩到正文宽度，图里的字跟着缩小：每张图最小的文字在页面上至少 MIN_TEXT_PX
    import nbformat

    from dlbook.gallery.figures import too_small
    from dlbook.gallery.render import extract_images

    images = []
    for path in sorted((site / "gallery" / "_downloads").glob("*/plot_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        images += [(path.stem, image) for image in extract_images(nb, stem=path.stem)]
    measured = [image for _, image in images if image.text_px is not None]
    assert len(measured) >= 55, len(measured)  # dlbook.plot.show 显示的图都记下了最小字号
    problems = too_small(images)
    assert not problems, "这些图的文字在页面上太小：\n" + "\n".join(problems)


def test_printed_chinese_lines_fit_the_page(site):
    # 文本输出的框和代码框一样宽（CODE_COLUMNS 个字符，汉字两格）。示例自己打印的行都含中文，要放得下；
    # PyTorch 自己的英文输出（模块的 repr、生成的代码、报错原文）可以横向滚动
    import nbformat

    from dlbook.gallery.notebook import CODE_COLUMNS
    from dlbook.text import text_width

    wide, lines = [], 0
    for path in sorted((site / "gallery" / "_downloads").glob("*/plot_*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            for output in cell.get("outputs", []):
                text = output.get("text") or output.get("data", {}).get("text/plain", "")
                for line in text.splitlines():
                    lines += 1
                    width = text_width(line)
                    # 比字符个数宽，说明含有汉字或全角标点：是示例自己打印的行
                    if width > len(line) and width > CODE_COLUMNS:
                        wide.append(f"{path.stem}: {width} 列：{line}")
    assert lines > 1000, lines
    assert not wide, "\n".join(wide)


def test_the_build_kept_mkdocs_jupyter_cache_beside_its_own(site, gallery_cache):
    # 不与仓库里 .cache/mkdocs-jupyter 共用：开着 mkdocs serve 跑测试，两边不会互删缓存
    rendered = gallery_cache.with_name(gallery_cache.name + "-jupyter")
    assert len(list(rendered.glob("*.json"))) >= 40


def test_example_page_table_of_contents_shows_the_whole_heading(site):
    # mkdocs-jupyter 的目录项丢了标题里行内代码的文字（“`nn.Sequential`：把层串起来”只剩“：把层串起来”）
    import html as html_lib

    def text(fragment: str) -> str:
        return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", "", fragment)).replace("¶", "").split())

    mismatched = []
    for path in sorted((site / "gallery").glob("*/plot_*/index.html")):
        page = path.read_text(encoding="utf-8")
        headings = {m[1]: text(m[2]) for m in re.finditer(r'<h[1-6][^>]* id="([^"]+)"[^>]*>(.*?)</h[1-6]>', page, re.S)}
        for target, title in re.findall(r'<a href="#([^"]+)" class="md-nav__link">(.*?)</a>', page, re.S):
            if text(title) != headings.get(target):
                mismatched.append((path.parent.name, text(title), headings.get(target)))
    assert not mismatched, mismatched[:10]


def test_api_page_shows_no_rest_markup(site):
    # 文档字符串里的 reST 链接 `论文 <网址>`_ 和引出字面块的 :: 曾原样显示在 API 参考页上
    html = _html(site, "api")
    prose = re.sub(r"<[^>]+>", "", re.sub(r"<(pre|code)\b.*?</\1>", "", html, flags=re.S))
    assert "`_" not in prose and "&lt;http" not in prose
    assert "::" not in prose
    assert len(re.findall(r'<a href="https://arxiv\.org/abs/[^"]+">', html)) >= 8
