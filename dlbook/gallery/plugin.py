"""MkDocs 插件 ``dlbook-gallery``：构建时执行图库，并把示例嵌进章节页面。

在 ``mkdocs.yml`` 里放在 ``mkdocs-jupyter`` 之前::

    plugins:
      - search
      - dlbook-gallery
      - mkdocs-jupyter:
          include: ["gallery/*/plot_*.ipynb"]
          execute: false

章节页面里单独一行 ``{{ example("cnn_basics/plot_lenet.py") }}`` 会被换成执行过的示例：
Markdown 正文、高亮的代码、文本输出和图片文件。单独一行 ``{{ results_table("modern_cnn") }}``
会被换成该章各示例用 :func:`dlbook.results.report` 报告的训练结果汇成的表格。

环境变量：``DLBOOK_MODE``（quick/full）、``DLBOOK_DEVICE``、``DLBOOK_GALLERY_PATTERN``
（只执行匹配的脚本）、``DLBOOK_CELL_TIMEOUT``（一个代码单元格最多运行的秒数，默认 1800）、
``DLBOOK_CACHE_DIR``（执行缓存的位置；生成的图库文件放在它旁边的 ``<缓存目录>-site``，
mkdocs-jupyter 的渲染缓存放在 ``<缓存目录>-jupyter``）。
"""

from __future__ import annotations

import logging
import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File, Files
from mkdocs.utils import get_relative_url

from dlbook.gallery.build import CELL_TIMEOUT, PATTERN_ENV, Example, GalleryBuild
from dlbook.gallery.cjk import FENCE, closes_fence, join_cjk_lines
from dlbook.gallery.execute import ExampleError
from dlbook.gallery.notebook import ScriptError
from dlbook.gallery.offline import (
    ZIP_ENV,
    ZIP_NAME,
    download_note,
    offline_enabled,
    use_local_worker_shim,
)
from dlbook.gallery.render import notebook_to_markdown
from dlbook.gallery.search import exclude_notebook_chrome, unescape_search_index
from dlbook.gallery.slugs import (
    fix_notebook_headings,
    link_images,
    strip_mathjax_loader,
    strip_remote_scripts,
)
from dlbook.gallery.styles import shared_stylesheets
from dlbook.results import results_in, results_table

__all__ = ["GalleryPlugin"]

log = logging.getLogger("mkdocs.plugins.dlbook")

TIMEOUT_ENV = "DLBOOK_CELL_TIMEOUT"

_EXAMPLE = re.compile(r'^[ \t]*\{\{\s*example\(\s*"(?P<name>[^"]+)"\s*\)\s*\}\}[ \t]*$', re.MULTILINE)
_OFFLINE_COPY = re.compile(r"^[ \t]*\{\{\s*offline_copy\(\s*\)\s*\}\}[ \t]*$", re.MULTILINE)
_RESULTS = re.compile(r'^[ \t]*\{\{\s*results_table\(\s*"(?P<chapter>[^"]+)"\s*\)\s*\}\}[ \t]*$', re.MULTILINE)
_MACRO = re.compile(r"\{\{\s*\w+\s*\(")  # 任何像宏的东西：上面三种之外的是写错了的宏
_MACROS_HELP = (
    '宏要单独占一行，参数用双引号：{{ example("<章>/plot_<名>.py") }}、'
    '{{ results_table("<章>") }} 或 {{ offline_copy() }}'
)
_CODE_SPAN = re.compile(r"(`+).+?\1", re.DOTALL)


def _outside_fences(markdown: str, fn: Callable[[str], str]) -> str:
    r"""把 ``fn`` 用在围栏代码块（````` ``` `````、``~~~``）之外的每一段上；代码块原样保留，
    页面在代码块里展示宏的写法时不会被展开。

    >>> _outside_fences("a\n```\nb\n```\nc\n", str.upper)
    'A\n```\nb\n```\nC\n'
    """
    out: list[str] = []
    chunk: list[str] = []
    fence = ""
    for line in markdown.splitlines(keepends=True):
        if not fence:
            opening = FENCE.match(line)
            if opening is None:
                chunk.append(line)
                continue
            out.append(fn("".join(chunk)))
            chunk = []
            fence = opening.group(1)
        elif closes_fence(line, fence):
            fence = ""
        out.append(line)
    out.append(fn("".join(chunk)) if not fence else "".join(chunk))
    return "".join(out)


