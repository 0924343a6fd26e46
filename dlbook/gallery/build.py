"""构建整个图库：找到脚本，执行（或取缓存），写出页面要用的全部文件。

输出目录（默认 ``.cache/dlbook/site``）的布局，``<章>/<名>`` 例如 ``cnn_basics/plot_lenet``::

    gallery/index.md                          图库索引（每个示例一张缩略图卡片）
    gallery/<章>/<名>.ipynb                   单独的示例页面（mkdocs-jupyter 渲染）
    gallery/<章>/<名>.py                      下载：脚本
    gallery/_downloads/<章>/<名>.ipynb        下载：执行过的笔记本
    gallery/<章>/images/<名>_001.png          输出的图
    gallery/<章>/images/thumb/<名>.png        缩略图

文件只在内容变化时才重写，``mkdocs serve`` 因此不会反复重建。
"""

from __future__ import annotations

import copy
import html
import io
import os
import re
import time
import unicodedata
from dataclasses import dataclass, field
from collections.abc import Callable, Sequence
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from dlbook.gallery.cache import CacheEntry, ExampleCache, atomic_write, cache_key, environment
from dlbook.gallery.execute import ExampleError, code_cell_number, execute_notebook
from dlbook.gallery.notebook import ScriptError, script_to_notebook
from dlbook.gallery.render import Image, coalesce_streams, extract_images
from dlbook.text import text_width

__all__ = ["Example", "GalleryBuild", "build_gallery", "find_scripts"]

PATTERN_ENV = "DLBOOK_GALLERY_PATTERN"
CELL_TIMEOUT = 1800
"""一个代码单元格最多运行多少秒（插件从环境变量 ``DLBOOK_CELL_TIMEOUT`` 读）。"""
THUMB_SIZE = (320, 224)


def find_scripts(gallery_dir: Path) -> list[Path]:
    """``gallery/<章>/plot_*.py``，按路径排序。"""
    return sorted(Path(gallery_dir).glob("*/plot_*.py"))


@dataclass
class Example:
    """一个示例的构建结果。"""

    script: Path
    key: str
    chapter: str
    stem: str
    title: str
    notebook: NotebookNode
    mode: str
    device: str
    seconds: float
    executed_at: str
    cached: bool
    images: list[Image] = field(default_factory=list)

    @property
    def name(self) -> str:
        """``<章>/<名>.py``，章节页面用它引用示例。"""
        return f"{self.chapter}/{self.stem}.py"

    # 输出目录里的相对路径（也是 MkDocs 的 src_uri）
    @property
    def page_uri(self) -> str:
        return f"gallery/{self.chapter}/{self.stem}.ipynb"

    @property
    def script_uri(self) -> str:
        return f"gallery/{self.chapter}/{self.stem}.py"

    @property
    def download_uri(self) -> str:
        return f"gallery/_downloads/{self.chapter}/{self.stem}.ipynb"

    def image_uri(self, image: Image) -> str:
        return f"gallery/{self.chapter}/images/{image.name}"

    @property
    def thumb_uri(self) -> str:
        return f"gallery/{self.chapter}/images/thumb/{self.stem}.png"

    def run_info(self) -> str:
        """一行中文运行信息，例如 ``quick 模式 · cpu · 运行 3.2 秒``。"""
        return f"{self.mode} 模式 · {self.device} · 运行 {self.seconds:.1f} 秒 · {self.executed_at[:10]}"


def _relative(target: str, start_dir: str) -> str:
    return Path(os.path.relpath(target, start_dir or ".")).as_posix()


