"""画图：中文字体、在任何环境下都能“显示”的 :func:`show`，以及几个常用的图。

导入本模块时会：

- 找一款中文字体（Noto Sans CJK、思源黑体、微软雅黑、苹方或文泉驿）设为首选，
  DejaVu Sans 作为后备，负号、拉丁字母和数学符号总有字形；找不到中文字体时给出警告，说明如何安装；
- 在没有显示器的 Linux 上（且不在 Jupyter 内核里、用户也没用 ``MPLBACKEND`` 等指定后端时）
  改用 Agg 后端。

同一个脚本在三种环境中都能用 :func:`show`：Jupyter 内核里直接显示，有图形界面时弹出窗口，
无界面时把 PNG 存进 ``$DLBOOK_FIGURES``（默认 ``./figures``）。
"""

from __future__ import annotations

import itertools
import os
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np

from dlbook._env import in_jupyter_kernel

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from dlbook.train import History

__all__ = ["describe_figure", "plot_history", "show", "show_images", "show_matrix", "smallest_text_px"]

FIGURES_ENV = "DLBOOK_FIGURES"

_CJK_PREFERRED = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Microsoft YaHei",
    "PingFang SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
)
_CJK_PREFIXES = ("Noto Sans CJK", "Source Han Sans", "Microsoft YaHei", "PingFang", "WenQuanYi")
# 字体装在 matplotlib 建好字体缓存之后时，缓存里没有它：按常见路径直接注册。
_CJK_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian/Ubuntu fonts-noto-cjk
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",  # Fedora
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Arch
    "/System/Library/Fonts/PingFang.ttc",  # macOS
    "C:/Windows/Fonts/msyh.ttc",  # Windows
)
_NO_FONT_MESSAGE = (
    "matplotlib 找不到中文字体，图中的汉字会显示成方框。请安装一款中文字体，例如："
    "Debian/Ubuntu 执行 `sudo apt install fonts-noto-cjk`，Fedora 执行 "
    "`sudo dnf install google-noto-sans-cjk-fonts`，conda 执行 `conda install -c conda-forge "
    "font-noto-cjk`；装好后删除 matplotlib 的字体缓存目录 {cachedir} 再运行。"
)
_NON_INTERACTIVE = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}
_MAX_ANNOTATED = 400  # show_matrix 最多标注这么多个格子，再多就看不清了
_figure_numbers = itertools.count(1)


# ---------------------------------------------------------------------------
# 后端与字体（导入时执行一次）
# ---------------------------------------------------------------------------


def _user_chose_backend() -> bool:
    if os.environ.get("MPLBACKEND"):
        return True
    getter = getattr(matplotlib.rcParams, "_get_backend_or_none", None)
    return getter is not None and getter() is not None


def _should_use_agg() -> bool:
    """没有显示器、不在 Jupyter 内核里、用户也没指定后端时返回 ``True``。"""
    if _user_chose_backend() or in_jupyter_kernel():
        return False
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return False  # macOS 与 Windows 总有图形界面


def _pick_cjk_font(names: set[str]) -> str | None:
    for family in _CJK_PREFERRED:
        if family in names:
            return family
    for family in sorted(names):
        if family.startswith(_CJK_PREFIXES):
            return family
    return None


def _find_cjk_font() -> str | None:
    from matplotlib import font_manager

    manager = font_manager.fontManager
    family = _pick_cjk_font({f.name for f in manager.ttflist})
    if family is None:
        for path in _CJK_FILES:
            if Path(path).is_file():
                try:
                    manager.addfont(path)
                except (OSError, RuntimeError):  # 读不了的字体文件：跳过
                    continue
        family = _pick_cjk_font({f.name for f in manager.ttflist})
    return family


def _configure_fonts() -> str | None:
    """把中文字体设为首选、DejaVu Sans 作后备；返回所选字体名，找不到时警告并返回 ``None``。"""
    family = _find_cjk_font()
    if family is None:
        warnings.warn(_NO_FONT_MESSAGE.format(cachedir=matplotlib.get_cachedir()), stacklevel=2)
        return None
    others = [f for f in matplotlib.rcParams["font.sans-serif"] if f not in (family, "DejaVu Sans")]
    matplotlib.rcParams["font.family"] = ["sans-serif"]
    matplotlib.rcParams["font.sans-serif"] = [family, "DejaVu Sans", *others]
    return family


if _should_use_agg():
    matplotlib.use("Agg")
CJK_FONT: str | None = _configure_fonts()

