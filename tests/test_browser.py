"""在真实的 Chromium 里打开构建好的网站（Playwright 驱动 Debian 的 /usr/bin/chromium）。"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.test_site import offline_site, site  # noqa: F401  会话级的整站构建与离线副本

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = os.environ.get("DLBOOK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server(site):  # noqa: F811
    handler = functools.partial(_Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"找不到 Chromium（{CHROMIUM}）：运行 bash scripts/setup.sh --test 安装 Debian 的 chromium")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _recording_page(context):
    """``context`` 里的一个新页面，``errors`` 记下控制台错误和页面异常，``outside`` 留给调用者记站外请求。"""
    pg = context.new_page()
    pg.errors = []
    pg.outside = []
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    return pg


@pytest.fixture
def page(browser, server):
    """一个新页面；记录控制台错误、页面异常和所有发往站外的请求。"""
    context = browser.new_context()
    pg = _recording_page(context)
    host = urlparse(server).netloc

    def route(r):
        if urlparse(r.request.url).netloc not in (host, ""):
            pg.outside.append(r.request.url)
            return r.abort()
        return r.continue_()

    pg.route("**/*", route)
    yield pg
    context.close()


def _assert_figures_load(pg) -> None:
    """正文里有图，而且每张图（滚动到它、等它加载完）都真的解码出了像素。"""
    figures = pg.locator('article img[src*="/images/"]')
    assert figures.count() > 0
    for i in range(figures.count()):
        figures.nth(i).scroll_into_view_if_needed()
        pg.wait_for_function("(img) => img.complete", arg=figures.nth(i).element_handle())
        assert figures.nth(i).evaluate("img => img.naturalWidth") > 0


def _wait_for_math(pg) -> int:
    pg.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    pg.evaluate("() => MathJax.startup.promise")
    return pg.locator("mjx-container").count()


def test_chapter_page(page, server):
    page.goto(f"{server}/cnn-basics/lenet/")
    assert page.locator("h1").first.inner_text().strip()
    # 高亮的代码、文本输出、能加载的图
    assert page.locator(".language-python pre code").count() > 0
    outputs = page.locator(".language-text pre code")
    assert outputs.count() > 0 and outputs.first.inner_text().strip()
    _assert_figures_load(page)
    assert _wait_for_math(page) > 0, "公式应当被 MathJax 渲染"
    assert "\\(" not in page.locator("article").inner_text(), "有没渲染的公式"
    assert page.locator("mjx-merror").count() == 0, "公式里有 TeX 错误"
    assert page.errors == [], page.errors
    assert page.outside == [], page.outside


@pytest.mark.parametrize("path", ["cnn-basics/lenet/", "gallery/cnn_basics/plot_lenet/"])
def test_wide_figures_fill_the_column_and_link_to_the_full_size_file(page, server, path):
    from dlbook.gallery.figures import COLUMN_PX

    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{server}/{path}")
    figures = page.locator('article img[src*="/images/"]')
    shrunk = []
    for i in range(figures.count()):
        figures.nth(i).scroll_into_view_if_needed()
        page.wait_for_function("(img) => img.complete", arg=figures.nth(i).element_handle())
        natural, shown = figures.nth(i).evaluate("img => [img.naturalWidth, img.getBoundingClientRect().width]")
        if natural > shown + 1:
            shrunk.append(shown)
        # 每张图都包在指向它自己文件的链接里：点开看原大小
        assert figures.nth(i).evaluate("img => img.closest('a.dlbook-figure-link').href === img.src")
    # 图里文字大小的检查（test_site.py）按这个正文宽度换算；正文窄了，那里的数字就高估了
    assert shrunk, "这一页应当有比正文宽、被缩小的图"
    assert min(shrunk) >= COLUMN_PX - 1, shrunk
    with page.expect_navigation():
        figures.first.click()
    assert page.url.endswith(".png")


_PUNCTUATION_AFTER_WRAPPED_MATH = r"""() => {
  // 行内公式后面紧跟的全角标点被折到了下一行的开头（标点的中线低于公式的中线）
  const out = [];
  for (const math of document.querySelectorAll('article mjx-container:not([display="true"])')) {
    let box = math;
    while (box.parentElement && box.parentElement.classList.contains("arithmatex") && !box.nextSibling) {
      box = box.parentElement;
    }
    const next = box.nextSibling;
    if (!next || next.nodeType !== Node.TEXT_NODE || !/^[，。、；：）]/.test(next.data)) continue;
    const range = document.createRange();
    range.setStart(next, 0);
    range.setEnd(next, 1);
    const a = math.getBoundingClientRect(), b = range.getBoundingClientRect();
    if (b.top > a.top + a.height / 2) out.push(next.data.slice(0, 10));
  }
  return out;
}"""


@pytest.mark.parametrize(
    "path", ["gan/transposed-conv/", "optimization/gradient-descent/", "gallery/gan/plot_transposed_conv/"]
)
def test_punctuation_does_not_start_a_line_after_inline_math(page, server, path):
    # 手机宽度下这几页原有 11 处“，”“。”被折到行首：公式是一个整体，浏览器在它和标点之间折行
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{server}/{path}")
    assert _wait_for_math(page) > 0
    assert page.locator("article .dlbook-nowrap mjx-container").count() > 0
    assert page.evaluate(_PUNCTUATION_AFTER_WRAPPED_MATH) == []
    assert page.errors == [], page.errors


_MONO_WIDTHS = r"""(selector) => {
  const block = [...document.querySelectorAll(selector)].find(c => c.textContent.includes("输出形状"));
  const probe = document.createElement("span");
  block.appendChild(probe);
  const width = text => { probe.textContent = text; return probe.getBoundingClientRect().width / text.length; };
  const widths = [width("features.0"), width("层类型输出形状参数量")];
  probe.remove();
  return widths;
}"""


@pytest.mark.parametrize(
    "path, selector",
    [("modern-cnn/alexnet/", ".language-text code"), ("gallery/modern_cnn/plot_alexnet/", ".jp-RenderedText pre")],
)
def test_text_outputs_give_chinese_two_columns(page, server, path, selector):
    # 示例按终端的宽度（汉字两格）对齐打印表格；页面上汉字原来只有 1.66 个拉丁字符宽，表头对不上下面的数据
    page.goto(f"{server}/{path}")
    loaded_families = "() => [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)"
    # document.fonts.ready 在字体还没开始下载时就已经兑现：等到两种字体真的加载完（没加载就超时失败）
    page.wait_for_function(
        f"() => {{ const loaded = ({loaded_families})().map(f => f.replaceAll('\"', ''));"
        " return loaded.includes('dlbook-mono') && loaded.includes('dlbook-cjk-mono'); }",
        timeout=30000,
    )
    latin, cjk = page.evaluate(_MONO_WIDTHS, selector)
    assert cjk == pytest.approx(2 * latin, rel=0.005), (latin, cjk)
    loaded = page.evaluate(loaded_families)
    assert {"dlbook-mono", "dlbook-cjk-mono"} <= {f.strip('"') for f in loaded}, loaded
    assert page.errors == [] and page.outside == []


def test_math_on_formula_page(page, server):
    page.goto(f"{server}/cnn-basics/padding-and-stride/")
    assert _wait_for_math(page) > 0
    assert page.locator("mjx-merror").count() == 0
    assert page.errors == [] and page.outside == []


def _page_url(md: Path, docs: Path) -> str:
    rel = md.relative_to(docs).with_suffix("").as_posix()
    if rel == "index":
        return ""
    return (rel[: -len("index")] if rel.endswith("/index") else rel + "/")


_DOCS = Path(__file__).parents[1] / "docs"
CHAPTER_PAGES = sorted(_page_url(md, _DOCS) for md in _DOCS.rglob("*.md") if "assets" not in md.parts)


@pytest.mark.parametrize("path", CHAPTER_PAGES)
def test_every_chapter_page_renders(page, server, path):
    """每个章节页面：公式全部排版（包括 \\boldsymbol 这类要按需加载扩展的宏），没有 TeX 错误、
    控制台错误和站外请求；在 360 像素宽的手机上整页不能横向滚动。"""
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(f"{server}/{path}")
    assert page.locator("h1").count() >= 1
    _wait_for_math(page)
    # 只看正文：代码里可以有 \\( 或 \\[（例如正则表达式）
    text = page.evaluate(
        """() => { const a = document.querySelector("article").cloneNode(true);
                   a.querySelectorAll("pre, code").forEach(e => e.remove());
                   return a.innerText; }"""
    )
    assert "\\(" not in text and "\\[" not in text, "有没渲染的公式"
    assert page.locator("mjx-merror").count() == 0, "公式里有 TeX 错误"
    assert page.errors == [], page.errors
    assert page.outside == [], page.outside
    # 行内公式不会折行：太长的一个（连同紧跟它、不许分开的标点）会把整页撑宽，手机上整页都能左右拖动
    too_wide, culprits = page.evaluate(_PAGE_OVERFLOW)
    assert too_wide <= 0, f"页面比屏幕宽 {too_wide} 像素，伸出去的行内公式：{culprits}"


_PAGE_OVERFLOW = r"""() => {
  const width = document.documentElement.clientWidth;
  const culprits = [...document.querySelectorAll("article mjx-container:not([display='true'])")]
    .filter(m => m.getBoundingClientRect().right > width + 0.5)
    .filter(m => !m.closest("table, pre, .jp-OutputArea"))  // 这些放在自己会滚动的框里
    .map(m => m.textContent.slice(0, 40));
  return [document.documentElement.scrollWidth - width, culprits];
}"""


_SCROLLING_CODE = r"""() => {
  // 代码框（不是输出）里比框宽、要横向滚动才看得全的行：返回每个框里最长的一行
  const boxes = document.querySelectorAll(
    "article .language-python pre > code, article .jp-InputArea pre");
  return [...boxes].filter(c => c.scrollWidth > c.clientWidth + 1).map(
    c => c.textContent.split("\n").reduce((a, b) => (a.length >= b.length ? a : b)));
}"""


_COLUMNS_THAT_FIT = r"""() => {
  // 代码框里放得下多少个等宽字符
  const code = document.querySelector("article .language-python pre > code, article .jp-InputArea pre");
  const style = getComputedStyle(code);
  const probe = document.createElement("span");
  probe.textContent = "x".repeat(100);
  code.appendChild(probe);
  const char = probe.getBoundingClientRect().width / 100;
  probe.remove();
  return (code.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)) / char;
}"""


@pytest.mark.parametrize("width", [768, 960, 1024, 1280, 1920])
@pytest.mark.parametrize("path", ["cnn-basics/lenet/", "gallery/cnn_basics/plot_lenet/"])
def test_code_boxes_hold_code_columns_characters(page, server, path, width):
    # 平板和桌面上代码框都放得下 CODE_COLUMNS 个字符；正文最窄的是 960 px 宽的窗口（右边的目录刚出现）
    from dlbook.gallery.notebook import CODE_COLUMNS

    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{server}/{path}")
    page.evaluate("() => document.fonts.ready")
    assert page.evaluate(_COLUMNS_THAT_FIT) >= CODE_COLUMNS


def test_code_fits_the_column_on_chapter_and_example_pages(page, server, site):  # noqa: F811
    # 示例的代码行不超过 CODE_COLUMNS 个字符（test_gallery_sources.py 检查源码）；这里检查页面上真的放得下：
    # 正文最窄的桌面宽度（960 px 的窗口）下，章节页和示例页（去掉了 In [n]: 提示列）的代码框都不用横向滚动
    examples = [p.parent.relative_to(site).as_posix() + "/" for p in sorted(site.glob("gallery/*/plot_*/index.html"))]
    pages = [p for p in CHAPTER_PAGES if p != "api/"] + examples
    assert len(examples) >= 40
    page.set_viewport_size({"width": 960, "height": 800})
    scrolling = {}
    for path in pages:
        page.goto(f"{server}/{path}")
        page.evaluate("() => document.fonts.ready")
        if found := page.evaluate(_SCROLLING_CODE):
            scrolling[path] = found
    assert scrolling == {}
    # 代码框、文本输出和图都从正文的左边开始：提示列真的不见了
    page.goto(f"{server}/gallery/cnn_basics/plot_lenet/")
    lefts = page.evaluate(
        """() => [".md-content__inner", ".jp-InputArea pre", ".jp-OutputArea-output pre", ".jp-OutputArea img"].map(
               s => document.querySelector(s).getBoundingClientRect().left)"""
    )
    assert max(lefts) - min(lefts) < 8, lefts


def test_text_outputs_scroll_instead_of_wrapping_on_a_phone(page, server):
    # 笔记本的样式表让输出在框边任意折行：手机上 LeNet 的形状表每一行折成两半，“(1, 6, 28, 28)” 断在数字中间
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{server}/gallery/cnn_basics/plot_lenet/")
    page.evaluate("() => document.fonts.ready")
    lines, rows, scrolls = page.evaluate(
        """() => {
             const pre = [...document.querySelectorAll(".jp-OutputArea-output pre")]
               .find(p => p.textContent.includes("输出形状"));
             const lines = pre.textContent.replace(/\\n$/, "").split("\\n").length;
             const rows = pre.getBoundingClientRect().height / parseFloat(getComputedStyle(pre).lineHeight);
             return [lines, rows, pre.scrollWidth > pre.clientWidth];
           }"""
    )
    assert rows == pytest.approx(lines, abs=0.5) and scrolls, (lines, rows, scrolls)


def test_example_page_downloads_and_anchors(page, server):
    page.goto(f"{server}/gallery/cnn_basics/plot_lenet/")
    assert page.locator(".jp-Notebook").count() == 1
    figures = page.locator(".jp-OutputArea-output img")
    assert figures.count() > 0
    for i in range(figures.count()):  # 图是单独的文件（不是内嵌的 base64），都能加载，替代文字是中文的描述
        figures.nth(i).scroll_into_view_if_needed()
        page.wait_for_function("(img) => img.complete", arg=figures.nth(i).element_handle())
        assert figures.nth(i).evaluate("img => img.naturalWidth") > 0
        assert "/images/" in figures.nth(i).get_attribute("src")
        assert "No description" not in figures.nth(i).get_attribute("alt")
        assert figures.nth(i).evaluate("img => img.closest('a.dlbook-figure-link').href === img.src")
    links = page.locator(".dlbook-run-info a[download]")
    assert links.count() == 2
    for i in range(links.count()):
        href = links.nth(i).evaluate("a => a.href")
        response = page.request.get(href)
        assert response.ok, href
    # 目录里的每个链接都指向页面里存在的标题
    anchors = page.locator('.md-nav--secondary a.md-nav__link[href^="#"]')
    assert anchors.count() > 0
    for i in range(anchors.count()):
        target = anchors.nth(i).get_attribute("href")[1:]
        assert target and page.locator(f'[id="{target}"]').count() == 1, target
    # 笔记本 Markdown 单元格里的 $...$ 也要渲染，不能原样留在页面上
    assert _wait_for_math(page) > 0
    prose = page.locator(".jp-RenderedMarkdown").all_inner_texts()
    assert not [t for t in prose if "$" in t], "有没渲染的公式"
    assert page.errors == [] and page.outside == []


def _inline_matrix_height(page, url: str) -> float:
    page.goto(url)
    _wait_for_math(page)
    return page.evaluate(
        """() => [...document.querySelectorAll("p")].find(p => p.textContent.includes("卷积核取"))
                   .querySelector("mjx-container mjx-math").getBoundingClientRect().height"""
    )


def test_notebook_math_is_laid_out_like_chapter_math(page, server):
    # 笔记本页面的样式表曾让行内矩阵的括号比矩阵高出一截（142 像素对 77 像素）：与章节页面里同一个公式比较
    chapter = _inline_matrix_height(page, f"{server}/gan/transposed-conv/")
    notebook = _inline_matrix_height(page, f"{server}/gallery/gan/plot_transposed_conv/")
    assert chapter > 0 and abs(notebook / chapter - 1) < 0.05, (notebook, chapter)


def test_gallery_index_thumbnails(page, server):
    page.goto(f"{server}/gallery/")
    thumbs = page.locator(".grid.cards img")
    assert thumbs.count() >= 6
    for i in range(thumbs.count()):
        thumbs.nth(i).scroll_into_view_if_needed()
        page.wait_for_function("(img) => img.complete", arg=thumbs.nth(i).element_handle())
        assert thumbs.nth(i).evaluate("img => img.naturalWidth") > 0
    assert page.errors == [] and page.outside == []


def _release_a_key(box) -> None:
    """像读者打字一样松开一个键。

    Material 在 ``keyup`` 时读搜索框，另外在搜索索引就绪时读一次。``fill`` 只触发 ``input``：
    索引在 ``fill`` 之后才就绪时结果会出来，先就绪时（离线副本里常常如此）就一直停在“键入以开始搜索”。
    """
    box.press("End")


@pytest.mark.parametrize(
    "query, expected",
    [("卷积", "/cnn-basics/"), ("汇聚层", "/cnn-basics/pooling/"), ("填充", "/cnn-basics/padding-and-stride/")],
)
def test_chinese_search(page, server, query, expected):
    page.goto(f"{server}/")
    page.locator("label.md-search__icon, .md-search__input").first.click()
    box = page.locator("input.md-search__input")
    box.fill(query)
    _release_a_key(box)
    results = page.locator(".md-search-result__item a")
    results.first.wait_for(timeout=60000)  # 搜索索引在浏览器里现建：忙碌的机器上要多等
    hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    assert any(expected in (h or "") for h in hrefs), hrefs
    assert page.errors == [] and page.outside == []


@pytest.fixture
def file_page(browser):
    """离线副本用的新页面：记录控制台错误、页面异常和所有不是本地文件的请求。"""
    context = browser.new_context()
    pg = _recording_page(context)
    pg.on("request", lambda r: None if r.url.startswith(("file:", "data:", "blob:", "about:")) else pg.outside.append(r.url))
    yield pg
    context.close()


def test_offline_copy_works_from_the_file_system(file_page, offline_site):  # noqa: F811
    pg = file_page
    root = offline_site.as_uri()
    pg.goto(f"{root}/index.html")
    # 搜索：Web Worker 由站内的 iframe-worker 代替，索引由 search_index.js 提供
    pg.locator("label.md-search__icon, .md-search__input").first.click()
    box = pg.locator("input.md-search__input")
    box.fill("汇聚层")
    _release_a_key(box)
    results = pg.locator(".md-search-result__item a")
    results.first.wait_for(timeout=60000)  # 搜索索引在浏览器里现建：忙碌的机器上要多等
    hrefs = [results.nth(i).get_attribute("href") or "" for i in range(results.count())]
    assert any("/cnn-basics/pooling.html" in h for h in hrefs), hrefs
    # 点开一个结果，再点一个导航链接：链接都指向 .html 文件，而不是目录
    with pg.expect_navigation():
        results.locator('xpath=self::a[contains(@href, "/cnn-basics/pooling.html")]').first.click()
    assert "/cnn-basics/pooling.html" in pg.url and pg.locator("h1").first.inner_text().strip()
    with pg.expect_navigation():
        pg.locator("a.md-tabs__link", has_text="深度学习计算").first.click()
    assert pg.url.endswith("/computation/index.html")
    pg.goto(f"{root}/cnn-basics/lenet.html")
    _assert_figures_load(pg)
    assert _wait_for_math(pg) > 0 and pg.locator("mjx-merror").count() == 0
    # 示例页面：共用的 JupyterLab 样式表从文件加载了（它定义的 CSS 变量生效）
    pg.goto(f"{root}/gallery/cnn_basics/plot_lenet.html")
    wrapper = pg.locator(".jupyter-wrapper").first
    assert wrapper.evaluate("e => getComputedStyle(e).getPropertyValue('--md-red-50').trim()") == "#ffebee"
    assert pg.locator(".jp-Cell").count() > 5
    assert pg.errors == [], pg.errors
    assert pg.outside == [], pg.outside


def test_example_page_loads_the_shared_notebook_styles(page, server):
    page.goto(f"{server}/gallery/gan/plot_dcgan/")
    wrapper = page.locator(".jupyter-wrapper").first
    assert wrapper.evaluate("e => getComputedStyle(e).getPropertyValue('--md-red-50').trim()") == "#ffebee"
    assert page.errors == [] and page.outside == []


def test_example_page_copy_button_copies_the_cell_code(page, server):
    # 复制按钮从隐藏的 clipboard-copy-txt 里取代码；它带着 data-search-exclude（不进搜索索引）也照样能用
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page.goto(f"{server}/gallery/cnn_basics/plot_channels/")
    cell = page.locator(".jp-CodeCell").first
    source = cell.locator(".clipboard-copy-txt")
    assert source.get_attribute("data-search-exclude") is not None
    page.evaluate("navigator.clipboard.writeText('')")  # 先清空：读到的只能是按钮写进去的
    cell.hover()
    cell.locator("clipboard-copy").click()
    # 按钮写剪贴板是异步的：等它写进去再读
    page.wait_for_function("async () => (await navigator.clipboard.readText()).length > 0", timeout=10000)
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == source.text_content()
    assert "dlbook.seed_everything(0)" in copied
    assert page.errors == [] and page.outside == []
