"""
mode：编译时愿意花多少力气
========================

`mode` 是几组 Inductor 设置的简称：`"default"` 在编译时间与运行速度之间折中；`"reduce-overhead"`
用 CUDA 图省掉内核启动的开销；`"max-autotune"` 在编译时实际运行并比较多种内核实现，挑最快的。
这个示例先打印每个 mode 到底改了哪些设置，再在这台机器上实测一个小多层感知机在各 mode 下的编译用时与每步用时。
"""

# %%
import copy
import logging
import time

import torch
import torch._inductor
import torch.nn.functional as F
from torch import nn

import dlbook
from dlbook.bench import (
    environment, inductor_cache_hits, synchronize, time_interleaved,
)
from dlbook.text import pad

# 装了 CUDA 工具包却没有 GPU 的机器上，Inductor 会警告一句
# “No CUDA runtime is found”，与 CPU 上的编译无关。
logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)

device = dlbook.get_device()
if device.type == "cuda":
    # float32 矩阵乘法用 TF32 张量核心，即时执行与编译后的代码都一样；
    # 不设时，Inductor 编译时会为此提示一句（至少到 2.11 为止都是一条警告）。
    torch.set_float32_matmul_precision("high")
print(environment(device))

# %% [markdown]
# ## 每个 mode 是哪些设置
#
# `torch._inductor.list_mode_options(mode)` 列出一个 mode 打开的 Inductor 设置：

# %%
for mode in ("default", "reduce-overhead",
             "max-autotune", "max-autotune-no-cudagraphs"):
    options = torch._inductor.list_mode_options(mode)
    print(mode)
    for name, value in options.items():
        print(f"    {name} = {value}")
    if not options:
        print("    （不改任何设置）")

# %% [markdown]
# - `triton.cudagraphs`：把编译出的整段计算录成一张 **CUDA 图**，以后每步只需“重放”一次，
#   而不是从 CPU 逐个启动几十上百个内核。代价是输入输出必须放在固定的显存地址上（要多占显存，
#   下一步会覆盖上一步的输出），形状也必须固定（每种形状各录一张图）。**它只对 CUDA 设备有效**：
#   在 CPU 上不会录任何图，只让 Inductor 生成的代码略有不同（例如省掉对输入步长的检查），
#   所以 CPU 上 `"reduce-overhead"` 与 `"default"` 的每步用时应当相差不多。
# - `max_autotune`：对矩阵乘法、卷积等运算，在编译时生成若干种候选实现（GPU 上是不同分块大小的 Triton 模板，
#   CPU 上是 C++ 的 GEMM 模板）并逐个计时，选最快的。编译要慢得多，换来的加速取决于形状和硬件。
# - `coordinate_descent_tuning`：对生成的内核的启动参数（块大小等）再做一轮逐维搜索，主要作用于 GPU 上的 Triton 内核。
#
# ## 实测
#
# 同一个训练步（前向、交叉熵、反向、SGD 更新），每个模型都从同一份初始参数开始。
# 编译用时取编译后头两步的用时减去两个普通步：第一步编译；用 CUDA 图的 mode 第一步只是预热，
# 第二步才录图，录图的时间也要算进去。每步的用时由 `dlbook.bench.time_interleaved` 测量：
# 几个候选轮流计时五遍、各取最快的一遍，机器负载的起伏就不会只落在某一个候选上。
# CPU 上 quick 模式不测 `"max-autotune"`：它要为每个矩阵乘法试多种实现，编译用时是其他 mode 的好几倍。

# %%
modes = ["default", "reduce-overhead"]
if dlbook.current_mode() == "full" or device.type == "cuda":
    modes.append("max-autotune")
batch_size = 256
steps = dlbook.pick(quick=5, full=100)  # 每遍计时的步数（共五遍）

torch.manual_seed(0)
template = nn.Sequential(
    nn.Linear(784, 512), nn.ReLU(),
    nn.Linear(512, 512), nn.ReLU(),
    nn.Linear(512, 10),
)
X = torch.randn(batch_size, 784, device=device)
y = torch.randint(0, 10, (batch_size,), device=device)


def make_step(model: nn.Module):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    def step() -> None:
        loss = F.cross_entropy(model(X), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


# inductor_cache_hits 读 Dynamo 的计数器：Inductor 从磁盘缓存里取出了几张图。
# 这台机器以前编译过同样的图时，“编译用时”只是从缓存里取代码的时间。
candidates = {"即时执行": make_step(copy.deepcopy(template).to(device))}
first_step, cached = {}, {}
for mode in modes:
    compiled = torch.compile(copy.deepcopy(template).to(device), mode=mode)
    candidates[mode] = make_step(compiled)
    hits_before = inductor_cache_hits()
    synchronize(device)
    start = time.perf_counter()
    candidates[mode]()  # 第一步：编译（用 CUDA 图时先不录图，只预热）
    candidates[mode]()  # 第二步：用 CUDA 图时在这一步录图
    synchronize(device)
    first_step[mode] = time.perf_counter() - start
    cached[mode] = inductor_cache_hits() - hits_before

times = time_interleaved(candidates, steps=steps, warmup=2, device=device)
eager_s = times["即时执行"]
# pad 按终端宽度补空格：汉字占两列
print(f"{pad('即时执行', 24)}{'':>13}{eager_s * 1e3:>10.2f} 毫秒/步")
for mode in modes:
    compile_s = max(first_step[mode] - 2 * eager_s, 0.0)
    print(f"mode={mode!r:<19}编译 {compile_s:5.1f} 秒"
          f"{times[mode] * 1e3:>10.2f} 毫秒/步"
          f"（即时执行的 {eager_s / times[mode]:.2f} 倍）")
    if cached[mode]:
        print(f"{'':24}（{cached[mode]} 张图取自缓存）")

# %% [markdown]
# 读这些数字时注意：
#
# - 在 CPU 上，`"default"` 与 `"reduce-overhead"` 生成的代码只有细微差别，每步用时应当相差不多；
#   相差很多时，多半是测量时机器上还有别的负载。
# - 标着“取自缓存”的 mode，整张图都是从磁盘缓存里取出的：这台机器以前编译过同样的图，
#   量到的编译用时只是取代码的时间，在没编译过它们的机器上要久得多。
# - 编译后若反而更慢（倍数小于 1），原因见下一页：时间大多花在矩阵乘法上时，编译能省的很少，
#   而编译出的代码每次调用还要检查守卫、经过一层包装。
# - 这个多层感知机的时间主要花在三个矩阵乘法上，编译能融合的只有 ReLU、偏置和损失这几个小运算，
#   所以不管哪个 mode，能省的都不多。
# - 在 GPU 上，用 CUDA 图的两个 mode（`"reduce-overhead"` 和 `"max-autotune"`）通常收益最显著：
#   这样小的模型每步真正的计算只有几十微秒，而逐个启动内核的开销与之相当甚至更多。
