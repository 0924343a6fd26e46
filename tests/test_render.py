"""dlbook.gallery.render：执行过的笔记本 → 嵌进章节的 Markdown。

这里用手写的笔记本（不启动内核），逐项核对每种输出怎么渲染；真的执行示例再渲染的测试在
tests/test_gallery_build.py。
"""

from __future__ import annotations

import base64
import dataclasses

import pytest
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from dlbook.gallery.render import (
    DEFAULT_ALT,
    Image,
    clean_text,
    coalesce_streams,
    extract_images,
    notebook_to_markdown,
)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(40))  # 字节内容无所谓，只要 base64 解得回来
JPEG = b"\xff\xd8\xff" + bytes(20)


def _png_output(data: bytes = PNG, *, meta: dict | None = None, kind: str = "display_data", **extra):
    output = new_output(kind, data={"image/png": base64.b64encode(data).decode(), "text/plain": "<Figure>"},
                        **extra)
    if meta is not None:
        output.metadata = {"image/png": meta}
    return output


def _render(*cells, header: str = "", shift: int = 1, src=lambda im: f"img/{im.name}") -> str:
    nb = new_notebook(cells=list(cells))
    return notebook_to_markdown(nb, images=extract_images(nb, stem="s"), image_src=src, header=header,
                                heading_shift=shift)


# --- clean_text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x1b[?25l进度\x1b[?25h\n", "进度\n"),  # 光标显隐的控制序列
        ("\x1b[1;32m绿\x1b[0m", "绿"),
        ("1/3\r2/3\r3/3", "3/3"),  # 只留最后一次刷新
        ("a\rb\nc\rd\n", "b\nd\n"),  # 每行各自处理
        ("没有控制字符\n第二行", "没有控制字符\n第二行"),
        ("结尾回车\r", ""),  # 回车之后什么也没有：这一行是空的
    ],
)
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean


# --- coalesce_streams ---------------------------------------------------------------------------


def test_coalesce_merges_only_neighbours_of_the_same_stream():
    figure = _png_output()
    cell = new_code_cell("", outputs=[
        new_output("stream", name="stdout", text=["a\n", "b\n"]),  # 文本也可以是行的列表
        new_output("stream", name="stdout", text="c\n"),
        figure,
        new_output("stream", name="stdout", text="d\n"),
        new_output("stream", name="stderr", text="e\n"),
        new_output("stream", name="stderr", text="f\n"),
        new_output("stream", name="stdout", text="g\n"),
    ])
    nb = coalesce_streams(new_notebook(cells=[cell, new_markdown_cell("文字")]))
    outputs = nb.cells[0].outputs
    assert [(o.output_type, o.get("name"), o.get("text")) for o in outputs] == [
        ("stream", "stdout", "a\nb\nc\n"),
        ("display_data", None, None),
        ("stream", "stdout", "d\n"),
        ("stream", "stderr", "e\nf\n"),
        ("stream", "stdout", "g\n"),
    ]
    assert outputs[1] is figure
    assert "outputs" not in nb.cells[1]  # Markdown 单元格不多出 outputs


def test_coalesce_does_not_merge_two_images():
    cell = new_code_cell("", outputs=[_png_output(), _png_output()])
    assert len(coalesce_streams(new_notebook(cells=[cell])).cells[0].outputs) == 2


# --- extract_images -----------------------------------------------------------------------------


