"""快速训练路径：:class:`FastConfig` 说要什么，:func:`plan` 决定在某个设备上真正做什么。

分类器的 :func:`dlbook.train.fit` 和 GAN 的 :func:`dlbook.gan.train_gan` 都接受 ``fast=True``
（即 ``FastConfig()``）或一个 :class:`FastConfig`，用的是这里同一套规则：

- bfloat16 自动混合精度与 channels_last 只在 CUDA 上打开，CPU 和 MPS 上什么也不做，
  所以同一段代码在哪台机器上都能跑，CPU 上的结果与默认路径逐位相同；
- ``torch.compile`` 在任何设备上都按要求打开（CPU 上要有 C++ 编译器，用之前先检查）；
- CUDA 图只在 CUDA 上、并且与编译一起打开。

>>> plan(True, torch.device("cpu"))
FastPlan(device_type='cpu', amp=False, channels_last=False,
         compile=False, cuda_graphs=False)
>>> # 不开混合精度时是一个什么也不做的上下文
>>> plan(False, torch.device("cpu")).autocast()
<contextlib.nullcontext object at ...>
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

__all__ = ["CompiledForOneBatchSize", "FastConfig", "FastPlan", "mark_cuda_graph_step", "plan", "prepare"]


@dataclass(frozen=True)
class FastConfig:
    """快速训练路径有哪些开关；``fast=True`` 就是 ``fast=FastConfig()``。

    前两项只在 CUDA 上起作用，在 CPU 和 MPS 上什么也不做（不报错）：

    - CPU 上的 bfloat16 只在有 AVX-512 BF16 或 AMX 指令的处理器上快，多数 CPU 反而更慢；
    - channels_last 是为 GPU 上用张量核心（Tensor Core）的卷积内核准备的（它们以 NHWC 为原生格式），CPU 上收益不定。

    Attributes:
        amp: 前向和损失在 ``torch.autocast(dtype=torch.bfloat16)`` 里计算：矩阵乘法和卷积用 bfloat16，
            参数、梯度和优化器状态仍是 float32。bfloat16 的指数位与 float32 一样多，表示范围相同，
            不像 float16 那样容易上溢或下溢，所以不需要 ``GradScaler``。只在 CUDA 上、且 GPU 原生支持 bfloat16（Ampere 及以后）时打开；
            V100、T4 这类只能模拟 bfloat16 的 GPU 上不打开。
        channels_last: 把模型（就地）和四维输入换成 channels_last（NHWC）内存格式。只在 CUDA 上。
        compile: 用 ``torch.compile`` 编译模型再训练（任何设备；CPU 上要有 C++ 编译器，例如 g++）。
            第一步要等编译，之后每一步通常更快；小模型、小批量、CPU 上也可能更慢。
        cuda_graphs: 在 CUDA 上以 ``mode="reduce-overhead"`` 编译：模型的前向和反向各录成一张 CUDA 图，
            每步重放，几百次内核启动变成两次；损失、优化器的更新和指标仍在图外逐个启动。
            要求 ``compile=True``；其他设备上什么也不做。

    >>> FastConfig()
    FastConfig(amp=True, channels_last=True, compile=False, cuda_graphs=False)
    >>> FastConfig(cuda_graphs=True)
    Traceback (most recent call last):
    ...
    ValueError: cuda_graphs=True 要求 compile=True：CUDA 图由
        torch.compile(mode="reduce-overhead") 录制
    """

    amp: bool = True
    channels_last: bool = True
    compile: bool = False
    cuda_graphs: bool = False

    def __post_init__(self) -> None:
        if self.cuda_graphs and not self.compile:
            raise ValueError(
                'cuda_graphs=True 要求 compile=True：CUDA 图由 torch.compile(mode="reduce-overhead") 录制'
            )


@dataclass(frozen=True)
class FastPlan:
    """:class:`FastConfig` 落到某个设备上之后真正生效的部分（由 :func:`plan` 给出）。"""

    device_type: str = "cpu"
    amp: bool = False
    channels_last: bool = False
    compile: bool = False
    cuda_graphs: bool = False

    def autocast(self) -> contextlib.AbstractContextManager:
        """``amp`` 时是 bfloat16 的 ``torch.autocast``，否则什么也不做。

        >>> with FastPlan("cpu", amp=True).autocast():
        ...     nn.Linear(4, 4)(torch.ones(2, 4)).dtype
        torch.bfloat16
        """
        if not self.amp:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=torch.bfloat16)

    def batch(self, X: Tensor) -> Tensor:
        """``channels_last`` 时把四维批量 ``(B, C, H, W)`` 换成按 NHWC 存放（形状不变）。

        >>> X = torch.zeros(2, 3, 4, 5)
        >>> nhwc = FastPlan("cpu", channels_last=True).batch(X)
        >>> nhwc.is_contiguous(memory_format=torch.channels_last)
        True
        >>> FastPlan("cpu").batch(X) is X
        True
        """
        if self.channels_last and X.ndim == 4:
            return X.contiguous(memory_format=torch.channels_last)
        return X


def plan(fast: bool | FastConfig, device: torch.device) -> FastPlan:
    """``fast`` 在 ``device`` 上哪些部分生效。要求编译时先检查这个环境能不能编译，不能就说清楚原因。

    >>> plan(FastConfig(amp=False), torch.device("cpu")).amp
    False
    >>> plan("yes", torch.device("cpu"))
    Traceback (most recent call last):
    ...
    TypeError: fast 应为 True、False 或 FastConfig，而不是 'yes'
    """
    if isinstance(fast, bool):
        if not fast:
            return FastPlan(device.type)
        fast = FastConfig()
    if not isinstance(fast, FastConfig):
        raise TypeError(f"fast 应为 True、False 或 FastConfig，而不是 {fast!r}")
    cuda = device.type == "cuda"
    if fast.compile:
        check_compile_supported(device)
    return FastPlan(
        device_type=device.type,
        amp=fast.amp and cuda and _native_bf16(device),
        channels_last=fast.channels_last and cuda,
        compile=fast.compile,
        cuda_graphs=fast.cuda_graphs and cuda,
    )


def _native_bf16(device: torch.device | None = None) -> bool:
    """``device``（默认当前 GPU）是否原生支持 bfloat16（Ampere 及以后）。

    ``torch.cuda.is_bf16_supported()`` 默认把“能模拟 bfloat16”的老 GPU（V100、T4）也算进去，
    在那里打开混合精度只会更慢；``including_emulation=False`` 只认原生支持。PyTorch 2.4 之前没有这个参数。
    它只看当前 GPU：``device`` 带编号（``cuda:1``）时，先切换到那块 GPU 再问，混用新旧 GPU 的机器上才不会答错。
    """
    if device is not None and device.index is not None:
        with torch.cuda.device(device.index):
            return _native_bf16()
    try:
        return torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:
        return torch.cuda.is_bf16_supported()


def check_compile_supported(device: torch.device) -> None:
    """在第一步之前就说清楚 ``torch.compile`` 为什么不能用，而不是在编译到一半时抛出难懂的错误。"""
    from torch._dynamo import eval_frame

    try:
        eval_frame.check_if_dynamo_supported()
    except RuntimeError as exc:
        raise RuntimeError(
            f"这个环境不支持 torch.compile（{exc}）。请用 fast=FastConfig(compile=False)，"
            "或换一个 PyTorch 支持的 Python 版本。"
        ) from exc
    if device.type == "cpu":
        default = "clang++" if sys.platform == "darwin" else "g++"
        compiler = os.environ.get("CXX") or default
        if shutil.which(compiler) is None:
            raise RuntimeError(
                f"torch.compile 在 CPU 上要把生成的 C++ 代码编译成机器码，但找不到 C++ 编译器 {compiler!r}。"
                "请安装一个（Debian/Ubuntu：sudo apt install g++），或用环境变量 CXX 指定它的路径；"
                "也可以用 fast=FastConfig(compile=False) 不编译。"
            )


def prepare(model: nn.Module, fast_plan: FastPlan) -> Callable[[Tensor], Tensor]:
    """按计划改造模型，返回训练时调用的对象（不编译时就是 ``model``，编译时见 :class:`CompiledForOneBatchSize`）。

    ``channels_last`` 就地改变 ``model`` 的四维权重的内存格式；编译出来的模块与 ``model`` 共享参数。

    >>> net = nn.Conv2d(3, 2, 3)  # 输入通道多于 1：NCHW 与 NHWC 的存放顺序才不同
    >>> prepare(net, FastPlan("cpu")) is net
    True
    >>> net.weight.is_contiguous(memory_format=torch.channels_last)
    False
    >>> _ = prepare(net, FastPlan("cpu", channels_last=True))
    >>> net.weight.is_contiguous(memory_format=torch.channels_last)
    True
    """
    if fast_plan.channels_last:
        model.to(memory_format=torch.channels_last)  # 就地：四维的权重换成 NHWC，其余参数不变
    if not fast_plan.compile:
        return model
    if fast_plan.device_type == "cpu":
        _quiet_cuda_home_warning()
    mode = "reduce-overhead" if fast_plan.cuda_graphs else None
    return CompiledForOneBatchSize(model, torch.compile(model, mode=mode), fast_plan)


class CompiledForOneBatchSize:
    """编译后的模块只用于第一次调用时的批量大小，别的大小交给原模型即时计算。

    编译出的图按批量大小特化：每轮最后那个不满的批量若也交给它，Dynamo 会把批量这一维改成符号、再编译一份
    （多花一次编译的时间，之后的整批也改走这份动态形状的图）。两者共享参数，结果在数学上相同（只差浮点舍入）。
    用 CUDA 图时，每次调用编译后的模块之前先调用 :func:`mark_cuda_graph_step`：所以它只适合每步调用一次的模块
    （:func:`dlbook.gan.train_gan` 一步里要调用判别器几次，因此不支持 CUDA 图）。
    """

    def __init__(self, model: nn.Module, compiled: Callable[[Tensor], Tensor], fast_plan: FastPlan) -> None:
        self.model, self.compiled, self.fast_plan = model, compiled, fast_plan  # compiled 与 model 共享参数
        self.batch_size: int | None = None

    def __call__(self, X: Tensor) -> Tensor:
        self.batch_size = self.batch_size or X.shape[0]
        if X.shape[0] != self.batch_size:
            return self.model(X)
        mark_cuda_graph_step(self.fast_plan)
        return self.compiled(X)  # 第一次调用时才真正编译


def _quiet_cuda_home_warning() -> None:
    """Inductor 在 CPU 上导入 ``torch.utils.cpp_extension`` 时，若机器装了 CUDA 工具包（nvcc）却没有 GPU，
    会往 stderr 写一行 “No CUDA runtime is found”。它与 CPU 上的编译无关，这里只关掉这一个日志器的警告。"""
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)


def mark_cuda_graph_step(fast_plan: FastPlan) -> None:
    """用 CUDA 图时，在每一步开始前告诉它：上一步输出所占的静态缓冲区可以重用了。"""
    if not fast_plan.cuda_graphs:
        return
    mark = getattr(getattr(torch, "compiler", None), "cudagraph_mark_step_begin", None)
    if mark is not None:
        mark()
