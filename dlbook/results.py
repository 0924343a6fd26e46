"""训练结果的记录：示例脚本报告结果，网站构建把它们汇成表格。

示例脚本训练完一个模型后调用 :func:`report`。单独运行时它只打印两行小结；在 Jupyter 内核里
（网站构建执行示例时）它输出一条带有 :data:`RESULT_MIME` 数据的显示结果，页面上看到的仍是那两行文字，
而构建从执行过的笔记本里读出结构化的记录，章节页面写 ``{{ results_table("modern_cnn") }}``
就得到该章所有结果的表格。表格里的数字因此总是来自真实的执行（或其缓存），而不是手写的。

设置了环境变量 ``DLBOOK_RESULTS``（一个文件路径）时，:func:`report` 还把每条结果作为一行 JSON
追加到那个文件里，好让单独运行的脚本（例如 ``scripts/gpu_check.sh`` 在 GPU 上以 full 模式运行的示例）
留下机器可读的记录。

>>> r = Result(name="LeNet", params=61706, test_acc=0.8123,
...            train_acc=0.83, train_loss=0.47, examples_per_sec=45210.0,
...            epochs=10, seconds=14.2, device="cpu", mode="full")
>>> print(r.summary())
结果：LeNet · 参数 61.7 千 · 测试准确率 0.812
      训练 45210 样本/秒 · 10 轮共 14.2 秒（含评估） · cpu · full 模式
>>> Result.from_dict(r.to_dict()) == r
True
"""

from __future__ import annotations

import json
import math
import os
import statistics
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from torch import nn

from dlbook._env import in_jupyter_kernel
from dlbook.counting import num_params
from dlbook.mode import current_mode
from dlbook.text import text_width
from dlbook.train import History

__all__ = ["RESULTS_ENV", "RESULT_MIME", "Result", "format_count", "report", "results_in", "results_table"]

RESULT_MIME = "application/vnd.dlbook.result+json"
"""示例输出里携带结构化结果的 MIME 类型。"""

RESULTS_ENV = "DLBOOK_RESULTS"
"""环境变量：设置时 :func:`report` 把每条结果作为一行 JSON 追加到它指定的文件。"""


def format_count(n: int) -> str:
    """把参数量写成中文习惯的“千 / 百万 / 十亿”。

    >>> format_count(61706), format_count(11_175_370), format_count(512)
    ('61.7 千', '11.2 百万', '512')

    四舍五入后到了 1000 的，换大一级的单位：

    >>> format_count(999), format_count(1000), format_count(999_949), format_count(999_950)
    ('999', '1.0 千', '999.9 千', '1.0 百万')
    >>> format_count(999_999_999), format_count(2_500_000_000)
    ('1.0 十亿', '2.5 十亿')
    """
    if n < 1_000:
        return str(n)
    for unit, name in ((1e3, "千"), (1e6, "百万")):
        value = f"{n / unit:.1f}"
        if float(value) < 1_000:
            return f"{value} {name}"
    return f"{n / 1e9:.1f} 十亿"


@dataclass(frozen=True)
class Result:
    """一次训练的结果：模型、参数量、准确率、吞吐量与运行环境。"""

    name: str
    params: int
    test_acc: float
    train_acc: float
    train_loss: float
    examples_per_sec: float
    epochs: int
    seconds: float
    device: str
    mode: str
    note: str = ""

    def summary(self) -> str:
        """两行中文小结：模型（和附注）、参数量和准确率一行，速度与运行环境缩进一行。

        速度是训练时的吞吐量（第一轮以外各轮的中位数，见 :func:`report`），秒数是全部轮数的总用时，
        含每轮在测试集上的评估，所以两者不能互相换算。分成两行，页面上 80 个字符宽的输出框放得下。
        """
        name = self.name + (f"（{self.note}）" if self.note else "")  # 与结果表里的写法相同
        first = f"结果：{name} · 参数 {format_count(self.params)} · 测试准确率 {self.test_acc:.3f}"
        second = [
            f"训练 {self.examples_per_sec:.0f} 样本/秒",
            f"{self.epochs} 轮共 {self.seconds:.1f} 秒（含评估）",
            self.device,
            f"{self.mode} 模式",
        ]
        return first + "\n" + " " * text_width("结果：") + " · ".join(second)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        """从 :meth:`to_dict` 的输出重建；缺字段或多出字段都报错，免得表格悄悄缺数。"""
        names = {f.name for f in fields(cls)}
        required = {f.name for f in fields(cls) if f.name != "note"}
        missing, unknown = required - set(data), set(data) - names
        if missing or unknown:
            raise ValueError(f"结果记录的字段不对：缺少 {sorted(missing)}，多出 {sorted(unknown)}")
        return cls(**data)


