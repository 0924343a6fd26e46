"""图库构建机制：脚本→笔记本、执行、缓存、错误报告、原子写入。用几个很小的脚本。"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest

from dlbook.gallery import cache as cache_mod
from dlbook.gallery.build import build_gallery
from dlbook.gallery.execute import ExampleError
from dlbook.gallery.notebook import ScriptError, script_title, script_to_notebook
from dlbook.gallery.render import extract_images, notebook_to_markdown

pytestmark = pytest.mark.slow

PLOT_SCRIPT = '''\
"""
画一条抛物线
============

导言里有公式 $y = x^2$。
"""

# %%
import matplotlib.pyplot as plt
xs = list(range(5))
print("点数", len(xs))

# %% [markdown]
# ## 画图
#
# 下面画 $y=x^2$。

# %%
fig, ax = plt.subplots()
ax.plot(xs, [x * x for x in xs])
plt.show()
sum(xs)
'''

TEXT_SCRIPT = '''\
"""
只有文本
========

没有图。
"""

# %%
import os
print("模式", os.environ["DLBOOK_MODE"], "设备", os.environ["DLBOOK_DEVICE"])
'''

SHOW_SCRIPT = '''\
"""
有标题的图
==========
"""

# %%
import matplotlib.pyplot as plt
from dlbook.plot import show
fig, ax = plt.subplots()
ax.plot([0, 1], [0, 1])
fig.suptitle("抛物线 [y=x^2]")
show(fig)
'''

SPLIT_SCRIPT = '''\
"""
分成两块的打印
==============
"""

# %%
import sys, time
print("第一块")
sys.stdout.flush()
time.sleep(0.5)  # 内核把刷新前后的打印分两次送来
print("第二块")
'''

BROKEN_SCRIPT = '''\
"""
会出错
======