import matplotlib.pyplot as plt  # noqa: E402  在选定后端之后导入
from matplotlib.backend_bases import FigureCanvasBase  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

# ---------------------------------------------------------------------------
# 显示
# ---------------------------------------------------------------------------


def _figure_path(name: str | None) -> Path:
    """无界面时存图的路径。后缀是 matplotlib 能写的格式时照用，否则加上 ``.png``：
    脚本名或 ``name`` 里的点（``ch6.lenet.py``、``lr-0.1``）不是格式。"""
    directory = Path(os.environ.get(FIGURES_ENV) or "figures")
    if name is None:
        script = sys.argv[0] if sys.argv and sys.argv[0] not in ("", "-c", "-") else "figure"
        return directory / f"{Path(script).stem}-{next(_figure_numbers)}.png"
    if name in ("", ".", "..") or Path(name).name != name:
        raise ValueError(
            f"name 只能是文件名，不能含目录：{name!r}（目录用环境变量 {FIGURES_ENV} 指定）"
        )
    suffix = Path(name).suffix.removeprefix(".").lower()
    return directory / (name if suffix in FigureCanvasBase.get_supported_filetypes() else f"{name}.png")


_TEX_SYMBOLS = {
    "cap": "∩", "cup": "∪", "|": "‖", "cdot": "·", "times": "×", "le": "≤", "leq": "≤", "ge": "≥",
    "geq": "≥", "approx": "≈", "infty": "∞", "nabla": "∇", "partial": "∂", "sum": "Σ", "to": "→",
    "alpha": "α", "beta": "β", "gamma": "γ", "epsilon": "ε", "eta": "η", "theta": "θ", "lambda": "λ",
    "mu": "μ", "sigma": "σ", "tau": "τ", "phi": "φ", "omega": "ω",
}
_TEX_SILENT = frozenset({"mathbf", "mathrm", "mathit", "mathcal", "boldsymbol", "text", "operatorname", "left", "right"})
_TEX_COMMAND = re.compile(r"\\([A-Za-z]+) ?|\\(.)")  # 命令名后的一个空格只是分隔符
_TEX_MATH = re.compile(r"\$([^$]*)\$")


def _plain(label: str) -> str:
    r"""图中文字的纯文本：``$…$`` 里的 mathtext 换成字符，多余的空白合并。

    >>> _plain(r"$E\,\|\mathbf{g}_b-\mathbf{g}\|^2$ 与批量  大小")
    'E‖g_b-g‖^2 与批量 大小'
    """

    def command(c: re.Match[str]) -> str:
        name = c[1] or c[2]
        if name in _TEX_SYMBOLS:
            return _TEX_SYMBOLS[name]
        return "" if name in _TEX_SILENT or name in ",;!: " else name  # 字体命令与间距不出声；其余留下名字

    def math(m: re.Match[str]) -> str:
        return _TEX_COMMAND.sub(command, m[1]).replace("{", "").replace("}", "")

    return " ".join(_TEX_MATH.sub(math, label).split())


def describe_figure(fig: Figure, *, limit: int = 200) -> str:
    """用图里的文字描述这张图：总标题，再是每个子图的标题（没有标题时用坐标轴的名字）。

    网页上图片的替代文字（``alt``）用它：读屏软件读出来，图片没能加载时显示出来。
    图里什么文字也没有时返回空字符串。

    >>> fig, (a, b) = plt.subplots(1, 2)
    >>> _ = fig.suptitle("LeNet")
    >>> _ = a.set_title("训练损失")
    >>> _ = b.set(xlabel="轮次", ylabel="准确率")
    >>> describe_figure(fig)
    'LeNet；训练损失；纵轴准确率、横轴轮次'
    >>> plt.close(fig)
    """
    if hasattr(fig, "get_suptitle"):
        suptitle = fig.get_suptitle()
    else:  # matplotlib 3.7 还没有 get_suptitle
        suptitle = fig._suptitle.get_text() if fig._suptitle is not None else ""
    parts = [suptitle]
    for ax in fig.axes:
        title = " ".join(t for t in (ax.get_title(loc) for loc in ("left", "center", "right")) if t.strip())
        if not title:
            labels = [f"{axis}{text}" for axis, text in (("纵轴", ax.get_ylabel()), ("横轴", ax.get_xlabel())) if text]
            title = "、".join(labels)
        parts.append(title)
    parts = [_plain(p) for p in parts]
    text = "；".join(dict.fromkeys(p for p in parts if p))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _skip(*args: Any, **kwargs: Any) -> None:
    return None