def test_extract_images_numbers_them_in_order_over_cells_with_their_positions():
    svg = "<svg xmlns='http://www.w3.org/2000/svg'>中</svg>"
    nb = new_notebook(cells=[
        new_code_cell("", outputs=[new_output("stream", name="stdout", text="x\n"), _png_output()]),
        new_markdown_cell("文字"),
        new_code_cell("", outputs=[
            new_output("display_data", data={"image/svg+xml": [svg[:10], svg[10:]]}),  # 行的列表
            new_output("execute_result", data={"image/jpeg": base64.b64encode(JPEG).decode()},
                       execution_count=1),
            new_output("display_data", data={"text/plain": "不是图"}),
        ]),
    ])
    images = extract_images(nb, stem="plot_x")
    assert [(im.cell, im.output, im.name, im.mime) for im in images] == [
        (0, 1, "plot_x_001.png", "image/png"),
        (2, 0, "plot_x_002.svg", "image/svg+xml"),
        (2, 1, "plot_x_003.jpg", "image/jpeg"),
    ]
    assert images[0].data == PNG  # base64 解码后的字节
    assert images[1].data == svg.encode("utf-8")  # SVG 是文本，不解码
    assert images[2].data == JPEG
    assert extract_images(new_notebook(cells=[new_markdown_cell("只有文字")]), stem="s") == []


def test_a_png_beside_other_image_types_is_the_one_taken():
    both = new_output("display_data", data={"image/jpeg": base64.b64encode(JPEG).decode(),
                                            "image/png": base64.b64encode(PNG).decode()})
    (image,) = extract_images(new_notebook(cells=[new_code_cell("", outputs=[both])]), stem="s")
    assert (image.mime, image.name, image.data) == ("image/png", "s_001.png", PNG)


@pytest.mark.parametrize(
    ("meta", "alt", "text_px"),
    [
        ({"alt": "损失\n  与  准确率", "smallest_text_px": 13.89}, "损失 与 准确率", 13.89),  # 空白并成一个空格
        ({"alt": "  ", "smallest_text_px": 0}, DEFAULT_ALT, None),  # 空的描述、0 字号都当作不知道
        ({"alt": 3, "smallest_text_px": -2.0}, DEFAULT_ALT, None),
        ({"smallest_text_px": "12"}, DEFAULT_ALT, None),  # 不是数字
        ({"smallest_text_px": 12}, DEFAULT_ALT, 12.0),  # 整数也行，变成浮点数
        ({"smallest_text_px": 0.5}, DEFAULT_ALT, 0.5),  # 小于 1 px 也是个字号
        (None, DEFAULT_ALT, None),
    ],
)
def test_alt_text_and_text_size_come_from_the_output_metadata(meta, alt, text_px):
    cell = new_code_cell("", outputs=[_png_output(meta=meta)])
    (image,) = extract_images(new_notebook(cells=[cell]), stem="s")
    assert image.alt == alt
    assert image.text_px == text_px
    assert image.text_px is None or isinstance(image.text_px, float)


def test_metadata_of_another_mime_type_is_not_used():
    output = _png_output()
    output.metadata = {"image/jpeg": {"alt": "别的图", "smallest_text_px": 10}}
    (image,) = extract_images(new_notebook(cells=[new_code_cell("", outputs=[output])]), stem="s")
    assert (image.alt, image.text_px) == (DEFAULT_ALT, None)


# --- notebook_to_markdown -----------------------------------------------------------------------


def test_title_header_and_shifted_headings():
    md = _render(
        new_markdown_cell("# 卷积  \n\n一段说明。\n\n## 第一节\n\n##### 第五级\n\n###### 第六级不动"),
        new_code_cell("# 代码里的注释不是标题\nx = 1"),
        new_markdown_cell("# 后面的一级标题\n\n#没有空格不是标题"),
        header="运行信息",
    )
    assert md == (
        "## 示例：卷积\n\n运行信息\n\n一段说明。\n\n### 第一节\n\n###### 第五级\n\n###### 第六级不动\n\n"
        "```python\n# 代码里的注释不是标题\nx = 1\n```\n\n"
        "## 后面的一级标题\n\n#没有空格不是标题\n"
    )


def test_headings_shift_one_level_by_default():
    nb = new_notebook(cells=[new_markdown_cell("# 标题\n## 小节")])
    assert notebook_to_markdown(nb, images=[], image_src=str) == "## 示例：标题\n\n### 小节\n"


