"""dlbook.plot：中文字体不缺字、show() 在三种环境下的行为、常用的图。"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib import font_manager

from dlbook import plot
from dlbook.plot import plot_history, show, show_images, show_matrix
from dlbook.train import History

plt = plot.plt


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _render(fig) -> list[str]:
    """画一遍并存成 PNG，返回期间出现的所有警告。"""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
        fig.savefig(io.BytesIO(), format="png")
    return [str(w.message) for w in caught]


def _chinese_figure():
    fig, ax = plt.subplots()
    ax.plot([-3, -1, 0, 2], [-2.5, 1, -0.5, 3], label="训练损失")
    ax.set_title("卷积神经网络：损失曲线")
    ax.set_xlabel("轮次")
    ax.set_ylabel("损失（对数）")
    ax.set_xticks([-3, 0, 2], ["负三", "零", "二"])
    ax.legend()
    fig.suptitle("图 1：汉字、负号 −1 与 English")
    return fig


# ---------------------------------------------------------------------------
# 字体
# ---------------------------------------------------------------------------


def test_cjk_font_is_configured_with_dejavu_fallback():
    assert plot.CJK_FONT is not None
    families = matplotlib.rcParams["font.sans-serif"]
    assert families[:2] == [plot.CJK_FONT, "DejaVu Sans"]
    assert matplotlib.rcParams["font.family"] == ["sans-serif"]
    properties = font_manager.FontProperties(family=["sans-serif"])
    path = font_manager.findfont(properties, fallback_to_default=False)
    assert any(key in path for key in ("CJK", "Han", "YaHei", "PingFang", "WenQuanYi")), path


def test_chinese_text_and_minus_signs_render_without_warnings():
    fig = _chinese_figure()
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert any("\N{MINUS SIGN}" in label for label in labels)  # 刻度里确实有 Unicode 负号
    messages = _render(fig)
    assert not any("Glyph" in m or "missing from font" in m for m in messages)
    assert messages == []


def test_without_cjk_font_glyphs_would_be_missing():
    # 反证：只用 DejaVu Sans 时同一张图会报缺字，说明上面的检查确实能失败。
    with matplotlib.rc_context({"font.sans-serif": ["DejaVu Sans"]}):
        messages = _render(_chinese_figure())
    assert any("missing from font" in m for m in messages)


def test_configure_fonts_puts_the_cjk_font_first_and_keeps_the_users_others():
    with matplotlib.rc_context(
        {"font.family": ["serif"], "font.sans-serif": ["Arial", "DejaVu Sans", plot.CJK_FONT, "Helvetica"]}
    ):
        assert plot._configure_fonts() == plot.CJK_FONT
        assert matplotlib.rcParams["font.family"] == ["sans-serif"]  # 用户选了衬线体时中文也不缺字
        assert matplotlib.rcParams["font.sans-serif"] == [plot.CJK_FONT, "DejaVu Sans", "Arial", "Helvetica"]


def test_warning_when_no_cjk_font(monkeypatch):
    monkeypatch.setattr(plot, "_find_cjk_font", lambda: None)
    before = list(matplotlib.rcParams["font.sans-serif"])
    with pytest.warns(UserWarning, match="fonts-noto-cjk") as record:
        assert plot._configure_fonts() is None
    assert matplotlib.get_cachedir() in str(record[0].message)
    assert matplotlib.rcParams["font.sans-serif"] == before


def test_pick_cjk_font_preference():
    assert (
        plot._pick_cjk_font({"WenQuanYi Zen Hei", "Noto Sans CJK SC", "DejaVu Sans"})
        == "Noto Sans CJK SC"
    )
    assert plot._pick_cjk_font({"Noto Sans CJK JP", "DejaVu Sans"}) == "Noto Sans CJK JP"
    # 同一套字体里简体中文的字形优先，尽管按字母排 JP 在 SC 前面
    assert plot._pick_cjk_font({"Noto Sans CJK JP", "Noto Sans CJK SC"}) == "Noto Sans CJK SC"
    assert plot._pick_cjk_font({"Noto Sans Mono CJK SC", "DejaVu Sans"}) is None
    assert plot._pick_cjk_font({"DejaVu Sans"}) is None


def test_font_installed_after_matplotlib_cache_is_registered(monkeypatch):
    debian = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
    if not Path(debian).is_file():
        pytest.skip("需要 Debian 软件包 fonts-noto-cjk")
    manager = font_manager.fontManager
    monkeypatch.setattr(manager, "ttflist", [f for f in manager.ttflist if "CJK" not in f.name])
    monkeypatch.setattr(plot, "_CJK_FILES", ("/nonexistent/font.ttc", debian))
    assert plot._find_cjk_font() is not None


# ---------------------------------------------------------------------------
# 后端
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "env", "chosen", "kernel", "expected"),
    [
        ("linux", {}, False, False, True),
        ("linux", {"DISPLAY": ":0"}, False, False, False),
        ("linux", {"WAYLAND_DISPLAY": "wayland-0"}, False, False, False),
        ("linux", {}, True, False, False),
        ("linux", {}, False, True, False),
        ("darwin", {}, False, False, False),
        ("win32", {}, False, False, False),
    ],
)
def test_should_use_agg(monkeypatch, platform, env, chosen, kernel, expected):
    for var in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(plot, "_user_chose_backend", lambda: chosen)
    monkeypatch.setattr(plot, "in_jupyter_kernel", lambda: kernel)
    assert plot._should_use_agg() is expected


def test_mplbackend_counts_as_users_choice(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "pdf")
    assert plot._user_chose_backend()


@pytest.mark.parametrize("backend, chosen", [(None, False), ("pdf", True)])
def test_a_backend_set_in_rcparams_counts_as_users_choice(monkeypatch, backend, chosen):
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.setattr(matplotlib.rcParams, "_get_backend_or_none", lambda: backend, raising=False)
    assert plot._user_chose_backend() is chosen


def test_headless_import_selects_agg_quietly():
    env = {
        k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")
    }
    code = "import dlbook.plot, matplotlib; print(matplotlib.get_backend().lower())"
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "agg"
    assert result.stderr == ""


# ---------------------------------------------------------------------------
# show()
# ---------------------------------------------------------------------------


def test_show_headless_saves_png(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(plot.FIGURES_ENV, str(tmp_path))
    monkeypatch.setattr(sys, "argv", ["gallery/cnn/plot_lenet.py"])
    fig = _chinese_figure()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = show(fig)
        second = show(_chinese_figure())
    assert [str(w.message) for w in caught] == []
    assert first.parent == second.parent == tmp_path
    stem, number = first.stem.rsplit("-", 1)
    assert stem == "plot_lenet" and first.suffix == ".png"
    assert second.name == f"plot_lenet-{int(number) + 1}.png"
    assert first.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert not plt.fignum_exists(fig.number)  # 存完就关掉
    assert str(first) in capsys.readouterr().out


@pytest.mark.parametrize("argv", [[], [""], ["-c"], ["-"]])
def test_show_names_figures_figure_n_when_there_is_no_script(tmp_path, monkeypatch, argv):
    monkeypatch.setenv(plot.FIGURES_ENV, str(tmp_path))
    monkeypatch.setattr(sys, "argv", argv)
    path = show(_chinese_figure())
    stem, number = path.stem.rsplit("-", 1)
    assert stem == "figure" and number.isdigit()


def test_show_uses_current_figure_and_default_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(plot.FIGURES_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    plt.plot([1, 2, 3])
    path = show(name="曲线")
    assert path == Path("figures") / "曲线.png"
    assert (tmp_path / "figures" / "曲线.png").is_file()
    assert plt.get_fignums() == []


def test_show_names_dlbook_figures_when_it_cannot_save(tmp_path, monkeypatch):
    (tmp_path / "afile").write_text("")
    monkeypatch.setenv(plot.FIGURES_ENV, str(tmp_path / "afile"))  # 是文件，不是目录
    with pytest.raises(OSError, match=f"请把环境变量 {plot.FIGURES_ENV} 设成一个可写的目录"):
        show(_chinese_figure())
    assert plt.get_fignums() == []  # 存不成也关掉


def test_show_keeps_dots_in_script_names_and_names(tmp_path, monkeypatch):
    # 读者把脚本另存为 ch6.lenet.py，或给图起名 lr-0.1：点后面的不是图片格式
    monkeypatch.setenv(plot.FIGURES_ENV, str(tmp_path))
    monkeypatch.setattr(sys, "argv", [str(tmp_path / "ch6.lenet.py")])
    path = show(_chinese_figure())
    assert path.name.startswith("ch6.lenet-") and path.suffix == ".png"
    assert path.read_bytes().startswith(b"\x89PNG")
    assert show(_chinese_figure(), name="lr-0.1") == tmp_path / "lr-0.1.png"
    assert (tmp_path / "lr-0.1.png").read_bytes().startswith(b"\x89PNG")
    assert show(_chinese_figure(), name="curve.PDF").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("name", ["", ".", ".."])
def test_show_rejects_names_that_are_not_file_names(tmp_path, monkeypatch, name):
    monkeypatch.setenv(plot.FIGURES_ENV, str(tmp_path))
    with pytest.raises(ValueError, match="只能是文件名"):
        show(_chinese_figure(), name=name)
    plt.close("all")


def test_show_name_with_suffix(tmp_path, monkeypatch):
    monkeypatch.setenv(plot.FIGURES_ENV, str(tmp_path / "sub"))
    path = show(_chinese_figure(), name="kernel.svg")
    assert path == tmp_path / "sub" / "kernel.svg"
    assert b"<svg" in path.read_bytes()


def test_show_rejects_directories_in_name(tmp_path, monkeypatch):
    monkeypatch.setenv(plot.FIGURES_ENV, str(tmp_path))
    with pytest.raises(ValueError, match="DLBOOK_FIGURES"):
        show(_chinese_figure(), name="../escape.png")


def test_show_in_jupyter_kernel_displays_and_closes(tmp_path, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(plot, "in_jupyter_kernel", lambda: True)
    monkeypatch.setattr(IPython.display, "display", lambda obj, metadata=None: shown.append((obj, metadata)))
    monkeypatch.setenv(plot.FIGURES_ENV, str(tmp_path))
    fig = _chinese_figure()
    alt = plot.describe_figure(fig)
    assert alt
    text_px = plot.smallest_text_px(fig)
    assert text_px == pytest.approx(10 * fig.dpi / 72, abs=0.01)  # 刻度与图例：matplotlib 默认的 10 点
    assert show(fig) is None
    assert shown == [(fig, {"image/png": {"alt": alt, "smallest_text_px": text_px}})]
    assert not plt.fignum_exists(fig.number)
    assert list(tmp_path.iterdir()) == []
    blank = plt.figure()
    show(blank)  # 图里没有文字：不附元数据，构建时用默认的替代文字
    assert shown[-1] == (blank, None)


def test_smallest_text_counts_only_text_that_is_drawn():
    fig, (a, b) = plt.subplots(1, 2, dpi=100)
    a.set_title("大标题", fontsize=20)
    a.tick_params(labelsize=12)
    a.set_xlabel("横轴", fontsize=14)
    b.set_axis_off()  # 隐藏的坐标轴：它的 10 点刻度不算
    b.text(0.5, 0.5, "", fontsize=3)  # 空字符串不算
    assert plot.smallest_text_px(fig) == pytest.approx(12 * 100 / 72, abs=0.01)
    b.text(0.5, 0.5, "注释", fontsize=6)
    assert plot.smallest_text_px(fig) == pytest.approx(6 * 100 / 72, abs=0.01)
    matplotlib.rcParams["savefig.dpi"] = 200  # 存图的 dpi 另行指定时按它算
    try:
        assert plot.smallest_text_px(fig) == pytest.approx(6 * 200 / 72, abs=0.01)
    finally:
        matplotlib.rcParams["savefig.dpi"] = "figure"
    plt.close(fig)
    empty = plt.figure()
    assert plot.smallest_text_px(empty) is None
    plt.close(empty)


def test_describe_figure_uses_titles_then_axis_labels():
    fig, axes = plt.subplots(1, 3)
    axes[0].set_title("训练损失")
    axes[1].set(xlabel="轮次", ylabel="准确率")
    axes[2].set_title("左", loc="left")
    axes[2].set_title("右", loc="right")
    assert plot.describe_figure(fig) == "训练损失；纵轴准确率、横轴轮次；左 右"
    fig.suptitle("三张图\n两行")
    assert plot.describe_figure(fig).startswith("三张图 两行；")  # 换行变成空格
    assert len(plot.describe_figure(fig, limit=5)) == 5 and plot.describe_figure(fig, limit=5).endswith("…")
    fig.suptitle("长" * 300)
    assert len(plot.describe_figure(fig)) == 200  # 默认上限
    plt.close(fig)
    empty = plt.figure()
    empty.add_subplot()
    assert plot.describe_figure(empty) == ""
    plt.close(empty)


def test_show_with_gui_backend_calls_plt_show(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(matplotlib, "get_backend", lambda: "TkAgg")
    monkeypatch.setattr(plt, "show", lambda: calls.append("show"))
    monkeypatch.setenv(plot.FIGURES_ENV, str(tmp_path))
    assert show(_chinese_figure()) is None
    assert calls == ["show"] and list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------
# 常用的图
# ---------------------------------------------------------------------------


def _history(with_test: bool = True) -> History:
    return History(
        epoch=[1, 2, 3], train_loss=[1.2, 0.7, 0.5], train_acc=[0.55, 0.75, 0.8],
        test_acc=[0.5, 0.7, 0.78] if with_test else [],
        examples_per_sec=[1e4] * 3, seconds=[1.0] * 3,
    )  # fmt: skip


def test_plot_history():
    fig = plot_history(_history(), title="LeNet 在 Fashion-MNIST 上")
    loss_ax, acc_ax = fig.axes
    assert [line.get_label() for line in loss_ax.lines] == ["训练损失"]
    assert [line.get_label() for line in acc_ax.lines] == ["训练准确率", "测试准确率"]
    assert list(acc_ax.lines[1].get_ydata()) == [0.5, 0.7, 0.78]
    assert loss_ax.get_xlabel() == acc_ax.get_xlabel() == "轮次"
    assert fig.get_suptitle() == "LeNet 在 Fashion-MNIST 上"
    assert _render(fig) == []
    ticks = loss_ax.get_xticks()
    assert np.allclose(ticks, np.round(ticks))  # 轮次只有整数刻度


def test_plot_history_has_legends_and_grids():
    fig = plot_history(_history())
    for ax, labels in zip(fig.axes, (["训练损失"], ["训练准确率", "测试准确率"])):
        assert [t.get_text() for t in ax.get_legend().get_texts()] == labels
        assert all(line.get_visible() for line in ax.get_xgridlines() + ax.get_ygridlines())


def test_plot_history_flat_loss_has_no_offset_ticks():
    # 没学起来的网络损失停在 ln 10 附近：刻度应直接写数，不写成偏移量“+2.302”加上 1e-5 量级的小数
    flat = History(epoch=[1, 2, 3], train_loss=[2.30261, 2.30259, 2.30252], train_acc=[0.1, 0.1, 0.11])
    fig = plot_history(flat)
    fig.canvas.draw()
    loss_ax = fig.axes[0]
    assert loss_ax.yaxis.get_offset_text().get_text() == ""
    assert all(t.get_text().startswith("2.302") for t in loss_ax.get_yticklabels())
    plt.close(fig)


def test_plot_history_without_test_accuracy():
    fig = plot_history(_history(with_test=False))
    assert [line.get_label() for line in fig.axes[1].lines] == ["训练准确率"]


def test_plot_history_empty():
    with pytest.raises(ValueError, match="空"):
        plot_history(History())


def test_show_images_grid_titles_and_size():
    images = torch.rand(5, 1, 28, 28)
    fig = show_images(images, nrows=2, ncols=3, titles=["T恤", "裤子", "套衫"], scale=2.0)
    assert tuple(fig.get_size_inches()) == (6.0, 4.0)
    assert [len(ax.images) for ax in fig.axes] == [1, 1, 1, 1, 1, 0]
    assert [ax.get_title() for ax in fig.axes] == ["T恤", "裤子", "套衫", "", "", ""]
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), images[0, 0].numpy())
    assert not fig.axes[0].axison
    assert _render(fig) == []


def test_show_images_layouts():
    rgb = show_images(torch.rand(2, 3, 8, 8), nrows=1, ncols=2)
    assert rgb.axes[0].images[0].get_array().shape == (8, 8, 3)
    listed = show_images([np.zeros((5, 6)), np.ones((5, 6, 3))], nrows=1, ncols=2)
    assert [ax.images[0].get_array().shape for ax in listed.axes] == [(5, 6), (5, 6, 3)]
    truncated = show_images(torch.rand(10, 4, 4), nrows=1, ncols=3)
    assert sum(len(ax.images) for ax in truncated.axes) == 3
    assert tuple(truncated.get_size_inches()) == (4.5, 1.5)  # 默认每张 1.5 英寸见方


@pytest.mark.parametrize(
    "shape, shown",
    [
        ((5, 6), (5, 6)),
        ((1, 5, 6), (5, 6)),
        ((3, 5, 6), (5, 6, 3)),
        ((4, 5, 6), (5, 6, 4)),  # RGBA
        ((5, 6, 1), (5, 6)),
        ((3, 4, 1), (3, 4)),  # 第一维像通道数，最后一维也是：按 (H, W, C) 读
        ((4, 4, 3), (4, 4, 3)),
        ((3, 4, 6), (4, 6, 3)),  # 看的是最后一维，不是中间那维
        ((3, 5, 4), (3, 5, 4)),
        ((1, 4, 4), (4, 4)),  # 单通道：宽是 4 也不当成 RGBA
        ((1, 5, 3), (5, 3)),
    ],
)
def test_show_images_reads_each_layout(shape, shown):
    image = (np.arange(np.prod(shape)) / np.prod(shape)).astype(np.float32).reshape(shape)  # RGB 要在 [0, 1] 里
    fig = show_images([image], nrows=1, ncols=1)
    array = fig.axes[0].images[0].get_array()
    assert array.shape == shown
    # 逐个像素核对，而不只是像素的集合：把 (C, H, W) 错当成 reshape 而不是换轴，集合不变，排列就乱了
    candidates = [image, np.moveaxis(image, 0, -1)]
    if shape[0] == 1:
        candidates.append(image[0])
    if shape[-1] == 1:
        candidates.append(image[..., 0])
    (expected,) = [c for c in candidates if c.shape == shown]
    np.testing.assert_array_equal(array, expected)
    assert _render(fig) == []


def test_show_images_takes_tensors_that_need_grad_or_are_bfloat16():
    grad = torch.rand(2, 1, 4, 4, requires_grad=True)
    fig = show_images(grad * 2, nrows=1, ncols=2)
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), (grad[1, 0] * 2).detach().numpy())
    half = show_images(torch.rand(2, 3, 4, 4, dtype=torch.bfloat16), nrows=1, ncols=2)
    assert half.axes[0].images[0].get_array().dtype == np.float32
    assert len(show_matrix(torch.eye(2, requires_grad=True)).axes[0].texts) == 4


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 5, 6), (5, 6, 2), (7,)])
def test_show_images_bad_shape(shape):
    with pytest.raises(ValueError, match=rf"却得到形状 \({shape[0]},"):
        show_images([np.zeros(shape)], nrows=1, ncols=1)


def test_show_matrix_annotations():
    fig = show_matrix(torch.tensor([[0, 1, 2], [-3, 4, 5]]), title="特征图")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["0", "1", "2", "-3", "4", "5"]
    colors = {t.get_text(): t.get_color() for t in ax.texts}
    assert colors["-3"] == "white" and colors["5"] == "black"  # 深色格子用白字
    assert ax.get_title() == "特征图"
    assert len(fig.axes) == 2  # 热力图 + 颜色条
    assert _render(fig) == []


def test_show_matrix_floats_and_squeezing():
    fig = show_matrix(np.array([[[[0.25, -0.5], [-0.0, 1.125]]]]))
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.25", "-0.50", "0.00", "1.12"]


def test_show_matrix_keeps_a_single_row():
    for matrix in (torch.arange(5.0).reshape(1, 5), torch.arange(5.0).reshape(1, 1, 1, 5)):
        assert [t.get_text() for t in show_matrix(matrix).axes[0].texts] == ["0", "1", "2", "3", "4"]


def test_show_matrix_ticks_are_whole_indices():
    fig = show_matrix(torch.rand(2, 2))  # 不设刻度时两个轴上都有 0.5 这样的刻度
    fig.canvas.draw()
    ax = fig.axes[0]
    for ticks in (ax.get_xticks(), ax.get_yticks()):
        assert np.allclose(ticks, np.round(ticks)), ticks


def test_show_matrix_without_annotations():
    assert len(show_matrix(torch.eye(3), annotate=False).axes[0].texts) == 0
    assert len(show_matrix(torch.rand(20, 20)).axes[0].texts) == 400  # 400 个格子还标
    assert len(show_matrix(torch.rand(20, 21)).axes[0].texts) == 0  # 再多就不标


def test_show_matrix_bad_shape():
    with pytest.raises(ValueError, match="二维"):
        show_matrix(torch.zeros(2, 3, 3))


def test_show_images_keeps_integer_pixels():
    # 0–255 的 uint8 图（例如 torchvision.io.read_image 读出的）若转成浮点，imshow 会把它截到 [0, 1]，一片白
    image = torch.tensor([[[0, 100, 200]] * 2] * 3, dtype=torch.uint8)  # (3, 2, 3)
    array = show_images([image], nrows=1, ncols=1).axes[0].images[0].get_array()
    assert array.dtype == np.uint8 and array.max() == 200
    assert _render(show_images([image], nrows=1, ncols=1)) == []