def smallest_text_px(fig: Figure) -> float | None:
    """图里画出来的最小文字的字号，以存成 PNG 后的像素计（字号的点数 × dpi / 72）。

    把图画一遍，记下真正画出的每段文字（隐藏的坐标轴、空字符串不算）。网页把宽图缩到正文的宽度，
    文字跟着缩小：构建时用它检查每张图在页面上的文字不小于可读的大小（见 ``tests/test_site.py``）。
    图里没有文字时返回 ``None``。

    >>> fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
    >>> _ = ax.set_title("标题", fontsize=14); _ = ax.tick_params(labelsize=7.2)
    >>> smallest_text_px(fig)
    10.0
    >>> ax.set_axis_off(); smallest_text_px(fig)
    19.44
    >>> plt.close(fig)
    """
    from matplotlib.backends.backend_agg import RendererAgg

    sizes: list[float] = []

    class _Recorder(RendererAgg):
        """只记下每段文字的字号：文字、线条、图像都不真的画（文字的位置和大小照常排出来）。"""

        def __init__(self, width: float, height: float, dpi: float) -> None:
            super().__init__(width, height, dpi)
            for method in ("draw_gouraud_triangles", "draw_image", "draw_markers", "draw_path_collection",
                           "draw_quad_mesh"):
                setattr(self, method, _skip)

        draw_path = _skip

        def draw_text(self, gc, x, y, s, prop, *args, **kwargs):  # 普通文字与 mathtext
            if s.strip():
                sizes.append(prop.get_size_in_points())

        draw_tex = draw_text  # usetex：同样只记字号

    dpi = matplotlib.rcParams["savefig.dpi"]
    dpi = fig.dpi if dpi == "figure" else float(dpi)
    fig.draw(_Recorder(fig.bbox.width, fig.bbox.height, fig.dpi))
    return round(min(sizes) * dpi / 72, 2) if sizes else None


def show(fig: Figure | None = None, *, name: str | None = None) -> Path | None:
    """显示图，并关闭它，以免图越积越多。

    - 在 Jupyter 内核里（包括构建网站时执行的笔记本）：用 IPython 显示，返回 ``None``；
    - 图形界面后端：``plt.show()``，返回 ``None``；
    - 无界面（Agg 等）：存成 ``$DLBOOK_FIGURES/<脚本名>-<序号>.png``（默认目录 ``./figures``，
      或用 ``name`` 指定文件名），打印并返回路径。

    Args:
        fig: 要显示的图，默认当前图。
        name: 无界面时保存的文件名（不含目录；没有后缀时加 ``.png``）。
    """
    fig = fig if fig is not None else plt.gcf()
    if in_jupyter_kernel():
        from IPython.display import display

        # 构建网站时：描述成为图片的 alt，最小字号用来检查缩进正文后是否还看得清（dlbook.gallery.render）
        meta: dict[str, Any] = {"alt": describe_figure(fig), "smallest_text_px": smallest_text_px(fig)}
        meta = {k: v for k, v in meta.items() if v}
        display(fig, metadata={"image/png": meta} if meta else None)
        plt.close(fig)
        return None
    if matplotlib.get_backend().lower() not in _NON_INTERACTIVE:
        plt.show()
        return None
    path = _figure_path(name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, bbox_inches="tight")
    except OSError as exc:
        raise OSError(
            f"无法把图存到 {path}：{exc}。请把环境变量 {FIGURES_ENV} 设成一个可写的目录"
        ) from exc
    finally:
        plt.close(fig)  # 存不成也关掉：不让图越积越多
    print(f"图已保存到 {path}")
    return path


# ---------------------------------------------------------------------------
# 常用的图
# ---------------------------------------------------------------------------