def test_images_are_frozen():
    image = Image(0, 0, "s_001.png", PNG)
    with pytest.raises(dataclasses.FrozenInstanceError):
        image.alt = "改"  # 渲染和写盘共用同一个对象，不能被改


def test_heading_shift_two_and_no_header():
    md = _render(new_markdown_cell("# 标题\n## 小节"), shift=2)
    assert md == "### 示例：标题\n\n#### 小节\n"


def test_a_first_cell_without_a_title_is_kept_as_it_is():
    md = _render(new_markdown_cell("说明在前\n\n# 标题在后"), header="不会出现")
    assert md == "说明在前\n\n## 标题在后\n"
    assert _render(new_markdown_cell("# 只有标题"), header="H") == "## 示例：只有标题\n\nH\n"


def test_code_fences_outgrow_backticks_in_the_code_and_outputs():
    md = _render(new_code_cell('s = """\n```\n"""  ', outputs=[
        new_output("stream", name="stdout", text="````\n"),
    ]))
    assert md == '````python\ns = """\n```\n"""\n````\n\n`````text\n````\n`````\n'


def test_each_kind_of_output():
    cell = new_code_cell("f()", outputs=[
        new_output("stream", name="stdout", text="\x1b[32m完成\x1b[0m\n10%\r100%\n\n"),
        new_output("stream", name="stdout", text=" \n\n"),  # 只有空白：不渲染
        new_output("display_data", data={"text/html": ["<table>", "</table>"], "text/plain": "表"}),
        new_output("display_data", data={"text/markdown": "**粗体**", "text/plain": "粗体"}),
        new_output("execute_result", data={"text/plain": "\x1b[1m42\x1b[0m"}, execution_count=1),
        new_output("display_data", data={"application/json": {"a": 1}}),  # 不认识的类型：不渲染
        new_output("error", ename="ValueError", evalue="坏",
                   traceback=["\x1b[31mTraceback\x1b[0m", "ValueError: 坏"]),
    ])
    nb = new_notebook(cells=[cell])
    nb.cells[0].outputs.append(NotebookNode(output_type="unknown"))  # 不合规范的输出（构造时会被拒绝）：不渲染
    md = notebook_to_markdown(nb, images=[], image_src=str)
    assert md.split("\n\n") == [
        "```python\nf()\n```",
        "```text\n完成\n100%\n```",
        '<div class="dlbook-output" markdown="0">\n<table></table>\n</div>',
        "**粗体**",
        "```text\n42\n```",
        "```text\nTraceback\nValueError: 坏\n```\n",
    ]


def test_images_link_their_files_with_escaped_alt_text():
    seen: list[Image] = []

    def src(image: Image) -> str:
        seen.append(image)
        return f"../images/{image.name}"

    md = _render(
        new_code_cell("show()", outputs=[
            new_output("stream", name="stdout", text="前\n"),
            _png_output(meta={"alt": "x[1] \\ y"}),
        ]),
        new_code_cell("fig", outputs=[_png_output(kind="execute_result", execution_count=2)]),
        src=src,
    )
    assert [im.name for im in seen] == ["s_001.png", "s_002.png"]
    assert md.rstrip("\n").split("\n\n") == [
        "```python\nshow()\n```",
        "```text\n前\n```",
        '[![x\\[1\\] \\\\ y](../images/s_001.png)](../images/s_001.png "查看原图"){ .dlbook-figure-link }',
        "```python\nfig\n```",
        f'[![{DEFAULT_ALT}](../images/s_002.png)](../images/s_002.png "查看原图"){{ .dlbook-figure-link }}',
    ]
    assert "<Figure>" not in md  # 图的 text/plain 不另外渲染


def test_images_not_passed_in_render_as_their_text():
    nb = new_notebook(cells=[new_code_cell("fig", outputs=[_png_output()])])
    md = notebook_to_markdown(nb, images=[], image_src=lambda im: pytest.fail("不该要图片地址"))
    assert md == "```python\nfig\n```\n\n```text\n<Figure>\n```\n"