class GalleryBuild:
    """一次图库构建的设置与结果。

    Args:
        gallery_dir: 示例脚本的根目录（下面每个子目录是一章）。
        out_dir: 生成文件的目录（不要放在 ``docs/`` 里）。
        cache_dir: 执行缓存目录。
        mode: ``quick`` 或 ``full``。
        device: 执行示例的设备（``cpu``、``cuda`` ……），也写进缓存键。
        pattern: 只执行路径匹配这个正则的脚本；其余的只用缓存（没有缓存就跳过）。
        timeout: 一个代码单元格最多运行多少秒，超过就是这个示例出错。
        use_directory_urls: 与 MkDocs 的同名设置一致，用于计算页面里的下载链接。
        order: 示例在书里出现的先后（``"<章>/plot_<名>.py"``）。图库首页的章节和卡片按它排列，
            章节排在它最先出现的示例的位置；不在其中的示例排在最后，按文件名排列。
        log: 打印进度的函数。
    """

    def __init__(
        self,
        gallery_dir: str | Path,
        out_dir: str | Path,
        cache_dir: str | Path,
        *,
        mode: str,
        device: str,
        pattern: str | None = None,
        timeout: int = CELL_TIMEOUT,
        use_directory_urls: bool = True,
        order: Sequence[str] = (),
        log: Callable[[str], None] = print,
    ) -> None:
        if timeout < 1:
            raise ValueError(f"timeout 至少为 1 秒，而不是 {timeout}")
        self.timeout = timeout
        self.gallery_dir = Path(gallery_dir)
        self.out_dir = Path(out_dir)
        self.cache = ExampleCache(cache_dir)
        self.mode = mode
        self.device = device
        try:
            self.pattern = re.compile(pattern) if pattern else None
        except re.error as exc:
            raise ValueError(f"pattern={pattern!r} 不是有效的正则表达式（{exc}）") from None
        self.use_directory_urls = use_directory_urls
        self.order = list(order)
        self.log = log
        self.examples: dict[str, Example] = {}
        self.skipped: list[Path] = []
        self.executed = 0
        self._written: set[Path] = set()

    # -- 执行 --------------------------------------------------------------
    def run(self) -> list[Example]:
        """执行（或从缓存取出）全部示例并写出文件，返回示例列表。"""
        if not self.gallery_dir.is_dir():
            raise FileNotFoundError(f"图库目录 {self.gallery_dir} 不存在")
        scripts = find_scripts(self.gallery_dir)
        if not scripts:
            # 多半是目录指错了；照常构建会把上一次生成的示例页面全部当作过时的删掉
            raise FileNotFoundError(f"图库目录 {self.gallery_dir} 里没有示例：找不到 <章>/plot_*.py")
        env = environment()
        self.executed = 0
        rels = [p.relative_to(self.gallery_dir).as_posix() for p in scripts]
        if self.pattern is not None and not any(self.pattern.search(rel) for rel in rels):
            self.log(f"注意：{PATTERN_ENV}={self.pattern.pattern!r} 不匹配任何示例，只用缓存（多半是写错了）")
        for script in scripts:
            example = self._example(script, env)
            if example is None:
                self.skipped.append(script)
                continue
            self.examples[example.name] = example
            self._write_example(example)
        self._write_index()
        self._remove_stale()
        current = {name: ex.key for name, ex in self.examples.items()}  # 名字就是缓存条目里的 script
        removed, freed = self.cache.prune(current, mode=self.mode, device=self.device)
        if removed:
            self.log(f"执行缓存：删掉 {removed} 个被取代的旧条目（{freed / 1e6:.1f} MB）")
        return list(self.examples.values())

    def _example(self, script: Path, env: dict[str, str]) -> Example | None:
        key = cache_key(script, mode=self.mode, device=self.device, env=env)
        rel = script.relative_to(self.gallery_dir).as_posix()
        hit = self.cache.get(key)
        if hit is not None:
            nb, entry = hit
            try:
                _check_images(script, nb)
                return self._make(script, nb, entry, cached=True)
            except (ExampleError, ValueError, TypeError, KeyError, AttributeError) as exc:  # 例如图片坏了
                self.log(f"{rel} 的缓存条目 {key[:12]}… 用不了（{type(exc).__name__}: {exc}），重新执行")
        if self.pattern is not None and not self.pattern.search(rel):
            self.log(f"跳过 {rel}（不匹配 {PATTERN_ENV}，也没有缓存）")
            return None
        self.log(f"执行 {rel}（{self.mode} 模式，{self.device}）……")
        nb = script_to_notebook(script)
        execution = execute_notebook(
            nb,
            script=script,
            env={"DLBOOK_MODE": self.mode, "DLBOOK_DEVICE": self.device},
            timeout=self.timeout,
        )
        if execution.seconds <= 0:
            raise ExampleError(script, None, "", "示例报告的运行时间为 0 秒：它真的执行了吗？")
        _check_images(script, execution.notebook)  # 在写进缓存之前：坏的输出不能每次构建都从缓存里拿出来
        entry = CacheEntry(
            key=key,
            script=rel,
            mode=self.mode,
            device=self.device,
            seconds=round(execution.seconds, 6),  # 不到 0.5 毫秒的示例若舍入成 0，缓存就会把它当作没有执行
            executed_at=time.strftime("%Y-%m-%d %H:%M:%S"),
            env=env,
        )
        self.cache.put(execution.notebook, entry)
        self.executed += 1
        self.log(f"完成 {rel}：{execution.seconds:.1f} 秒")
        return self._make(script, execution.notebook, entry, cached=False)

    def _make(self, script: Path, nb: NotebookNode, entry: CacheEntry, *, cached: bool) -> Example:
        return Example(
            script=script,
            key=entry.key,
            chapter=script.parent.name,
            stem=script.stem,
            title=nb.metadata.get("dlbook", {}).get("title", script.stem),
            notebook=coalesce_streams(nb),
            mode=entry.mode,
            device=entry.device,
            seconds=entry.seconds,
            executed_at=entry.executed_at,
            cached=cached,
            images=extract_images(nb, stem=script.stem),
        )

    def _thumbnail(self, ex: Example) -> bytes:
        """缩略图和执行结果一起缓存，免得每次重建都重新缩放图片；缓存里的坏了就重做。"""
        path = self.cache.root / f"{ex.key}.thumb.png"
        if path.is_file():
            data = path.read_bytes()
            if _decodes(data):
                return data
        data = _thumbnail(ex)
        atomic_write(path, data)
        return data

    # -- 写文件 ------------------------------------------------------------
    def _write(self, uri: str, data: bytes) -> None:
        path = self.out_dir / uri
        self._written.add(path)
        if path.is_file() and path.read_bytes() == data:
            return
        atomic_write(path, data)

    def _page_dir(self, page_uri: str) -> str:
        """页面在站点里的目录（相对站点根），用来写页面内的相对链接。"""
        stem = page_uri.rsplit(".", 1)[0]
        return stem if self.use_directory_urls else str(Path(stem).parent)

    def page_images(self, ex: Example) -> dict[str, Image]:
        """示例页面上的 PNG/JPEG 图：页面里的 ``src``（相对页面）→ 图。"""
        page_dir = self._page_dir(ex.page_uri)
        return {
            _relative(ex.image_uri(image), page_dir): image
            for image in ex.images
            if image.mime in ("image/png", "image/jpeg")
        }

    def _write_example(self, ex: Example) -> None:
        self._write(ex.script_uri, ex.script.read_bytes())
        self._write(ex.download_uri, nbformat.writes(ex.notebook).encode("utf-8"))
        for image in ex.images:
            self._write(ex.image_uri(image), image.data)
        self._write(ex.thumb_uri, self._thumbnail(ex))

        page_dir = self._page_dir(ex.page_uri)
        py = _relative(ex.script_uri, page_dir)
        ipynb = _relative(ex.download_uri, page_dir)
        info = (
            '<p class="dlbook-run-info">'
            f"{html.escape(ex.run_info())} · 下载 "
            f'<a href="{py}" download>{ex.stem}.py</a> · '
            f'<a href="{ipynb}" download>{ex.stem}.ipynb</a></p>'
        )
        page = copy.deepcopy(ex.notebook)
        for src, image in self.page_images(ex).items():
            # 页面引用已经写出的图片文件，不再内嵌 base64（nbconvert 的模板认 metadata.filenames）
            output = page.cells[image.cell].outputs[image.output]
            output.setdefault("metadata", {}).setdefault("filenames", {})[image.mime] = src
        info_cell = nbformat.v4.new_markdown_cell(info)
        info_cell.id = "dlbook-run-info"
        page.cells.insert(1, info_cell)
        self._write(ex.page_uri, nbformat.writes(page).encode("utf-8"))

    def _write_index(self) -> None:
        rank: dict[str, int] = {}
        for i, name in enumerate(self.order):
            rank.setdefault(name, i)  # 同一个示例嵌在几页里时，算它第一次出现的位置

        def place(ex: Example) -> tuple[int, str]:
            return rank.get(ex.name, len(self.order)), ex.name

        chapters: dict[str, list[Example]] = {}
        for ex in sorted(self.examples.values(), key=place):
            chapters.setdefault(ex.chapter, []).append(ex)  # 字典保持插入的先后：章节按它最先出现的示例排
        lines = [
            "# 示例图库",
            "",
            "书中每个示例都是一个可以单独运行的脚本：`python gallery/<章>/plot_<名>.py`。",
            "下面每张卡片是一次真实执行的结果，点进去可以看到完整的代码与输出，并下载 `.py` 或执行过的 `.ipynb`。",
            "",
        ]
        for chapter in chapters:
            readme = self.gallery_dir / chapter / "README.md"
            if readme.is_file():
                try:
                    text = readme.read_text(encoding="utf-8").strip()
                except UnicodeDecodeError as exc:
                    raise ScriptError(
                        f"{readme}: 章节说明不是 UTF-8 编码（第 {exc.start} 个字节是 0x{exc.object[exc.start]:02x}）"
                    ) from None
                lines += [re.sub(r"^#(?=\s)", "##", text, flags=re.MULTILINE), ""]
            else:
                lines += [f"## {chapter}", ""]
            lines += ['<div class="grid cards" markdown>', ""]
            for ex in chapters[chapter]:
                page = _relative(ex.page_uri, "gallery")
                thumb = _relative(ex.thumb_uri, "gallery")
                lines += [
                    f"-   [![{ex.title}]({thumb})]({page})",
                    "",
                    f"    **[{ex.title}]({page})**",
                    "",
                    f"    {_card_info(ex)}",
                    "",
                ]
            lines += ["</div>", ""]
        if self.skipped:
            lines += ["!!! note \"本次构建跳过的示例\"", ""]
            lines += [f"    - `{p.relative_to(self.gallery_dir).as_posix()}`" for p in self.skipped]
            lines += [""]
        self._write("gallery/index.md", "\n".join(lines).encode("utf-8"))

    def _remove_stale(self) -> None:
        """删掉以前的构建写过、这次没有再写的文件。只动 ``gallery/`` 下面：输出目录里别的东西不是这里写的。"""
        generated = self.out_dir / "gallery"
        if not generated.is_dir():
            return
        for path in generated.rglob("*"):
            if path.is_file() and path not in self._written:
                path.unlink()

    @property
    def written(self) -> list[str]:
        """本次构建写出（或确认未变）的全部文件，相对输出目录。"""
        return sorted(p.relative_to(self.out_dir).as_posix() for p in self._written)