第二个代码单元格除以零。
"""

# %%
a = 1

# %%
b = a / 0
'''


def _gallery(tmp_path: Path, **scripts: str) -> Path:
    root = tmp_path / "gallery"
    for name, text in scripts.items():
        chapter, stem = name.split("__")
        path = root / chapter / f"{stem}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _build(tmp_path: Path, gallery: Path, **kw):
    logs: list[str] = []
    build = build_gallery(
        gallery, tmp_path / "out", tmp_path / "cache", mode="quick", device="cpu",
        log=logs.append, **kw,
    )
    return build, logs


def test_script_to_notebook_cells(tmp_path):
    gallery = _gallery(tmp_path, ch__plot_a=PLOT_SCRIPT)
    nb = script_to_notebook(gallery / "ch" / "plot_a.py")
    kinds = [c.cell_type for c in nb.cells]
    assert kinds == ["markdown", "code", "markdown", "code"]
    assert nb.cells[0].source.startswith("# 画一条抛物线\n")
    assert "$y = x^2$" in nb.cells[0].source
    assert nb.cells[2].source.startswith("## 画图")
    assert nb.metadata["dlbook"]["title"] == "画一条抛物线"
    nbformat.validate(nb)
    # 同一个脚本总是得到一字不差的笔记本（单元格 id 固定，不是 nbformat 的随机 id），内核是 python3
    assert [c.id for c in nb.cells] == ["cell-0", "cell-1", "cell-2", "cell-3"]
    assert nbformat.writes(script_to_notebook(gallery / "ch" / "plot_a.py")) == nbformat.writes(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert script_title(str(gallery / "ch" / "plot_a.py")) == "画一条抛物线"


@pytest.mark.parametrize(
    "text, message",
    [
        ("x = 1\n", "标题文档字符串"),
        ('"""\n没有下划线的标题\n"""\nx = 1\n', "一排 '='"),
        ('"""\n标题\n====\n"""\n\n# %%\ndef f(:\n', "语法错误"),
        # 只有 # 的一行把下一个单元格标记并进了文字块，页面上会出现 “%% [markdown]”
        ('"""\n标题\n====\n"""\n\n# %%\nx = 1\n\n# %% [markdown]\n# 文字\n#\n# %% [markdown]\n# 更多\n',
         r"plot_bad.py:12: 单元格标记"),
        # 行内公式折行后新的一行以 “+ ” 开头：Markdown 把它当成列表项，公式断成两半
        ('"""\n标题\n====\n"""\n\n# %%\nx = 1\n\n# %% [markdown]\n# 展开 $f(x) \\approx a\n# + b$ 之后\n',
         r"plot_bad.py:11: 行内公式"),
    ],
)
def test_bad_scripts_are_named(tmp_path, text, message):
    path = tmp_path / "plot_bad.py"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScriptError, match=message) as info:
        script_to_notebook(path)
    assert "plot_bad.py" in str(info.value)


def test_a_script_with_a_bom_is_named(tmp_path):
    # python 能运行带 BOM 的脚本，sphinx-gallery 却读不出标题，会悄悄换上一段占位文字
    path = tmp_path / "plot_bom.py"
    path.write_bytes(b"\xef\xbb\xbf" + '"""\n标题\n====\n"""\n\n# %%\nx = 1\n'.encode())
    with pytest.raises(ScriptError, match=r"plot_bom.py:1: .*BOM"):
        script_to_notebook(path)


@pytest.mark.parametrize(
    ("source", "line"),
    [('\0"""\n标题\n====\n"""\n\n# %%\nx = 1\n', 1), ('"""\n标题\n====\n"""\n\n# %%\nx = 1\0\n', 7)],
)
def test_a_nul_byte_is_named_with_its_line(tmp_path, source, line):
    # compile() 对 NUL 字节的报错没有行号，在 Python 3.10 上还是 ValueError 而不是 SyntaxError
    path = tmp_path / "plot_nul.py"
    path.write_bytes(source.encode())
    with pytest.raises(ScriptError, match=rf"plot_nul.py:{line}: 脚本含 NUL 字节"):
        script_to_notebook(path)


def test_a_syntax_error_without_a_line_number_names_no_line(tmp_path):
    # 编码声明写错时 compile() 给的行号是 0：消息里只写文件名，不写“:0”
    path = tmp_path / "plot_cookie.py"
    path.write_text('# coding: no-such-codec\n"""\n标题\n====\n"""\n\n# %%\nx = 1\n', encoding="utf-8")
    with pytest.raises(ScriptError, match=r"plot_cookie.py: 脚本有语法错误：unknown encoding"):
        script_to_notebook(path)


def test_a_script_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "plot_bad.py"
    path.write_bytes('"""\n标题\n====\n"""\n\n# %%\nx = "caf'.encode() + b"\xe9" + b'"\n')
    with pytest.raises(ScriptError, match=r"plot_bad.py:7: 脚本不是 UTF-8 编码.*0xe9"):
        script_to_notebook(path)


def test_inline_math_may_wrap_onto_an_ordinary_line(tmp_path):
    path = tmp_path / "plot_ok.py"
    path.write_text(
        '"""\n标题\n====\n"""\n\n# %%\nx = 1\n\n# %% [markdown]\n# 展开 $f(x) \\approx a +\n# b$ 之后\n'
        "#\n# - 列表项里的 $c$ 没问题\n# - 价格 \\$5 不是公式\n",
        encoding="utf-8",
    )
    assert "- 列表项" in script_to_notebook(path).cells[-1].source


def test_an_unclosed_dollar_ends_with_its_paragraph(tmp_path):
    # 段落里单独一个 $（没闭合）不影响下一段：空行之后以 “- ” 开头的列表项不是折行的公式
    path = tmp_path / "plot_ok.py"
    path.write_text(
        '"""\n标题\n====\n"""\n\n# %%\nx = 1\n\n# %% [markdown]\n# 价格是 $5\n#\n# - 列表项\n',
        encoding="utf-8",
    )
    assert "- 列表项" in script_to_notebook(path).cells[-1].source


def test_script_to_notebook_takes_a_str_path_and_names_the_language(tmp_path):
    gallery = _gallery(tmp_path, ch__plot_a=PLOT_SCRIPT)
    nb = script_to_notebook(str(gallery / "ch" / "plot_a.py"))
    assert nb.metadata["dlbook"] == {"title": "画一条抛物线", "source": "plot_a.py"}
    # Jupyter 与 nbconvert 靠 language_info 给代码上色
    assert nb.metadata["language_info"] == {"name": "python"}


def test_missing_script(tmp_path):
    with pytest.raises(ScriptError, match="找不到示例脚本"):
        script_to_notebook(tmp_path / "nope.py")


def test_build_executes_then_caches(tmp_path):
    gallery = _gallery(tmp_path, ch__plot_a=PLOT_SCRIPT, ch__plot_b=TEXT_SCRIPT)
    build, logs = _build(tmp_path, gallery)
    assert build.executed == 2
    assert [line.split("（")[0] for line in logs if line.startswith("执行")] == ["执行 ch/plot_a.py", "执行 ch/plot_b.py"]
    assert [line.split("：")[0] for line in logs if line.startswith("完成")] == ["完成 ch/plot_a.py", "完成 ch/plot_b.py"]
    a = build.examples["ch/plot_a.py"]
    b = build.examples["ch/plot_b.py"]
    assert a.seconds > 0 and not a.cached
    # 文本输出与图都被捕获了
    outputs = [o for c in a.notebook.cells for o in c.get("outputs", [])]
    assert any(o.get("text", "").startswith("点数 5") for o in outputs)
    assert len(a.images) == 1 and a.images[0].data.startswith(b"\x89PNG")
    assert "模式 quick 设备 cpu" in "".join(o.get("text", "") for c in b.notebook.cells for o in c.get("outputs", []))
    out = tmp_path / "out"
    for uri in ["gallery/index.md", a.page_uri, a.script_uri, a.download_uri, a.thumb_uri,
                a.image_uri(a.images[0]), b.thumb_uri]:
        assert (out / uri).is_file(), uri
    # 页面笔记本多一个运行信息单元格，下载的笔记本没有
    page = nbformat.read(out / a.page_uri, as_version=4)
    download = nbformat.read(out / a.download_uri, as_version=4)
    assert "dlbook-run-info" in page.cells[1].source
    assert len(page.cells) == len(download.cells) + 1
    assert 'href="../plot_a.py"' in page.cells[1].source
    assert 'href="../../_downloads/ch/plot_a.ipynb"' in page.cells[1].source
    index = (out / "gallery/index.md").read_text(encoding="utf-8")
    assert "(ch/plot_a.ipynb)" in index and "(ch/images/thumb/plot_b.png)" in index
    assert index.count('<div class="grid cards" markdown>') == 1 and index.count("</div>") == 1  # 一章一组卡片
    # 卡片图：有图的示例是它最后一张图缩小（抛物线的蓝色），没有图的是写着标题的浅蓝灰卡片
    from PIL import Image as PILImage

    from dlbook.gallery.build import THUMB_SIZE

    with PILImage.open(out / a.thumb_uri) as im:
        assert im.size == THUMB_SIZE
        colours = {rgb for _, rgb in im.convert("RGB").getcolors(THUMB_SIZE[0] * THUMB_SIZE[1])}
    assert any(abs(r - 31) + abs(g - 119) + abs(b_ - 180) < 40 for r, g, b_ in colours)  # matplotlib 的 C0
    with PILImage.open(out / b.thumb_uri) as im:
        assert im.size == THUMB_SIZE
        background = max(im.convert("RGB").getcolors(THUMB_SIZE[0] * THUMB_SIZE[1]))[1]
        dark = sum(n for n, level in im.convert("L").getcolors(THUMB_SIZE[0] * THUMB_SIZE[1]) if level < 100)
    assert background == (0xEE, 0xF2, 0xF7)
    assert dark > 200  # 标题的字

    # 什么都没变：一个也不执行，文件的修改时间也不变
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again, _ = _build(tmp_path, gallery)
    assert again.executed == 0
    assert all(e.cached for e in again.examples.values())
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == mtimes

    # 改一个脚本：只执行这一个
    (gallery / "ch" / "plot_b.py").write_text(TEXT_SCRIPT + "print('多一行')\n", encoding="utf-8")
    third, _ = _build(tmp_path, gallery)
    assert third.executed == 1
    assert not third.examples["ch/plot_b.py"].cached and third.examples["ch/plot_a.py"].cached

    # 删掉一个脚本：它生成的文件也消失
    (gallery / "ch" / "plot_b.py").unlink()
    _build(tmp_path, gallery)
    assert not (out / b.page_uri).exists()


def test_cache_key_covers_mode_device_and_versions(tmp_path):
    gallery = _gallery(tmp_path, ch__plot_b=TEXT_SCRIPT)
    script = gallery / "ch" / "plot_b.py"
    env = cache_mod.environment()
    base = cache_mod.cache_key(script, mode="quick", device="cpu", env=env)
    assert base == cache_mod.cache_key(script, mode="quick", device="cpu", env=env)
    assert base != cache_mod.cache_key(script, mode="full", device="cpu", env=env)
    assert base != cache_mod.cache_key(script, mode="quick", device="cuda", env=env)
    assert base != cache_mod.cache_key(script, mode="quick", device="cpu", env={**env, "torch": "0.0"})
    script.write_text(TEXT_SCRIPT + "\n# 改了\n", encoding="utf-8")
    assert base != cache_mod.cache_key(script, mode="quick", device="cpu", env=env)


def test_cache_key_covers_dlbook_source(tmp_path, monkeypatch):
    gallery = _gallery(tmp_path, ch__plot_b=TEXT_SCRIPT)
    script = gallery / "ch" / "plot_b.py"
    fake = tmp_path / "pkg"
    fake.mkdir()
    (fake / "m.py").write_text("x = 1\n")
    monkeypatch.setattr(cache_mod, "_PACKAGE_ROOT", fake)
    monkeypatch.setattr(cache_mod._source_digest, "__defaults__", (fake,))
    before = cache_mod.cache_key(script, mode="quick", device="cpu")
    (fake / "m.py").write_text("x = 2\n")
    assert cache_mod.cache_key(script, mode="quick", device="cpu") != before


def test_cache_key_ignores_the_modules_that_only_render_pages(tmp_path, monkeypatch):
    gallery = _gallery(tmp_path, ch__plot_b=TEXT_SCRIPT)
    script = gallery / "ch" / "plot_b.py"
    fake = tmp_path / "pkg"
    (fake / "gallery").mkdir(parents=True)
    for name in ("render", "execute"):
        (fake / "gallery" / f"{name}.py").write_text("x = 1\n")
    monkeypatch.setattr(cache_mod._source_digest, "__defaults__", (fake,))
    before = cache_mod.cache_key(script, mode="quick", device="cpu")
    (fake / "gallery" / "render.py").write_text("x = 2\n")  # 只改页面怎么渲染
    assert cache_mod.cache_key(script, mode="quick", device="cpu") == before
    (fake / "gallery" / "execute.py").write_text("x = 2\n")  # 改了示例怎么执行
    assert cache_mod.cache_key(script, mode="quick", device="cpu") != before


def test_the_source_digest_reads_the_dlbook_package_itself():
    import dlbook

    package = Path(dlbook.__file__).resolve().parent
    assert cache_mod._PACKAGE_ROOT == package
    assert cache_mod._source_digest.__defaults__ == (package,)


def test_source_digest_sees_renamed_files_and_bytes_moved_between_files(tmp_path):
    def digest(files: dict[str, bytes]) -> str:
        root = tmp_path / f"pkg{len(list(tmp_path.iterdir()))}"
        root.mkdir()
        for name, data in files.items():
            (root / name).write_bytes(data)
        return cache_mod._source_digest(root)

    base = digest({"a.py": b"x", "b.py": b"y"})
    assert digest({"a.py": b"x", "b.py": b"y"}) == base
    assert digest({"c.py": b"x", "b.py": b"y"}) != base  # 改了文件名
    assert digest({"a.py": b"xy", "b.py": b""}) != base  # 字节挪到了另一个文件
    # 文件名与内容、这个文件与下一个文件之间都有分隔：拼起来相同的两种布局也能分开
    assert digest({"a.py": b".pyx"}) != digest({"a.py.py": b"x"})
    assert digest({"a.py": b"x", "b.py": b"y"}) != digest({"a.py": b"xb.py\0y"})
    assert digest({"a.py": b"x", "notes.txt": b"z"}) == digest({"a.py": b"x"})  # 只算 .py


def test_a_missing_distribution_has_version_absent():
    assert cache_mod._version("no-such-distribution-dlbook") == "absent"
    assert cache_mod.environment()["torch"] != "absent"


def test_a_cache_entry_filed_under_another_key_or_with_no_time_is_ignored(tmp_path):
    cache = cache_mod.ExampleCache(tmp_path)
    nb = nbformat.v4.new_notebook()
    env = cache_mod.environment()
    entry = cache_mod.CacheEntry("a" * 64, "plot_x.py", "quick", "cpu", 1.5, "2026-12-02T00:00:00", env)
    cache.put(nb, entry)
    assert cache.get("a" * 64)[1] == entry
    for suffix in (".ipynb", ".json"):  # 同一份条目换了个键：不算数
        (tmp_path / f"{'a' * 64}{suffix}").rename(tmp_path / f"{'b' * 64}{suffix}")
    assert cache.get("b" * 64) is None
    cache.put(nb, cache_mod.CacheEntry("c" * 64, "plot_x.py", "quick", "cpu", 0.0, "2026-12-02T00:00:00", env))
    assert cache.get("c" * 64) is None


def test_page_only_modules_exist():
    # 名单里的文件改名或删掉后，名单要跟着改，否则它悄悄失效
    package = Path(cache_mod.__file__).resolve().parents[1]
    assert all((package / name).is_file() for name in cache_mod._PAGE_ONLY)


def test_broken_example_names_script_cell_and_traceback(tmp_path):
    gallery = _gallery(tmp_path, ch__plot_bad=BROKEN_SCRIPT)
    with pytest.raises(ExampleError) as info:
        _build(tmp_path, gallery)
    message = str(info.value)
    assert "plot_bad.py" in message
    assert "第 2 个代码单元格" in message
    assert "b = a / 0" in message
    assert "ZeroDivisionError" in message
    assert "\x1b[" not in message, "回溯里不留终端的颜色转义"
    assert "An error occurred while executing" not in message, "单元格的代码只在“出错的代码”下列一次"
    assert info.value.script.name == "plot_bad.py" and info.value.cell_index == 2
    # 失败的示例不进缓存
    assert not list((tmp_path / "cache").glob("*.json"))


def test_a_kernel_error_before_any_cell_lists_no_code():
    message = str(ExampleError(Path("plot_x.py"), None, "", "DeadKernelError: 内核退出了"))
    assert message.startswith("示例 plot_x.py 在内核出错。") and "出错的代码" not in message
    assert "DeadKernelError: 内核退出了" in message


def test_execution_time_is_the_sum_of_the_cells_or_else_the_wall_clock(tmp_path):
    from datetime import datetime

    from dlbook.gallery.execute import execute_notebook

    def stamp(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    cells = [nbformat.v4.new_code_cell("import time\ntime.sleep(0.3)"), nbformat.v4.new_markdown_cell("文字")]
    done = execute_notebook(nbformat.v4.new_notebook(cells=cells), script=str(tmp_path / "plot_x.py"))  # 路径可以是 str
    timing = done.notebook.cells[0].metadata.execution
    cell = stamp(timing["shell.execute_reply"]) - stamp(timing["iopub.execute_input"])
    assert done.seconds == pytest.approx(cell.total_seconds()) and done.seconds >= 0.3  # 不含内核启动
    text_only = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("只有文字")])
    assert execute_notebook(text_only, script=tmp_path / "plot_y.py").seconds > 0  # 没有时间戳：用整段用时


def test_zero_seconds_is_an_error(tmp_path, monkeypatch):
    from dlbook.gallery import build as build_mod
    from dlbook.gallery.execute import Execution

    def fake_execute(nb, **kwargs):
        return Execution(notebook=nb, seconds=0.0)

    monkeypatch.setattr(build_mod, "execute_notebook", fake_execute)
    gallery = _gallery(tmp_path, ch__plot_b=TEXT_SCRIPT)
    with pytest.raises(ExampleError, match="0 秒"):
        _build(tmp_path, gallery)


def test_an_example_faster_than_a_millisecond_is_recorded_and_cached(tmp_path, monkeypatch):
    from dlbook.gallery import build as build_mod
    from dlbook.gallery.execute import Execution

    def fake_execute(nb, **kwargs):
        return Execution(notebook=nb, seconds=0.0002)

    monkeypatch.setattr(build_mod, "execute_notebook", fake_execute)
    gallery = _gallery(tmp_path, ch__plot_b=TEXT_SCRIPT)
    build, _ = _build(tmp_path, gallery)  # 曾把 0.0002 秒四舍五入成 0，当作“没有执行”报错
    assert build.examples["ch/plot_b.py"].seconds == pytest.approx(0.0002)
    again, _ = _build(tmp_path, gallery)
    assert again.executed == 0


def test_pattern_executes_only_matching_scripts(tmp_path):
    gallery = _gallery(tmp_path, ch__plot_a=PLOT_SCRIPT, ch__plot_b=TEXT_SCRIPT)
    build, logs = _build(tmp_path, gallery, pattern=r"plot_b")
    assert build.executed == 1
    assert list(build.examples) == ["ch/plot_b.py"]
    assert [p.name for p in build.skipped] == ["plot_a.py"]
    assert any("跳过 ch/plot_a.py" in line for line in logs)
    assert not any("不匹配任何示例" in line for line in logs)
    index = (tmp_path / "out" / "gallery" / "index.md").read_text(encoding="utf-8")
    assert '!!! note "本次构建跳过的示例"' in index and "    - `ch/plot_a.py`" in index
    _, logs = _build(tmp_path, gallery, pattern=r"plot_lenet")  # 笔误：一个也不匹配
    assert any("'plot_lenet' 不匹配任何示例" in line for line in logs)


def test_the_index_heads_each_chapter_with_its_readme_or_its_directory_name(tmp_path):
    gallery = _gallery(tmp_path, ch1__plot_b=TEXT_SCRIPT, ch2__plot_c=TEXT_SCRIPT)
    (gallery / "ch1" / "README.md").write_text("# 第一章\n\n说明。\n\n# 另一节\n", encoding="utf-8")
    _build(tmp_path, gallery)
    index = (tmp_path / "out" / "gallery" / "index.md").read_text(encoding="utf-8")
    # 图库页的标题是一级标题，章节说明里的一级标题降一级
    assert index.index("## 第一章\n\n说明。\n\n## 另一节") < index.index("(ch1/plot_b.ipynb)")
    assert index.index("(ch1/plot_b.ipynb)") < index.index("## ch2\n") < index.index("(ch2/plot_c.ipynb)")
    assert index.count("\n# ") == 0 and index.startswith("# 示例图库\n")


def test_the_index_follows_the_book_order_and_puts_unknown_examples_last(tmp_path):
    gallery = _gallery(
        tmp_path, ch1__plot_a=TEXT_SCRIPT, ch1__plot_z=TEXT_SCRIPT, ch2__plot_b=TEXT_SCRIPT, ch3__plot_c=TEXT_SCRIPT
    )
    # ch2 先出现；ch1 里 plot_z 在 plot_a 之前；ch2/plot_b 又出现一次不改变它的位置；ch3 不在书里
    _build(tmp_path, gallery, order=["ch2/plot_b.py", "ch1/plot_z.py", "ch1/plot_a.py", "ch2/plot_b.py"])
    index = (tmp_path / "out" / "gallery" / "index.md").read_text(encoding="utf-8")
    cards = [index.index(f"({name}.ipynb)") for name in ("ch2/plot_b", "ch1/plot_z", "ch1/plot_a", "ch3/plot_c")]
    assert cards == sorted(cards)
    assert index.index("## ch2\n") < index.index("## ch1\n") < index.index("## ch3\n")


def test_book_order_reads_the_example_macros_of_the_nav_pages_in_order(tmp_path):
    from dlbook.gallery.plugin import _book_order

    docs = tmp_path / "docs"
    (docs / "a").mkdir(parents=True)
    (docs / "a" / "one.md").write_text('# 一\n\n{{ example("ch/plot_b.py") }}\n', encoding="utf-8")
    (docs / "two.md").write_text(
        '# 二\n\n{{ example("ch/plot_a.py") }}\n\n`{{ example("ch/plot_x.py") }}` 不是宏\n', encoding="utf-8"
    )
    assert _book_order(["two.md", "missing.md", "a/one.md"], docs) == ["ch/plot_a.py", "ch/plot_b.py"]


def test_invalid_pattern_is_named(tmp_path):
    gallery = _gallery(tmp_path, ch__plot_b=TEXT_SCRIPT)
    with pytest.raises(ValueError, match=r"pattern='\[' 不是有效的正则表达式"):
        _build(tmp_path, gallery, pattern="[")


@pytest.mark.parametrize("timeout", [0, -5])
def test_a_cell_timeout_below_one_second_is_refused_before_anything_runs(tmp_path, timeout):
    gallery = _gallery(tmp_path, ch__plot_b=TEXT_SCRIPT)
    with pytest.raises(ValueError, match=f"timeout 至少为 1 秒，而不是 {timeout}"):
        _build(tmp_path, gallery, timeout=timeout)
    assert not (tmp_path / "out").exists() and not list((tmp_path / "cache").glob("*.ipynb"))


def test_a_cell_timeout_of_one_second_is_allowed(tmp_path):
    from dlbook.gallery.build import GalleryBuild

    build = GalleryBuild(tmp_path, tmp_path / "out", tmp_path / "cache", mode="quick", device="cpu", timeout=1)
    assert build.timeout == 1


def test_a_missing_gallery_directory_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(f"图库目录 {tmp_path / 'nope'} 不存在")):
        _build(tmp_path, tmp_path / "nope")


def test_a_gallery_without_examples_is_an_error_and_keeps_the_old_pages(tmp_path):
    gallery = _gallery(tmp_path, ch__plot_b=TEXT_SCRIPT)
    build, _ = _build(tmp_path, gallery)
    page = tmp_path / "out" / build.examples["ch/plot_b.py"].page_uri
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=re.escape(f"图库目录 {empty} 里没有示例")):
        _build(tmp_path, empty)
    assert page.is_file(), "指错了图库目录，不能把上一次生成的页面当作过时的删掉"


def test_stale_files_are_removed_only_under_gallery(tmp_path):
    # 输出目录里不是这次构建写的东西，只有 gallery/ 下面的才是它以前写的
    out = tmp_path / "out"
    (out / "notes").mkdir(parents=True)
    (out / "notes" / "mine.md").write_text("别删我")
    (out / "gallery" / "old").mkdir(parents=True)
    (out / "gallery" / "old" / "plot_gone.ipynb").write_text("{}")
    _build(tmp_path, _gallery(tmp_path, ch__plot_b=TEXT_SCRIPT))
    assert (out / "notes" / "mine.md").read_text() == "别删我"
    assert not (out / "gallery" / "old" / "plot_gone.ipynb").exists()


def test_atomic_write_leaves_nothing_half_written(tmp_path, monkeypatch):
    target = tmp_path / "d" / "f.json"
    cache_mod.atomic_write(target, b"old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        cache_mod.atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in target.parent.iterdir()] == ["f.json"]


def test_atomic_write_syncs_the_data_before_the_rename_and_the_directory_after(tmp_path, disk_events):
    """断电之后不留下改了名的空文件：数据先落盘再改名，改名之后目录落盘。"""
    target = tmp_path / "f.json"
    open_fds = sorted(os.listdir("/proc/self/fd"))
    cache_mod.atomic_write(target, b"12345")
    assert disk_events == [("fsync", 5), ("replace", "f.json"), ("fsync", "dir")]
    assert target.read_bytes() == b"12345"
    assert sorted(os.listdir("/proc/self/fd")) == open_fds  # 目录的文件描述符也关上了


def test_superseded_cache_entries_are_pruned_and_others_kept(tmp_path):
    gallery = _gallery(tmp_path, ch__plot_a=PLOT_SCRIPT, ch__plot_b=TEXT_SCRIPT)
    cache = tmp_path / "cache"
    _build(tmp_path, gallery)
    build_gallery(gallery, tmp_path / "out-full", cache, mode="full", device="cpu", log=lambda _: None)
    old = {p.name for p in cache.iterdir()}
    assert len(old) == 2 * 2 * 3  # 两种模式 × 两个示例，每个一份元数据、一份笔记本、一张缩略图
    stray = cache / ".old.ipynb.x.tmp"  # 一小时前写到一半被打断的临时文件
    stray.write_text("半截")
    os.utime(stray, (0, 0))
    fresh = cache / ".new.ipynb.y.tmp"  # 可能正被另一个构建写着：留着
    fresh.write_text("正在写")

    (gallery / "ch" / "plot_b.py").write_text(TEXT_SCRIPT + "print('改了')\n", encoding="utf-8")
    build, logs = _build(tmp_path, gallery, pattern="plot_b")  # quick 模式，只执行 plot_b
    assert build.executed == 1
    b_quick = build.examples["ch/plot_b.py"].key
    now = {p.name for p in cache.iterdir()}
    gone = old - now
    # 只删掉 plot_b 在 quick 模式下的旧条目：full 模式的、plot_a 的都留着
    assert sorted(name.split(".", 1)[1] for name in gone) == ["ipynb", "json", "thumb.png"]
    assert len({name.split(".", 1)[0] for name in gone}) == 1
    assert {f"{b_quick}.json", f"{b_quick}.ipynb", f"{b_quick}.thumb.png"} <= now
    assert not stray.exists() and fresh.exists()
    assert any("删掉 1 个被取代的旧条目" in line for line in logs)
    again, logs = _build(tmp_path, gallery)
    assert again.executed == 0 and not any("被取代" in line for line in logs)


def _rewrite_json(path: Path, change) -> None:
    import json

    path.write_text(json.dumps(change(json.loads(path.read_text(encoding="utf-8")))), encoding="utf-8")


CACHE_DAMAGE = {
    # 文件名后缀 → 怎么改坏：不是 JSON 的，以及是 JSON 却不是笔记本或元数据该有的样子的
    "元数据不是 JSON": ("json", lambda p: p.write_text("{not json", encoding="utf-8")),
    "秒数是字符串": ("json", lambda p: _rewrite_json(p, lambda d: {**d, "seconds": "1.5"})),
    "日期是数字": ("json", lambda p: _rewrite_json(p, lambda d: {**d, "executed_at": 5})),
    "环境是列表": ("json", lambda p: _rewrite_json(p, lambda d: {**d, "env": []})),
    "笔记本是空对象": ("ipynb", lambda p: p.write_text("{}", encoding="utf-8")),
    "笔记本是列表": ("ipynb", lambda p: p.write_text("[]", encoding="utf-8")),
    "单元格是字符串": ("ipynb", lambda p: _rewrite_json(p, lambda d: {**d, "cells": "x"})),
}


@pytest.mark.parametrize("damage", CACHE_DAMAGE)
def test_corrupt_cache_entry_is_ignored(tmp_path, damage):
    suffix, change = CACHE_DAMAGE[damage]
    gallery = _gallery(tmp_path, ch__plot_b=TEXT_SCRIPT)
    _build(tmp_path, gallery)
    (path,) = (tmp_path / "cache").glob(f"*.{suffix}")
    change(path)
    again, _ = _build(tmp_path, gallery)
    assert again.executed == 1
    assert not again.examples["ch/plot_b.py"].cached


def test_decodes_refuses_a_truncated_png_that_still_opens():
    import io

    from PIL import Image as PILImage

    from dlbook.gallery.build import _decodes

    buf = io.BytesIO()
    PILImage.effect_noise((64, 64), 50).save(buf, format="PNG")
    png = buf.getvalue()
    PILImage.open(io.BytesIO(png[:-40]))  # 头还在：只打开不会发现
    assert _decodes(png) and not _decodes(png[:-40]) and not _decodes(b"not a png")


def test_a_cached_thumbnail_is_used_instead_of_scaling_the_figure_again(tmp_path):
    import io

    from PIL import Image as PILImage

    gallery = _gallery(tmp_path, ch__plot_a=PLOT_SCRIPT)
    build, _ = _build(tmp_path, gallery)
    marker = io.BytesIO()
    PILImage.new("RGB", (8, 8), "red").save(marker, format="PNG")
    next((tmp_path / "cache").glob("*.thumb.png")).write_bytes(marker.getvalue())
    _build(tmp_path, gallery)
    assert (tmp_path / "out" / build.examples["ch/plot_a.py"].thumb_uri).read_bytes() == marker.getvalue()


def test_a_cached_image_or_thumbnail_that_does_not_decode_is_made_again(tmp_path):
    import base64
    import json

    from PIL import Image as PILImage

    gallery = _gallery(tmp_path, ch__plot_a=PLOT_SCRIPT)
    build, _ = _build(tmp_path, gallery)
    thumb = next((tmp_path / "cache").glob("*.thumb.png"))
    thumb.write_bytes(b"not a png")
    again, _ = _build(tmp_path, gallery)
    assert again.executed == 0  # 只有缩略图坏了：重做缩略图，不重新执行
    PILImage.open(thumb).verify()
    PILImage.open(tmp_path / "out" / build.examples["ch/plot_a.py"].thumb_uri).verify()

    (nb_path,) = (tmp_path / "cache").glob("*.ipynb")
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                output["data"]["image/png"] = base64.b64encode(b"not a png").decode()
    nb_path.write_text(json.dumps(nb), encoding="utf-8")
    third, logs = _build(tmp_path, gallery)
    assert third.executed == 1
    assert any("缓存条目" in line and "重新执行" in line for line in logs)
    assert third.examples["ch/plot_a.py"].images[0].data.startswith(b"\x89PNG")


def test_an_output_image_that_does_not_decode_is_an_error_and_is_not_cached(tmp_path):
    bad = (
        '"""\n坏图\n====\n"""\n\n# %%\nx = 1\n\n# %%\n'
        'from IPython.display import Image, display\ndisplay(Image(data=b"not a png", format="png"))\n'
    )
    gallery = _gallery(tmp_path, ch__plot_bad=bad)
    with pytest.raises(ExampleError) as info:
        _build(tmp_path, gallery)
    message = str(info.value)
    assert "plot_bad.py" in message and "第 2 个代码单元格" in message
    assert "plot_bad_001.png" in message and "无法解码" in message
    assert not list((tmp_path / "cache").glob("*.ipynb"))  # 没有进缓存：改好脚本之前每次都报同样的错


def test_a_chapter_readme_that_is_not_utf8_is_named(tmp_path):
    gallery = _gallery(tmp_path, ch__plot_b=TEXT_SCRIPT)
    (gallery / "ch" / "README.md").write_bytes("# 第一章".encode("gbk"))
    with pytest.raises(ScriptError, match=r"ch/README.md: 章节说明不是 UTF-8 编码"):
        _build(tmp_path, gallery)


def test_markdown_embed(tmp_path):
    gallery = _gallery(tmp_path, ch__plot_a=PLOT_SCRIPT)
    build, _ = _build(tmp_path, gallery)
    ex = build.examples["ch/plot_a.py"]
    md = notebook_to_markdown(
        ex.notebook, images=ex.images, image_src=lambda im: f"img/{im.name}", header="HEADER"
    )
    assert md.startswith("## 示例：画一条抛物线\n\nHEADER\n")
    assert "### 画图" in md  # 标题降了一级
    assert "```python\nimport matplotlib.pyplot as plt" in md
    assert "```text\n点数 5\n```" in md
    assert '[![示例输出的图](img/plot_a_001.png)](img/plot_a_001.png "查看原图"){ .dlbook-figure-link }' in md
    assert "```text\n10\n```" in md  # 最后一个表达式的值
    assert "base64" not in md and "data:image" not in md
    assert [im.name for im in extract_images(ex.notebook, stem="s")] == ["s_001.png"]


def test_figures_get_their_own_alt_text_and_pages_link_the_image_files(tmp_path):
    gallery = _gallery(tmp_path, ch__plot_a=PLOT_SCRIPT, ch__plot_s=SHOW_SCRIPT)
    build, _ = _build(tmp_path, gallery)
    titled, plain = build.examples["ch/plot_s.py"], build.examples["ch/plot_a.py"]
    # dlbook.plot.show 把图的标题放进输出的元数据；plt.show() 显示的图用默认的文字
    assert [im.alt for im in titled.images] == ["抛物线 [y=x^2]"]
    assert [im.alt for im in plain.images] == ["示例输出的图"]
    md = notebook_to_markdown(titled.notebook, images=titled.images, image_src=lambda im: f"img/{im.name}")
    assert "[![抛物线 \\[y=x^2\\]](img/plot_s_001.png)](img/plot_s_001.png" in md
    # 最小文字（刻度，matplotlib 默认 10 点）的像素字号也记下了：10 × 100 dpi / 72
    assert titled.images[0].text_px == pytest.approx(13.89, abs=0.01)
    assert plain.images[0].text_px is None
    # 单独的示例页面引用写出的图片文件（相对页面 gallery/ch/plot_s/），不内嵌 base64
    assert build.page_images(titled) == {"../images/plot_s_001.png": titled.images[0]}
    page = nbformat.read(tmp_path / "out" / titled.page_uri, as_version=4)
    image = titled.images[0]
    output = page.cells[image.cell + 1].outputs[image.output]  # 页面笔记本多了第 2 个单元格（运行信息）
    assert output.metadata["filenames"] == {"image/png": "../images/plot_s_001.png"}
    assert (tmp_path / "out" / titled.image_uri(image)).read_bytes() == image.data


def test_prints_of_one_cell_become_one_output_block(tmp_path):
    gallery = _gallery(tmp_path, ch__plot_p=SPLIT_SCRIPT)
    build, _ = _build(tmp_path, gallery)
    ex = build.examples["ch/plot_p.py"]
    outputs = ex.notebook.cells[-1].outputs
    assert [(o.output_type, o.name, o.text) for o in outputs] == [("stream", "stdout", "第一块\n第二块\n")]
    md = notebook_to_markdown(ex.notebook, images=ex.images, image_src=lambda im: im.name)
    assert md.count("```text") == 1


def test_doctest_fences_for_api_pages():
    from dlbook.gallery.griffe_doctest import fence_doctests

    text = "说明。\n\n>>> 1 + 1\n2\n\n```python\n>>> 不动\n```\n    >>> x\n    1"
    assert fence_doctests(text) == (
        "说明。\n\n```pycon\n>>> 1 + 1\n2\n```\n\n```python\n>>> 不动\n```\n"
        "    ```pycon\n    >>> x\n    1\n    ```"
    )


def test_cell_timeout_is_reported(tmp_path):
    from dlbook.gallery.execute import execute_notebook

    gallery = _gallery(
        tmp_path, ch__plot_slow='"""\n太慢\n====\n\n睡太久。\n"""\n\n# %%\nimport time\n\n# %%\ntime.sleep(60)\n'
    )
    script = gallery / "ch" / "plot_slow.py"
    with pytest.raises(ExampleError) as info:
        # 时限对每个单元格都算：10 秒让第一个单元格（import time）在忙碌的机器上也来得及，睡 60 秒的才超时
        execute_notebook(script_to_notebook(script), script=script, timeout=10)
    message = str(info.value)
    assert "plot_slow.py" in message and "第 2 个代码单元格" in message
    assert "time.sleep(60)" in message and "Timeout" in message
    assert message.count("time.sleep(60)") == 1 and "preview" not in message  # 代码只列一次

    # 构建把时限交给执行：DLBOOK_CELL_TIMEOUT 经插件传到这里
    with pytest.raises(ExampleError, match="plot_slow.py"):
        build_gallery(gallery, tmp_path / "out", tmp_path / "cache", mode="quick", device="cpu",
                      timeout=3, log=lambda _: None)  # fmt: skip


@pytest.mark.parametrize("call", ["exit()", "quit()", "exit(0)"])
def test_exit_in_a_cell_is_an_error_and_stops_the_run(tmp_path, call):
    # 单独运行时 exit() 结束脚本；内核却忽略它、接着执行，页面上会多出读者看不到的输出
    from dlbook.gallery.execute import execute_notebook

    cells = [
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell(f"if x == 1:\n    {call}"),
        nbformat.v4.new_code_cell("print('后面')"),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    with pytest.raises(ExampleError) as info:
        execute_notebook(nb, script=tmp_path / "plot_exit.py")
    message = str(info.value)
    assert "plot_exit.py" in message and "第 2 个代码单元格" in message
    assert call in message and "exit() 或 quit()" in message
    assert info.value.cell_index == 2
    assert nb.cells[2].outputs == [], "调用 exit() 之后的单元格不再执行"


def test_sys_exit_in_a_cell_is_an_error(tmp_path):
    from dlbook.gallery.execute import execute_notebook

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys\nsys.exit(0)")])
    with pytest.raises(ExampleError, match="SystemExit"):
        execute_notebook(nb, script=tmp_path / "plot_exit.py")


@pytest.mark.parametrize(("value", "expected"), [("", 1800), ("60", 60), ("0", None), ("1.5", None), ("abc", None)])
def test_cell_timeout_from_the_environment(monkeypatch, value, expected):
    from mkdocs.exceptions import PluginError

    from dlbook.gallery.plugin import _cell_timeout

    monkeypatch.setenv("DLBOOK_CELL_TIMEOUT", value)
    if expected is None:
        with pytest.raises(PluginError, match="DLBOOK_CELL_TIMEOUT.*正整数"):
            _cell_timeout()
    else:
        assert _cell_timeout() == expected


def test_each_build_cache_gets_its_own_notebook_render_cache(tmp_path, monkeypatch):
    # mkdocs-jupyter 每次构建后删掉没用到的缓存条目，文件已被别人删掉时崩溃：两个构建不能共用一个目录
    from mkdocs.config import load_config

    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(tmp_path)  # 它的默认目录相对当前目录；这里应当与当前目录无关
    monkeypatch.delenv("DLBOOK_CACHE_DIR", raising=False)
    monkeypatch.setenv("DLBOOK_DEVICE", "cpu")
    for env, expected in [(None, root / ".cache" / "mkdocs-jupyter"),
                          (str(tmp_path / "run1"), tmp_path / "run1-jupyter")]:
        if env:
            monkeypatch.setenv("DLBOOK_CACHE_DIR", env)
        config = load_config(str(root / "mkdocs.yml"))
        config.plugins["dlbook-gallery"].on_config(config)
        assert config.plugins["mkdocs-jupyter"].config["cache_dir"] == str(expected)


@pytest.mark.parametrize("where", ["file", "root"])
def test_a_cache_dir_that_is_a_file_or_the_root_is_named(tmp_path, monkeypatch, where):
    from mkdocs.config import load_config
    from mkdocs.exceptions import PluginError

    root = Path(__file__).resolve().parents[1]
    target = tmp_path / "afile"
    target.write_text("")
    monkeypatch.setenv("DLBOOK_CACHE_DIR", str(target) if where == "file" else "/")
    monkeypatch.setenv("DLBOOK_DEVICE", "cpu")
    config = load_config(str(root / "mkdocs.yml"))
    with pytest.raises(PluginError, match="DLBOOK_CACHE_DIR") as info:
        config.plugins["dlbook-gallery"].on_config(config)
    assert ("afile" if where == "file" else "根目录") in str(info.value)


def test_title_card_keeps_a_long_chinese_title_inside_the_card():
    # matplotlib 的 wrap=True 不在汉字之间折行：长标题曾伸出卡片的两边
    import numpy as np

    from dlbook.gallery.build import THUMB_SIZE, _title_card

    card = np.asarray(_title_card("快速训练路径：数据留在设备上、混合精度与编译，再加上 CUDA 图"))
    assert card.shape[:2] == (THUMB_SIZE[1], THUMB_SIZE[0])
    background = card[0, 0]
    edges = np.concatenate([card[:, :6], card[:, -6:]], axis=1)
    assert (edges == background).all(), "文字碰到了卡片的左右边缘"
    assert (card != background).any(), "卡片上应当有文字"


WIDE_SCRIPT = '''\
"""
一宽一窄
========
"""

# %%
import matplotlib.pyplot as plt
from dlbook.plot import show
for width in (14, 5):
    fig, ax = plt.subplots(figsize=(width, 3))
    ax.plot([0, 1], [0, 1])
    show(fig)
'''


def test_figures_command_reports_text_size_on_the_page(tmp_path, capsys):
    from dlbook.gallery import figures

    gallery = _gallery(tmp_path, ch__plot_w=WIDE_SCRIPT, ch__plot_x=BROKEN_SCRIPT)
    assert figures.main([str(gallery / "ch" / "plot_w.py")]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert len(lines) == 2
    # 14 英寸宽的图（裁掉四周空白后约 1150 px）缩到 688 px，10 点的刻度（13.9 px）只剩 8 px 多；5 英寸的图原样显示
    wide, narrow = (float(line.split("页面上 ")[1].split(" px")[0]) for line in lines)
    assert 7 < wide < 9 and "小于 9 px" in lines[0]
    assert narrow == pytest.approx(13.9) and "小于" not in lines[1]

    assert figures.main([str(gallery / "ch" / "missing.py")]) == 2
    assert "找不到示例脚本" in capsys.readouterr().err
    assert figures.main([str(gallery / "ch" / "plot_x.py")]) == 1
    assert "ZeroDivisionError" in capsys.readouterr().err


def test_too_small_names_the_figure_and_its_sizes():
    from dlbook.gallery.figures import too_small
    from dlbook.gallery.render import Image

    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (1168).to_bytes(4, "big") + bytes(4)
    small, fine, unknown = (Image(0, 0, "a_001.png", png, text_px=px) for px in (13.89, 20.0, None))
    problems = too_small([("plot_a", small), ("plot_b", fine), ("plot_c", unknown)])
    assert problems == [
        "plot_a（a_001.png）：1168 px 宽，最小的文字 13.9 px，缩到正文的 688 px 后只有 8.2 px（至少 9 px）"
    ]