def report(name: str, *, model: nn.Module, history: History, note: str = "") -> Result:
    """报告一次训练的结果：打印（或在内核里显示）两行小结，并返回 :class:`Result`。

    吞吐量取除第一轮以外各轮的中位数（第一轮含预热、编译等一次性开销）；只训练了一轮时就用第一轮。

    Args:
        name: 表格里显示的模型名，例如 ``"ResNet-18"``。
        model: 训练好的模型，用来数参数（共享的参数只算一次）。
        history: :func:`dlbook.train.fit` 返回的记录，必须有测试准确率。
        note: 附注，例如配方的要点。

    >>> import tempfile, torch.nn as nn
    >>> from pathlib import Path
    >>> from unittest import mock
    >>> h = History(epoch=[1], train_loss=[0.5], train_acc=[0.8], test_acc=[0.79],
    ...             examples_per_sec=[1000.0], seconds=[2.0])
    >>> path = tempfile.mkdtemp() + "/results.jsonl"
    >>> env = {"DLBOOK_RESULTS": path, "DLBOOK_MODE": "quick"}
    >>> with mock.patch.dict("os.environ", env):
    ...     _ = report("线性模型", model=nn.Linear(3, 2), history=h)
    结果：线性模型 · 参数 8 · 测试准确率 0.790
          训练 1000 样本/秒 · 1 轮共 2.0 秒（含评估） · cpu · quick 模式
    >>> Result.from_dict(json.loads(Path(path).read_text(encoding="utf-8"))).params
    8
    """
    if not history.epoch or not history.test_acc:
        raise ValueError("history 里没有测试准确率：fit 时要传入 test_data，并且至少训练一轮")
    speeds = history.examples_per_sec[1:] or history.examples_per_sec
    speeds = [s for s in speeds if math.isfinite(s)] or [math.inf]
    result = Result(
        name=name,
        params=num_params(model, trainable_only=False),  # 共享参数只算一次，冻结的也算
        test_acc=history.test_acc[-1],
        train_acc=history.train_acc[-1],
        train_loss=history.train_loss[-1],
        examples_per_sec=statistics.median(speeds),
        epochs=len(history.epoch),
        seconds=sum(history.seconds),
        device=history.device,
        mode=current_mode(),
        note=note,
    )
    if in_jupyter_kernel():
        from IPython.display import display

        display({"text/plain": result.summary(), RESULT_MIME: result.to_dict()}, raw=True)
    else:
        print(result.summary())
    path = os.environ.get(RESULTS_ENV)
    if path:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as f:  # 每条一行：几次运行可以追加到同一个文件
                f.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
        except OSError as exc:
            raise OSError(
                f"无法把结果追加到 {path}：{exc}。环境变量 {RESULTS_ENV} 应当是一个可写的文件路径"
                "（结果已经打印在上面）"
            ) from exc
    return result


def results_in(notebook: Any) -> list[Result]:
    """执行过的笔记本里所有由 :func:`report` 输出的结果，按出现顺序。"""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if RESULT_MIME in data:
                found.append(Result.from_dict(dict(data[RESULT_MIME])))
    return found


def results_table(rows: list[tuple[Result, str]]) -> str:
    """Markdown 表格；``rows`` 是（结果，示例页面的链接）。

    >>> r = Result("LeNet", 61706, 0.8123, 0.83, 0.47, 45210.0, 10, 14.2,
    ...            "cpu", "full")
    >>> print(results_table([(r, "plot_lenet.ipynb")]))
    | 模型 | 参数量 | 测试准确率 | 训练准确率 | 样本/秒 | 训练 | 设备 · 模式 | 示例 |
    | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |
    | LeNet | 61.7 千 | 0.812 | 0.830 | 45210 | 10 轮 14.2 秒 | cpu · full | [plot_lenet](plot_lenet.ipynb) |
    """
    lines = [  # 八列：再多，常见的屏幕宽度上最后一列就要横向滚动才看得到
        "| 模型 | 参数量 | 测试准确率 | 训练准确率 | 样本/秒 | 训练 | 设备 · 模式 | 示例 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r, link in rows:
        stem = link.rsplit("/", 1)[-1].removesuffix(".ipynb")
        name = r.name + (f"（{r.note}）" if r.note else "")
        lines.append(
            f"| {name} | {format_count(r.params)} | {r.test_acc:.3f} | {r.train_acc:.3f} | "
            f"{r.examples_per_sec:.0f} | {r.epochs} 轮 {r.seconds:.1f} 秒 | {r.device} · {r.mode} | "
            f"[{stem}]({link}) |"
        )
    return "\n".join(lines)
