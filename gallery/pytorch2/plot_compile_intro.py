"""
torch.compile 初体验
====================

先编译一个普通的 Python 函数：结果与即时执行（eager）相同，第一次调用要等编译，之后直接运行生成的代码。
再编译一个模块，看看 `torch.compile` 返回的到底是什么、它和原模型怎样共享参数，
最后看一眼 Inductor 在这台机器上为那个函数生成的代码。
"""

# %%
import logging
import time

import torch
from torch import nn

import dlbook
from dlbook.bench import environment, synchronize, time_per_step

# 装了 CUDA 工具包却没有 GPU 的机器上，Inductor 导入 C++ 扩展工具时
# 会警告一句“No CUDA runtime is found”，与在 CPU 上编译无关：
# 只关掉这一个日志器的警告。
logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)

dlbook.seed_everything(0)
device = dlbook.get_device()
if device.type == "cuda":
    # float32 矩阵乘法用 TF32 张量核心，即时执行与编译后的代码都一样；
    # 不设时，Inductor 编译时会为此提示一句（至少到 2.11 为止都是一条警告）。
    torch.set_float32_matmul_precision("high")
print(environment(device))

# %% [markdown]
# ## 编译一个函数
#
# GELU 激活函数的 tanh 近似由七八个逐元素运算组成。即时执行时，每个运算都是一个单独的内核：
# 读一遍整个张量、算、再把结果写回内存。`torch.compile` 把它们**融合**成一个内核，数据只读写一遍。
# 下面这一行并不编译任何东西，它只是给函数套上一层；真正的编译发生在第一次调用时，
# 因为要看到输入的形状、数据类型和设备才知道该生成什么代码。

# %%
def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * x * (1.0 + torch.tanh(0.7978845608 * (x + 0.044715 * x**3)))


compiled_gelu = torch.compile(gelu_tanh)
x = torch.randn(dlbook.pick(quick=1_000_000, full=16_000_000), device=device)

# %% [markdown]
# 第一次调用：TorchDynamo 捕获计算图，Inductor 生成代码并编译（CPU 上是 C++，要调用 C++ 编译器；GPU 上是 Triton）。
# `run_and_get_code` 是 PyTorch 自己测试里用的内部工具（名字前的下划线说明它不是稳定接口），
# 它在调用的同时截下生成的源代码，留到本页最后再看。在终端里也可以设置环境变量
# `TORCH_LOGS=output_code`，把生成的代码打印到屏幕上。

# %%
from torch._inductor.utils import run_and_get_code

synchronize(device)
start = time.perf_counter()
y, sources = run_and_get_code(compiled_gelu, x)
synchronize(device)
first_call = time.perf_counter() - start
print(f"第一次调用（含编译）：{first_call:.2f} 秒")
print(f"与即时执行的最大差：{(y - gelu_tanh(x)).abs().max().item():.1e}")

# %% [markdown]
# 之后的调用不再编译：Dynamo 先检查一组“守卫”（guards，例如输入仍是同形状、同类型、同设备的张量），
# 通过就直接运行编译好的代码。比较两者每次调用的用时：

# %%
eager_s = time_per_step(lambda: gelu_tanh(x), steps=20, warmup=2, device=device)
compiled_s = time_per_step(
    lambda: compiled_gelu(x), steps=20, warmup=2, device=device
)
print(f"{x.numel():,} 个元素：即时执行 {eager_s * 1e3:.2f} 毫秒/次，"
      f"编译后 {compiled_s * 1e3:.2f} 毫秒/次")
ratio = eager_s / compiled_s
print(f"即时执行用时 ÷ 编译后用时 = {ratio:.1f}（大于 1 才是更快）")
print(f"编译用去的时间够即时执行调用 {first_call / eager_s:.0f} 次")

# %% [markdown]
# 这是编译最擅长的情形：计算很少、读写内存很多的逐元素运算。融合省掉的是内存流量，
# 所以在 CPU 和 GPU 上通常都能看到加速（这次的倍数见上面的输出；机器上别的程序可能让它缩水）。
# 但编译本身的用时也要记账：它比一次调用贵得多，要调用很多次才能赚回来。
#
# ## 编译一个模块
#
# 对 `nn.Module` 调用 `torch.compile` 得到一个 `OptimizedModule`：它**包着**原模型
# （属性 `_orig_mod`），`forward` 换成了编译后的版本。参数没有复制，两者用的是同一批 `Parameter` 对象。

# %%
model = nn.Sequential(
    nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10)
).to(device)
compiled_model = torch.compile(model)
print(type(compiled_model).__module__ + "." + type(compiled_model).__name__)
print("包着的是原模型：", compiled_model._orig_mod is model)
pairs = zip(compiled_model.parameters(), model.parameters())
print("参数是同一批对象：", all(p is q for p, q in pairs))
print("state_dict 的键：", list(compiled_model.state_dict())[:2], "…")
print("原模型的键：    ", list(model.state_dict())[:2], "…")

# %% [markdown]
# 注意 `state_dict` 的键多了前缀 `_orig_mod.`：保存检查点时请存原模型的 `model.state_dict()`，
# 这样不编译的代码也能加载它。
#
# 因为参数是共享的，训练编译后的模块就是在训练原模型；反过来，直接改原模型的参数，
# 编译后的模块也立刻看到（参数是编译出的代码的输入，而不是被抄进代码里的常数）：

# %%
inputs = torch.randn(32, 64, device=device)
with torch.no_grad():
    before = compiled_model(inputs)  # 第一次调用：编译
    model[2].bias.add_(1.0)  # 改原模型
    after = compiled_model(inputs)
print("每个输出都加了 1：",
      torch.allclose(after - before, torch.ones_like(before), atol=1e-5))
print("与原模型一致：    ", torch.allclose(after, model(inputs), atol=1e-5))

# %% [markdown]
# ## Inductor 生成的代码
#
# 最后看看为 `gelu_tanh` 生成的代码。它是一个 Python 模块：在 CPU 上，里面有一段 C++ 源代码
# （一个 `for` 循环，用 SIMD 向量指令一次算多个元素，用 OpenMP 在多个线程间分工），
# 在 GPU 上则是一个用 Triton 写的内核。无论哪种，七八个运算都在**同一个循环/内核**里完成。
# 下面只打印内核的部分。

# %%
source = sources[0]
lines = source.splitlines()
start = next(
    i for i, line in enumerate(lines)
    if "cpp_fused" in line or "@triton.jit" in line
)
kernel = lines[start : start + 45]
print(f"生成的模块共 {len(lines)} 行，内核从第 {start + 1} 行开始：\n")
print("\n".join(kernel))