def plot_history(history: History, *, title: str | None = None) -> Figure:
    """画出训练记录：左边是训练损失，右边是训练与测试准确率，横轴为轮次。

    >>> from dlbook.train import History
    >>> h = History(epoch=[1, 2], train_loss=[0.9, 0.5],
    ...             train_acc=[0.6, 0.8], test_acc=[0.6, 0.7])
    >>> fig = plot_history(h, title="LeNet")
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['损失', '准确率']
    >>> plt.close(fig)
    """
    if not history.epoch:
        raise ValueError("History 是空的：至少训练一轮后才能画图")
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(8, 3.2), layout="constrained")
    ax_loss.plot(history.epoch, history.train_loss, marker="o", label="训练损失")
    ax_loss.set(xlabel="轮次", ylabel="损失")
    ax_acc.plot(history.epoch, history.train_acc, marker="o", label="训练准确率")
    if history.test_acc:
        epochs = history.epoch[: len(history.test_acc)]
        ax_acc.plot(epochs, history.test_acc, marker="s", linestyle="--", label="测试准确率")
    ax_acc.set(xlabel="轮次", ylabel="准确率")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        # 损失几乎不变时（没学起来的网络停在 ln 10 ≈ 2.303），默认的刻度写成偏移量“+2.302”加上小数点后几位
        ax.ticklabel_format(axis="y", useOffset=False)
        ax.grid(alpha=0.3)
        ax.legend()
    if title is not None:
        fig.suptitle(title)
    return fig


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch.Tensor
        x = x.detach().cpu()
        if x.is_floating_point():
            x = x.float()  # NumPy 读不了 bfloat16
        x = x.numpy()  # 整数（例如 0–255 的 uint8 图像）保持整数，imshow 才按 0–255 显示
    return np.asarray(x)


def _as_image(x: Any) -> np.ndarray:
    image = _to_numpy(x)
    if image.ndim == 3 and image.shape[0] == 1:
        image = image[0]  # (1, H, W)：单通道，宽是 1、3 或 4 也一样
    elif image.ndim == 3 and image.shape[0] in (3, 4) and image.shape[-1] not in (1, 3, 4):
        image = image.transpose(1, 2, 0)  # (C, H, W) → (H, W, C)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] not in (3, 4)):
        raise ValueError(
            f"每张图像应为 (H, W)、(C, H, W) 或 (H, W, C)，C 为 1、3 或 4，却得到形状 {tuple(image.shape)}"
        )
    return image


def show_images(
    images: Sequence[Any] | Any,
    *,
    nrows: int,
    ncols: int,
    titles: Sequence[str] | None = None,
    scale: float = 1.5,
    cmap: str = "gray",
) -> Figure:
    """把若干图像排成 ``nrows × ncols`` 的网格；图像多于格子时只画前面的。

    ``images`` 可以是形状 ``(N, H, W)``、``(N, 1, H, W)``、``(N, 3, H, W)`` 的张量或数组，
    也可以是图像的列表（每张 ``(H, W)``、``(C, H, W)`` 或 ``(H, W, C)``，C 为 1、3 或 4；
    两头都像通道数时，例如 ``(3, 4, 4)``，按 ``(H, W, C)`` 读）。每张图占 ``scale`` 英寸见方。

    >>> import torch
    >>> images = torch.rand(5, 1, 28, 28)
    >>> fig = show_images(images, nrows=2, ncols=3, titles=["T恤", "裤子"])
    >>> len(fig.axes), [ax.get_title() for ax in fig.axes[:3]]
    (6, ['T恤', '裤子', ''])
    >>> plt.close(fig)
    """
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * scale, nrows * scale), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= len(images):
            continue
        ax.imshow(_as_image(images[i]), cmap=cmap)
        if titles is not None and i < len(titles):
            ax.set_title(titles[i], fontsize=9)
    return fig


def show_matrix(matrix: Any, *, title: str | None = None, annotate: bool = True) -> Figure:
    """把一个小矩阵（卷积核、特征图）画成热力图；``annotate`` 时在每格写上数值。

    ``matrix`` 是二维张量或数组（前面大小为 1 的维度会被去掉）。超过 400 个格子时不标数值。

    >>> import torch
    >>> fig = show_matrix(torch.tensor([[1.0, -1.0], [0.5, 0.0]]), title="卷积核")
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['1.00', '-1.00', '0.50', '0.00']
    >>> plt.close(fig)
    """
    values = _to_numpy(matrix)
    while values.ndim > 2 and values.shape[0] == 1:
        values = values[0]
    if values.ndim != 2:
        raise ValueError(f"show_matrix 需要二维矩阵，却得到形状 {values.shape}")
    h, w = values.shape
    fig, ax = plt.subplots(
        figsize=(min(0.6 * w + 1.6, 10), min(0.6 * h + 1.0, 9)), layout="constrained"
    )
    im = ax.imshow(values, cmap="viridis")
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if annotate and h * w <= _MAX_ANNOTATED:
        integral = bool(np.all(values == np.round(values)))
        shade = im.norm(values)
        for (i, j), v in np.ndenumerate(values):
            text = f"{v + 0.0:.0f}" if integral else f"{v + 0.0:.2f}"
            color = "white" if shade[i, j] < 0.5 else "black"
            ax.text(j, i, text, ha="center", va="center", color=color, fontsize=9)
    if title is not None:
        ax.set_title(title)
    return fig