def _decodes(data: bytes) -> bool:
    """``data`` 是 PIL 读得出的完整图片吗（PNG 或 JPEG）。"""
    from PIL import Image as PILImage

    try:
        with PILImage.open(io.BytesIO(data)) as picture:
            picture.verify()  # 核对文件结构与校验和，不解出像素：一张图约 0.02 毫秒，缓存命中时也查得起
    except Exception:  # UnidentifiedImageError（OSError）、截断（OSError）、坏块（SyntaxError）……
        return False
    return True


def _check_images(script: Path, nb: NotebookNode) -> None:
    """示例输出的每张 PNG/JPEG 都要能解码：页面、缩略图都要用它。坏了就报出是哪个单元格的哪张图。"""
    for image in extract_images(nb, stem=script.stem):
        if image.mime in ("image/png", "image/jpeg") and not _decodes(image.data):
            raise ExampleError(
                script, code_cell_number(nb, image.cell), nb.cells[image.cell].source,
                f"输出的图片 {image.name}（{image.mime}，{len(image.data)} 字节）无法解码：不是完整的图片文件",
            )  # fmt: skip


def _card_info(ex: Example) -> str:
    """卡片上的运行信息：日期不在连字符处折行（窄卡片上曾折成 “2026-” 和 “12-01”）。"""
    info, _, date = ex.run_info().rpartition(" · ")
    return f'{html.escape(info)} · <span class="dlbook-nowrap">{html.escape(date)}</span>'


