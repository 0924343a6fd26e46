"""数一数模型：参数量、浮点运算次数，以及每一层输出的形状。

>>> from dlbook.models import LeNet
>>> net = LeNet()
>>> num_params(net)
61706
>>> # 一张 28×28 的图：约 42 万次乘加，每次算 2 个 FLOP
>>> count_flops(net, (1, 1, 28, 28))
833040
>>> layer_shapes(net, (1, 1, 28, 28))[:3]
[('conv1', (1, 6, 28, 28)), ('act', (1, 6, 28, 28)), ('pool1', (1, 6, 14, 14))]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from dlbook.text import pad, text_width
from dlbook.train import keep_modes

__all__ = ["count_flops", "layer_shapes", "num_params", "summary"]


def num_params(model: nn.Module, *, trainable_only: bool = True) -> int:
    """模型的参数个数。

    共享的参数（同一个 ``nn.Parameter`` 出现在几个层里，例如绑定的输入、输出词嵌入）只算一次，
    这正是 ``model.parameters()`` 的行为。默认只数需要梯度的参数；缓冲区（例如批量归一化的
    滑动均值、方差）不是参数，不算在内。

    Args:
        model: 要数的模型。
        trainable_only: ``False`` 时连 ``requires_grad=False`` 的参数也算上。

    >>> num_params(nn.Linear(3, 4))  # 3 × 4 个权重 + 4 个偏置
    16
    >>> num_params(nn.BatchNorm2d(6))  # 6 个 γ + 6 个 β
    12
    """
    total = 0
    for p in model.parameters():  # parameters() 对同一个参数只给一次
        if isinstance(p, nn.parameter.UninitializedParameter):
            raise ValueError("模型里有尚未初始化的延后（lazy）参数，请先用一个输入跑一次前向传播")
        if p.requires_grad or not trainable_only:
            total += p.numel()
    return total


def _as_input(model: nn.Module, x: Tensor | Sequence[int]) -> Tensor:
    """张量原样返回；形状（含批量维）则造一个全零输入，放在模型所在的设备上。"""
    if isinstance(x, Tensor):
        return x
    if not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in x):
        raise ValueError(f"输入形状应当是正整数组成的序列（含批量维），收到的是 {x!r}")
    tensors = [*model.parameters(), *model.buffers()]
    device = tensors[0].device if tensors else torch.device("cpu")
    dtype = next((t.dtype for t in tensors if t.is_floating_point()), torch.get_default_dtype())
    return torch.zeros(tuple(x), device=device, dtype=dtype)


@contextmanager
def _inference(model: nn.Module) -> Iterator[None]:
    """临时切到评估模式、关掉求梯度；结束后恢复每个子模块原来的模式。"""
    with keep_modes(model), torch.no_grad():
        model.eval()
        yield


def count_flops(model: nn.Module, x: Tensor | Sequence[int]) -> int:
    """一次前向传播的浮点运算次数（FLOPs），用 ``torch.utils.flop_counter.FlopCounterMode`` 统计。

    按惯例，一次乘加（multiply-add）算 **2** 次浮点运算：一个输出 ``H'×W'``、
    ``C_out`` 个通道的卷积层计 ``2 · C_in · k_h · k_w · C_out · H' · W'``（每个样本），
    全连接层计 ``2 · n_in · n_out``。要“乘加次数”（MACs）就除以 2。
    只统计矩阵乘法、卷积、注意力这类运算；偏置、激活函数、汇聚、批量归一化、逐元素加法
    都不计，它们在卷积网络里占比很小。

    模型在评估模式、不求梯度的情况下跑一次，之后恢复原来的模式。

    Args:
        model: 要统计的模型。
        x: 输入张量，或含批量维的输入形状，例如 ``(1, *type(model).input_shape)``。

    >>> count_flops(nn.Linear(3, 4), (5, 3))  # 5 个样本 × 3 × 4 次乘加 × 2
    120
    >>> conv = nn.Conv2d(1, 2, kernel_size=3)
    >>> count_flops(conv, (1, 1, 5, 5))  # 2 · 1·3·3 · 2 · 3·3
    324
    """
    x = _as_input(model, x)
    with _inference(model), FlopCounterMode(display=False) as counter:
        model(x)
    return int(counter.get_total_flops())


def _targets(module: nn.Module, prefix: str, depth: int) -> Iterator[tuple[str, nn.Module]]:
    for name, child in module.named_children():
        full = f"{prefix}.{name}" if prefix else name
        if depth > 1 and next(child.children(), None) is not None:
            yield from _targets(child, full, depth - 1)
        else:
            yield full, child


def _walk(
    model: nn.Module, x: Tensor | Sequence[int], depth: int, counter: FlopCounterMode | None = None
) -> list[tuple[str, nn.Module, tuple[int, ...]]]:
    """跑一次前向传播，按调用顺序返回 ``(名字, 子模块, 输出形状)``；给了 ``counter`` 就顺便数 FLOPs。"""
    if depth < 1:
        raise ValueError(f"depth 至少是 1，收到的是 {depth}")
    x = _as_input(model, x)
    seen: list[tuple[str, nn.Module, tuple[int, ...]]] = []

    def hook(name: str, module: nn.Module, out: object) -> None:
        if not isinstance(out, Tensor):
            raise TypeError(f"{name}（{type(module).__name__}）的输出不是张量，无法记录形状")
        seen.append((name, module, tuple(out.shape)))

    handles = [
        child.register_forward_hook(lambda m, _inp, out, name=name: hook(name, m, out))
        for name, child in _targets(model, "", depth)
    ]
    try:
        with _inference(model), counter if counter is not None else nullcontext():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return seen


def layer_shapes(
    model: nn.Module, x: Tensor | Sequence[int], *, depth: int = 1
) -> list[tuple[str, tuple[int, ...]]]:
    """让输入走一遍模型，按调用顺序记下各层的名字与输出形状（含批量维）。

    ``depth=1`` 记录顶层的子模块（``conv1``、``layer1``、``features`` ……）；``depth=2`` 再往下
    展开一层（``features.0``、``layer1.0`` ……），依此类推，没有子模块的层不再展开。
    同一个子模块被调用几次就记几次（例如 LeNet 共用的激活函数）。
    模型在评估模式、不求梯度的情况下跑一次，之后恢复原来的模式。

    Args:
        model: 要检查的模型。
        x: 输入张量，或含批量维的输入形状。
        depth: 展开几层子模块。

    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten())
    >>> layer_shapes(net, (2, 1, 5, 5))
    [('0', (2, 4, 3, 3)), ('1', (2, 4, 3, 3)), ('2', (2, 36))]
    """
    return [(name, shape) for name, _module, shape in _walk(model, x, depth)]


def summary(model: nn.Module, x: Tensor | Sequence[int], *, depth: int = 1) -> str:
    """一张文字表格：每层的名字、类型、输出形状和参数量（与 :func:`layer_shapes` 的遍历相同），
    最后是整个模型的参数量和这次前向传播的 FLOPs（口径同 :func:`count_flops`）。参数量连冻结的
    （``requires_grad=False``）也算上；有冻结的参数时，再加一行可训练的参数个数。

    Args:
        model: 要检查的模型。
        x: 输入张量，或含批量维的输入形状。
        depth: 展开几层子模块，同 :func:`layer_shapes`。

    >>> print(summary(nn.Sequential(nn.Linear(3, 4), nn.ReLU()), (2, 3)))
    层  类型    输出形状  参数量
    0   Linear  (2, 4)    16
    1   ReLU    (2, 4)    0
    参数总量：16
    FLOPs：48
    """
    counter = FlopCounterMode(display=False)
    rows = [("层", "类型", "输出形状", "参数量")]
    for name, module, shape in _walk(model, x, depth, counter):
        params = num_params(module, trainable_only=False)
        rows.append((name, type(module).__name__, str(shape), f"{params:,}"))
    widths = [max(text_width(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(pad(cell, w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    total, trainable = num_params(model, trainable_only=False), num_params(model)
    lines.append(f"参数总量：{total:,}")
    if trainable != total:
        lines.append(f"其中可训练：{trainable:,}")
    lines.append(f"FLOPs：{int(counter.get_total_flops()):,}")
    return "\n".join(lines)