def _misspelled_macro(text: str) -> str | None:
    """``text`` 里认不出的宏（写错名字、用了单引号、没有单独占一行……）；行内代码里的不算。"""
    for pattern in (_EXAMPLE, _RESULTS, _OFFLINE_COPY):
        text = pattern.sub("", text)
    found = _MACRO.search(_CODE_SPAN.sub("", text))
    if found is None:
        return None
    start = text.rfind("\n", 0, found.start()) + 1
    end = text.find("\n", found.end())
    return text[start : end if end >= 0 else len(text)].strip()


def _nav_pages(nav) -> list[str]:
    """MkDocs 的 ``nav`` 设置里的 Markdown 页面，按导航的先后。

    >>> _nav_pages(["index.md", {"第一章": ["a/index.md", {"一节": "a/b.md"}]}, {"外链": "https://x.org"}])
    ['index.md', 'a/index.md', 'a/b.md']
    """
    if isinstance(nav, str):
        return [nav] if nav.endswith(".md") else []
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in _nav_pages(value)]
    if isinstance(nav, list):
        return [page for item in nav for page in _nav_pages(item)]
    return []


def _book_order(pages: list[str], docs_dir: Path) -> list[str]:
    """这些页面里用 ``{{ example(...) }}`` 嵌入的示例，按在书里出现的先后（读不到的页面跳过）。"""
    names: list[str] = []
    for page in pages:
        try:
            text = (docs_dir / page).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):  # 页面本身的问题由 MkDocs 报告
            continue
        names += [m.group("name") for m in _EXAMPLE.finditer(text)]
    return names


class _Config(base.Config):
    gallery_dir = c.Type(str, default="gallery")
    out_dir = c.Type(str, default=".cache/dlbook/site")
    cache_dir = c.Type(str, default=".cache/dlbook/executed")