def _title_lines(title: str, width: int = 24) -> list[str]:
    """把标题折成每行至多 ``width`` 个单位（汉字算 2，其他算 1）；标点不放在行首。

    >>> _title_lines("图中断：找到它、看懂它、去掉它")
    ['图中断：找到它、看懂它、', '去掉它']
    >>> _title_lines("LeNet")
    ['LeNet']
    """
    lines, line, used = [], "", 0
    for ch in title:
        w = text_width(ch)
        if used + w > width and line and not unicodedata.category(ch).startswith("P"):
            lines.append(line.rstrip())
            line, used = "", 0
        line += ch
        used += w
    if line.strip():
        lines.append(line.strip())
    return lines


def _thumbnail(ex: Example) -> bytes:
    """最后一张输出图缩放成卡片大小；没有图的示例画一张写着标题的卡片。"""
    from PIL import Image as PILImage

    canvas = PILImage.new("RGB", THUMB_SIZE, "white")
    pngs = [im for im in ex.images if im.name.endswith((".png", ".jpg"))]
    if pngs:
        picture = PILImage.open(io.BytesIO(pngs[-1].data)).convert("RGB")
        picture.thumbnail(THUMB_SIZE)
        canvas.paste(
            picture,
            ((THUMB_SIZE[0] - picture.width) // 2, (THUMB_SIZE[1] - picture.height) // 2),
        )
    else:
        canvas = _title_card(ex.title)
    buf = io.BytesIO()
    canvas.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _title_card(title: str):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from PIL import Image as PILImage

    import dlbook.plot  # noqa: F401  配置中文字体

    w, h = THUMB_SIZE
    fig = plt.figure(figsize=(w / 100, h / 100), dpi=100)
    fig.patch.set_facecolor("#eef2f7")
    # matplotlib 的 wrap=True 只在空格处折行，中文标题会伸出卡片：自己折行
    fig.text(0.5, 0.5, "\n".join(_title_lines(title)), ha="center", va="center", fontsize=15, linespacing=1.4)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    buf.seek(0)
    return PILImage.open(buf).convert("RGB")


def build_gallery(
    gallery_dir: str | Path,
    out_dir: str | Path,
    cache_dir: str | Path,
    *,
    mode: str,
    device: str,
    pattern: str | None = None,
    timeout: int = CELL_TIMEOUT,
    use_directory_urls: bool = True,
    order: Sequence[str] = (),
    log: Callable[[str], None] = print,
) -> GalleryBuild:
    """执行并写出整个图库，返回 :class:`GalleryBuild`（其 ``examples`` 按名字索引）。"""
    build = GalleryBuild(
        gallery_dir,
        out_dir,
        cache_dir,
        mode=mode,
        device=device,
        pattern=pattern,
        timeout=timeout,
        use_directory_urls=use_directory_urls,
        order=order,
        log=log,
    )
    build.run()
    return build