class GalleryPlugin(BasePlugin[_Config]):
    """执行 ``gallery/`` 的示例，生成示例页面、下载文件、图片与图库索引。"""

    def __init__(self) -> None:
        self.build: GalleryBuild | None = None
        self._stylesheets: dict[str, str] = {}
        self._offline = False
        self._offline_zip: Path | None = None

    def on_config(self, config):
        from dlbook.device import get_device
        from dlbook.mode import current_mode

        root = Path(config.config_file_path or ".").resolve().parent
        self._root = root
        self._gallery = root / self.config.gallery_dir
        self._out = root / self.config.out_dir
        self._cache = root / self.config.cache_dir
        if os.environ.get("DLBOOK_CACHE_DIR"):
            # 另指缓存时，生成的页面也放到它旁边：两次并行的构建互不删除对方的文件
            self._cache = Path(os.environ["DLBOOK_CACHE_DIR"]).resolve()
            if not self._cache.name:
                raise PluginError(f"DLBOOK_CACHE_DIR={self._cache} 是根目录：请设成一个目录的路径")
            self._out = self._cache.with_name(self._cache.name + "-site")
        for what, path in (("执行缓存", self._cache), ("生成的图库文件", self._out)):
            if path.exists() and not path.is_dir():
                raise PluginError(f"{what}的目录 {path} 是一个文件：请把 DLBOOK_CACHE_DIR 设成一个目录的路径")
        self._separate_notebook_cache(config)
        self._stylesheets = {}
        use_local_worker_shim(config)
        self._offline = offline_enabled(config)
        self._offline_zip = _offline_zip()
        try:
            self._mode = current_mode()
            self._device = str(get_device())
        except (ValueError, RuntimeError) as exc:
            raise PluginError(str(exc)) from exc
        self._timeout = _cell_timeout()
        return config

    def _separate_notebook_cache(self, config) -> None:
        """mkdocs-jupyter 的渲染缓存跟着本插件的缓存走。

        它的 ``cache_dir`` 是相对当前目录的路径，而且每次构建结束时删掉这次没用到的条目（文件不在就报错）。
        两个构建共用一个目录（例如 ``mkdocs serve`` 开着时跑测试）会互相删条目，甚至让构建崩溃；
        所以设了 ``DLBOOK_CACHE_DIR`` 时放到它旁边的 ``<缓存目录>-jupyter``，否则放在仓库根目录下。
        """
        jupyter = config.plugins.get("mkdocs-jupyter")
        if jupyter is None or not jupyter.config.get("cache", True):
            return
        if os.environ.get("DLBOOK_CACHE_DIR"):
            target = self._cache.with_name(self._cache.name + "-jupyter")
        else:
            target = self._root / jupyter.config["cache_dir"]
        jupyter.config["cache_dir"] = str(target)

    def on_files(self, files: Files, config) -> Files:
        try:
            build = GalleryBuild(
                self._gallery,
                self._out,
                self._cache,
                mode=self._mode,
                device=self._device,
                pattern=os.environ.get(PATTERN_ENV) or None,
                timeout=self._timeout,
                use_directory_urls=config.use_directory_urls,
                # 图库首页按书的先后排列：导航里的页面依次嵌入了哪些示例（没有 nav 时按文件名）
                order=_book_order(
                    _nav_pages(config.nav) or sorted(f.src_uri for f in files.documentation_pages()),
                    Path(config.docs_dir),
                ),
                log=log.info,
            )
        except ValueError as exc:
            raise PluginError(f"环境变量 {PATTERN_ENV}：{exc}") from exc
        try:
            build.run()
        except (ExampleError, ScriptError, OSError) as exc:  # OSError：缓存或输出目录写不进去之类，消息里有路径
            raise PluginError(f"图库构建失败：\n{exc}") from exc
        self.build = build
        log.info(
            "图库：%d 个示例，执行了 %d 个，其余来自缓存（%s 模式，%s）",
            len(build.examples),
            build.executed,
            self._mode,
            self._device,
        )
        if self._offline_zip is not None:
            files.append(File.generated(config, ZIP_NAME, abs_src_path=str(self._offline_zip)))
        for uri in build.written:
            if files.get_file_from_path(uri) is not None:
                raise PluginError(f"docs/ 里已经有 {uri}，与生成的图库文件冲突")
            files.append(
                File(uri, src_dir=str(self._out), dest_dir=config.site_dir,
                     use_directory_urls=config.use_directory_urls)
            )
        return files

    def on_page_markdown(self, markdown: str, *, page, config, files) -> str:
        return _outside_fences(markdown, lambda text: self._expand(text, page))

    def _expand(self, markdown: str, page) -> str:
        """展开一段（不在代码块里的）Markdown 里的宏；认不出的宏是错误，不留在页面上当正文。"""
        wrong = _misspelled_macro(markdown)
        if wrong is not None:
            raise PluginError(f"{page.file.src_uri}: 认不出这个宏：{wrong}\n{_MACROS_HELP}")
        page_dir = str(Path(page.file.src_uri).parent)
        markdown = _OFFLINE_COPY.sub(lambda _: self._download_note(page_dir), markdown)
        if self.build is None or not (_EXAMPLE.search(markdown) or _RESULTS.search(markdown)):
            return markdown
        build = self.build

        def table(match: re.Match[str]) -> str:
            chapter = match["chapter"]
            if not re.fullmatch(r"[\w-]+", chapter):
                raise PluginError(
                    f"{page.file.src_uri}: results_table 的参数是 gallery/ 下一章的目录名，不是路径：{chapter!r}"
                )
            if not (self._gallery / chapter).is_dir():
                raise PluginError(f"{page.file.src_uri}: results_table 找不到图库章节 gallery/{chapter}/")
            examples = [ex for ex in build.examples.values() if ex.chapter == chapter]
            try:
                rows = [(r, _rel(ex.page_uri, page_dir)) for ex in examples for r in results_in(ex.notebook)]
            except ValueError as exc:
                raise PluginError(f"{page.file.src_uri}: gallery/{chapter}/ 里有损坏的结果记录：{exc}") from exc
            skipped = [p for p in build.skipped if p.parent.name == chapter]
            note = (
                f'\n\n!!! note "本次构建跳过了该章的 {len(skipped)} 个示例（{PATTERN_ENV}），表格不完整"\n'
                if skipped
                else ""
            )
            if not rows:
                return f'!!! note "gallery/{chapter}/ 的示例还没有报告任何训练结果"\n' + note
            # 放进一个带类的 <div>，样式表只让这张表更紧凑（docs/assets/stylesheets/dlbook.css）
            return f'<div class="dlbook-results" markdown>\n\n{results_table(rows)}\n\n</div>' + note

        def embed(match: re.Match[str]) -> str:
            name = match["name"]
            example = self.build.examples.get(name)
            if example is None:
                known = ", ".join(sorted(self.build.examples)) or "（无）"
                if any(p.relative_to(self._gallery).as_posix() == name for p in self.build.skipped):
                    return f'!!! note "示例 {name} 在这次构建中被跳过（{PATTERN_ENV}）"\n'
                raise PluginError(f"{page.file.src_uri}: 找不到示例 {name!r}；已有的示例：{known}")
            return _embed(example, page_dir)

        return _RESULTS.sub(table, _EXAMPLE.sub(embed, markdown))

    @event_priority(-50)
    def on_page_content(self, html: str, *, page, config, files) -> str:
        if page.file.src_uri.startswith("gallery/") and page.file.src_uri.endswith(".ipynb"):
            html = strip_remote_scripts(html)
            html = fix_notebook_headings(html, page.toc)
            html = self._images(html, page.file.src_uri)
            html = exclude_notebook_chrome(html)
            html, styles = shared_stylesheets(html, lambda uri: get_relative_url(uri, page.url))
            self._stylesheets.update(styles)
        return join_cjk_lines(html)  # 每一页：折行的中文在 Chromium 里会多出空格

    def _download_note(self, page_dir: str) -> str:
        if self._offline_zip is None:
            return download_note(None, offline=self._offline)
        return download_note(_rel(ZIP_NAME, page_dir), self._offline_zip.stat().st_size)

    def _images(self, html: str, src_uri: str) -> str:
        """示例页面上每张图的替代文字换成图自己的描述，图链接到图片文件。"""
        if self.build is None:
            return html
        for example in self.build.examples.values():
            if example.page_uri == src_uri:
                images = self.build.page_images(example)
                return link_images(html, {src: image.alt for src, image in images.items()})
        return html

    @event_priority(-50)  # 在 mkdocs-jupyter 的 on_post_page（默认优先级 0）放进 MathJax 加载器之后
    def on_post_page(self, output: str, *, page, config) -> str:
        return strip_mathjax_loader(output)

    # 在搜索插件写出索引（优先级 0）之后、离线插件把索引抄进 search_index.js（-100）之前
    @event_priority(-50)
    def on_post_build(self, *, config) -> None:
        """写出示例页面共用的样式表（:mod:`dlbook.gallery.styles`），把搜索索引改写成 UTF-8 原文。"""
        for uri, css in self._stylesheets.items():
            path = Path(config.site_dir) / uri
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(css, encoding="utf-8")
        index = Path(config.site_dir) / "search" / "search_index.json"
        if index.is_file():
            before, after = unescape_search_index(index)
            log.info("搜索索引：%.1f MB → %.1f MB（汉字不再转义）", before / 1e6, after / 1e6)


def _cell_timeout() -> int:
    """``DLBOOK_CELL_TIMEOUT``：一个代码单元格最多运行的秒数，默认 :data:`~dlbook.gallery.build.CELL_TIMEOUT`。"""
    value = os.environ.get(TIMEOUT_ENV, "").strip()
    if not value:
        return CELL_TIMEOUT
    if not value.isdigit() or int(value) < 1:
        raise PluginError(f"{TIMEOUT_ENV}={value!r}：应是一个正整数（秒）")
    return int(value)


def _offline_zip() -> Path | None:
    """``DLBOOK_OFFLINE_ZIP`` 指向的离线副本；没设时为 ``None``，指错了就报错。"""
    value = os.environ.get(ZIP_ENV)
    if not value:
        return None
    path = Path(value).resolve()
    if not path.is_file():
        raise PluginError(f"{ZIP_ENV}={value}：找不到这个文件（先运行 python -m dlbook.gallery.offline -o {value}）")
    if not zipfile.is_zipfile(path):
        raise PluginError(f"{ZIP_ENV}={value}：不是 zip 文件")
    return path


def _rel(uri: str, page_dir: str) -> str:
    return Path(os.path.relpath(uri, page_dir or ".")).as_posix()


def _embed(example: Example, page_dir: str) -> str:
    def rel(uri: str) -> str:
        return _rel(uri, page_dir)

    header = (
        f'<p class="dlbook-run-info" markdown="span">{example.run_info()} · '
        f"[单独页面]({rel(example.page_uri)}) · 下载 "
        f"[{example.stem}.py]({rel(example.script_uri)}) · "
        f"[{example.stem}.ipynb]({rel(example.download_uri)})</p>"
    )
    return notebook_to_markdown(
        example.notebook,
        images=example.images,
        image_src=lambda image: rel(example.image_uri(image)),
        header=header,
    )
