"""
硬件：开销、带宽与算力
======================

同一个模型，换一台机器，快慢可以差上百倍；同一台机器上，有的运算快、有的慢，原因也各不相同。
这个示例在构建本站的设备上量三个数：每调用一次运算的固定开销、内存带宽、矩阵乘法的算力，
再用**屋顶线模型**把它们画在一张图上，看每个运算被哪一个限制住。最后用一个逐拍模拟的**脉动阵列**
看 TPU 这类芯片怎样做矩阵乘法。
"""

# %%
import matplotlib.pyplot as plt
import torch

import dlbook
from dlbook.bench import environment, time_interleaved
from dlbook.plot import show
from dlbook.roofline import (
    KERNELS,
    attainable,
    call_overhead,
    host_to_device_bandwidth,
    matmul_flops,
    matmul_intensity,
    memory_bandwidth,
)
from dlbook.systolic import systolic_cycles, systolic_matmul
from dlbook.text import pad

dlbook.seed_everything(0)
device = dlbook.get_device()
print(environment(device))

# %% [markdown]
# ## CPU 与 GPU
#
# CPU 为**延迟**而设计：几个到上百个核心，每个核心都很强（高频率、乱序执行、分支预测），
# 配上大容量的多级缓存，让一串前后依赖的指令尽快做完。GPU 为**吞吐量**而设计：几十到一百多个流式多处理器（SM），
# 每个 SM 上同时驻留上千个线程，单个线程很慢，但同一条指令同时作用于许多数据；每个线程分到的缓存很少，
# 靠大量线程轮流等待来掩盖访存延迟，还配有带宽高得多的显存（HBM）和专做矩阵乘法的张量核心（Tensor Core）。
# 深度学习的计算——大矩阵乘法、卷积、对每个元素做同样的事——正好是后者擅长的。
#
# 一个运算跑多快，取决于它最先碰到哪一个上限：
#
# 1. **固定开销**：每调用一个 PyTorch 运算，Python 和调度器都要走一遍，在 GPU 上还要启动一个内核。
# 2. **内存带宽**：每秒能从内存读写多少字节。
# 3. **算力**：每秒能做多少次浮点运算（FLOP/s）。
#
# ## 固定开销
#
# 对一个只有一个元素的张量做加法，真正的计算可以忽略不计，量到的几乎全是开销：

# %%
overhead = call_overhead(device)
print(f"在 {device} 上调用一次运算的固定开销：{overhead * 1e6:.1f} 微秒")
print(f"即每秒最多约 {1 / overhead:,.0f} 次调用")

# %% [markdown]
# 一步训练要调用上百个运算（每一层的前向、反向，加上优化器）。模型很小时，一步的时间主要就是这些开销：
# 这正是 `torch.compile` 把运算融合、CUDA 图把前向和反向的内核启动各合成一次能提速的原因（见前几页）。
#
# ## 内存带宽
#
# 用三种几乎不计算、只搬数据的运算处理一个 float32 张量：求和（每个元素读 4 个字节）、
# 复制到另一个张量（读 4 写 4）、`a + b` 写进第三个张量（读 8 写 4）。从 4 KB 到几百 MB（full 模式到 1 GB）换着大小量，
# 按每种运算名义上读写的字节数算出带宽：

# %%
top = dlbook.pick(quick=26, full=28)
numels = [2**p for p in range(10, top + 1, 2)]
bandwidth = {
    kernel: {n: memory_bandwidth(n, device, kernel=kernel) for n in numels}
    for kernel in KERNELS
}
names = {"read": "求和", "copy": "复制", "add": "a + b"}
print(pad("大小", 12, align=">")
      + "".join(pad(names[k], 10, align=">") for k in KERNELS) + "  (GB/s)")
for n in numels:
    print(f"{4 * n / 2**20:>8.3f} MiB"
          + "".join(f"{bandwidth[k][n] / 1e9:>10.1f}" for k in KERNELS))

fig, ax = plt.subplots(figsize=(5.5, 3))
for kernel in KERNELS:
    values = [bw / 1e9 for bw in bandwidth[kernel].values()]
    ax.semilogx([4 * n for n in numels], values, "o-", label=names[kernel])
ax.set_xlabel("一个张量的大小（字节）")
ax.set_ylabel("带宽（GB/s）")
ax.set_title(f"只搬数据的运算（{device}）")
ax.legend()
show(fig)

best = max(KERNELS, key=lambda k: bandwidth[k][numels[-1]])
mem_bw = bandwidth[best][numels[-1]]
print(f"最大的张量上，带宽最高的是“{names[best]}”：",
      f"{mem_bw / 1e9:.1f} GB/s")

# %% [markdown]
# 曲线说明了几件事。张量很小时，带宽很低：搬几 KB 的时间被固定开销淹没了。
# 在 CPU 上，张量放得进缓存时带宽最高（至少复制和 `a + b` 会在缓存大小附近掉下来）；
# 大到放不下时，只能从内存里读，带宽降下来并趋于平稳。
# 在 GPU 上没有这么明显的台阶，大张量的带宽接近显存的标称带宽。
# 这些都是机器空闲时的样子。CPU 正忙时（页面开头的环境信息里会有一行提醒），多线程的运算
# 每一步都要等被别的程序占着的核，量到的数字会乱成一团，小张量上甚至接近 0。
# 三种运算量到的带宽并不相同：CPU 写一个缓存行之前常常先要把它读进来，实际的读写量比名义上多；
# 只用几个核心时，求和还可能受限于加法本身。下面把最大的张量上三者中最高的那个当作这台设备的“内存带宽”。
#
# ## 算力
#
# 两个 $n\times n$ 矩阵相乘要做 $2n^3$ 次浮点运算，却只读写 $3n^2$ 个数。$n$ 越大，每个字节参与的运算越多：

# %%
sizes = dlbook.pick(quick=[32, 64, 128, 256, 512, 1024],
                    full=[64, 128, 256, 512, 1024, 2048, 4096, 8192])
flops = {n: matmul_flops(n, device) for n in sizes}
for n, f in flops.items():
    print(f"n = {n:>5}：{f / 1e9:>11.3f} GFLOP/s，"
          f"计算强度 {matmul_intensity(n):>6.1f} 次/字节")
peak = max(flops.values())
if device.type == "cuda":
    bf16 = matmul_flops(max(sizes), device, dtype=torch.bfloat16)
    print(f"bfloat16，n = {max(sizes)}：{bf16 / 1e12:.1f} TFLOP/s，"
          f"是 float32 的 {bf16 / flops[max(sizes)]:.1f} 倍")

# %% [markdown]
# 小矩阵算不满：开销和数据搬运占了大头。矩阵够大后，速度趋于平稳（同样是机器空闲时），下面把量到的最高值当作这台设备
# 做 float32 矩阵乘法的实测峰值（厂商标称的峰值通常更高）。
# 在 GPU 上，换成 bfloat16 会快得多：PyTorch 在 CUDA 上做 float32 矩阵乘法默认不用张量核心
# （除非 `torch.set_float32_matmul_precision("high")` 允许它用 TF32），bfloat16 则用张量核心来算。
#
# ## 屋顶线模型
#
# 把**计算强度** $I$（每读写一个字节做几次浮点运算）作横轴，运算达到的速度作纵轴。
# 带宽为 $\beta$、峰值算力为 $\pi$ 的设备上，强度为 $I$ 的运算最快能到
#
# $$
# P = \min(\pi,\ I\beta) .
# $$
#
# 在对数坐标里，这是一条先斜着上升、再变平的折线，像一个屋顶。两段的交点 $I^\ast = \pi/\beta$ 叫**脊点**：
# 强度低于它的运算受带宽限制，高于它的受算力限制。把矩阵乘法和两个逐元素运算放上去：
# `a + b` 每读两个数、写一个数（12 个字节）做 1 次加法，$I = 1/12$；`max(x, 0)`（即 ReLU）读写各一个数，做 1 次比较，$I = 1/8$。

# %%
big = numels[-1]
# a + b 就是上面量带宽的 "add"：每个元素 12 个字节、1 次加法，
# FLOP/s 是带宽的 1/12
x, out = torch.rand(big, device=device), torch.empty(big, device=device)
relu = time_interleaved({"max": lambda: torch.clamp_min(x, 0, out=out)},
                        steps=10, warmup=2, repeat=5, device=device)["max"]
points = {
    "a + b": (1 / 12, bandwidth["add"][big] / 12),
    "max(x, 0)": (1 / 8, big / relu),
}

ridge = peak / mem_bw
print(f"实测峰值算力 {peak / 1e9:.1f} GFLOP/s，"
      f"内存带宽 {mem_bw / 1e9:.1f} GB/s，"
      f"脊点 {ridge:.1f} 次/字节")
for name, (intensity, achieved) in points.items():
    roof = attainable(intensity, peak_flops=peak, bandwidth=mem_bw)
    print(f"{name:>9}：强度 {intensity:.3f}，"
          f"达到 {achieved / 1e9:.2f} GFLOP/s，"
          f"屋顶 {roof / 1e9:.2f}")

# 横轴上的点加上脊点，折线才正好在那里拐弯
intensities = sorted([2.0**p for p in range(-5, 12)] + [ridge])
roof = [attainable(i, peak_flops=peak, bandwidth=mem_bw) for i in intensities]
fig, ax = plt.subplots(figsize=(5.5, 3.4))
ax.loglog(intensities, roof, "k-", label="屋顶线")
ax.loglog([matmul_intensity(n) for n in sizes], list(flops.values()), "o",
          label="矩阵乘法（n×n）")
# 最小的 n 往往是图里最低的点：标签放在它上方，免得落到横轴下面；
# 最大的 n 紧挨屋顶，标签放在下方
for n, dy in ((sizes[0], 4), (sizes[-1], -12)):
    ax.annotate(f"n={n}", (matmul_intensity(n), flops[n]),
                textcoords="offset points", xytext=(4, dy), fontsize=8)
for name, (intensity, achieved) in points.items():
    ax.loglog([intensity], [achieved], "s", label=name)
ax.axvline(ridge, color="gray", linestyle=":", linewidth=1)
ax.set_xlabel("计算强度（次/字节）")
ax.set_ylabel("FLOP/s")
ax.set_title(f"屋顶线模型（{device}，float32）")
ax.legend(fontsize=8)
show(fig)

# %% [markdown]
# 逐元素运算落在屋顶的斜线上或略低一些（斜线用的是三种搬数据运算里最快的那个；CPU 上写内存之前常常要先读，
# 要写的运算常常低一两成；计时的起伏也会让点偶尔略高于屋顶）：它们受带宽限制，算力再高也没用，只有少读写内存才能变快——
# 把相邻的几个逐元素运算**融合**成一个内核，中间结果留在寄存器里，读写一次做几次运算，强度就成倍提高。
# 这就是 Inductor 做的最重要的优化。大矩阵乘法落在平顶上（这里的平顶本来就是用它们量出来的）：
# 它们受算力限制，要更快，只能用更快的乘法单元
# （GPU 的张量核心、低精度）。小矩阵乘法两头都够不着，受的是开销的限制。
#
# ## 主机与 GPU 之间
#
# GPU 有自己的显存。数据从主机内存送到显存要经过 PCIe（或更快的专用链路），这条路比显存本身慢得多。
# 所以训练时要尽量让数据留在 GPU 上（`fashion_mnist_tensors(..., device="cuda")` 把整个数据集放进显存，
# `dlbook.data.TensorLoader` 在显存里打乱、分批），
# 非送不可时用**锁页内存**（`pin_memory=True`）：驱动可以直接从锁页内存做 DMA 传输，还能与计算重叠；
# 普通内存要先复制到一块锁页的缓冲区里。

# %%
if device.type == "cuda":
    n = 2**26  # 256 MiB
    for pinned in (False, True):
        bw = host_to_device_bandwidth(n, device, pinned=pinned)
        kind = "锁页内存" if pinned else "普通内存"
        print(f"主机（{kind}）→ GPU：{bw / 1e9:.1f} GB/s")
    print(f"对照：显存带宽（上面实测的最高值，{names[best]}）"
          f"{mem_bw / 1e9:.1f} GB/s")
else:
    print(f"这次运行在 {device} 上，没有主机到 GPU 的传输可量；")
    print("在 GPU 上构建本站时，这里打印两种内存的传输带宽。")

# %% [markdown]
# ## 专用芯片与脉动阵列
#
# 除了 CPU 和 GPU，还有一串越来越“专”的芯片：手机里的 DSP（数字信号处理器）、可以重新布线的 FPGA，
# 以及只为一类计算设计的 ASIC，例如谷歌的 TPU。越往后越不灵活、越难编程，但同样的功耗下能做的运算越多。
#
# TPU 这类芯片做矩阵乘法的核心是**脉动阵列**：一个 $M\times N$ 的处理单元网格，每个单元只会乘加，
# 并把左边来的数传给右边、上边来的数传给下边。矩阵 $A$ 的行从左边、$B$ 的列从上边错开一拍一拍地送进去，
# $A_{ik}$ 和 $B_{kj}$ 恰好在第 $i+j+k$ 拍同时到达单元 $(i, j)$。每个数只从内存读一次，却被一整行（列）单元用了一遍，
# 单元之间只有相邻的连线。这里模拟的是最容易看懂的**输出驻留**式阵列：结果留在单元里，$A$ 和 $B$ 都流动。
# TPU 的矩阵单元用的是**权重驻留**式：先把一块权重装进阵列，激活值从左边一行行流进，部分和向下流出；
# 道理相同，每个数读一次、被一整行（列）单元重复使用。
# `dlbook.systolic.systolic_matmul` 逐拍模拟了这个过程，与 `torch.matmul` 对照：

# %%
A = torch.randn(4, 6, dtype=torch.float64)
B = torch.randn(6, 5, dtype=torch.float64)
C, cycles = systolic_matmul(A, B)
gap = (C - A @ B).abs().max().item()
print(f"(4×6)(6×5)：与 torch.matmul 最多差 {gap:.1e}，"
      f"用了 {cycles} 拍")
# 再数一数每个单元有几拍在做有用的乘加（手里的两个数都是真送进来的，不是补的 0）
for k in (16, 128, 1024):
    busy: list[torch.Tensor] = []
    _, cycles = systolic_matmul(torch.ones(16, k), torch.ones(k, 16), busy=busy)
    used = busy[0].sum().item() / (16 * 16 * cycles)
    print(f"16×16 的阵列算 (16×{k})({k}×16)：{cycles:>4} 拍，"
          f"利用率 {used:.0%}（按公式 {k / systolic_cycles(16, 16, k):.0%}）")

# %% [markdown]
# 阵列要先“填满”、最后“排空”，这期间有的单元闲着：方阵相乘时，约三分之二的拍是闲着的。
# 每个单元恰好做 $K$ 次有用的乘加，一共要 $M+N+K-2$ 拍，利用率就是 $K/(M+N+K-2)$。
# 送进去的数据流越长（公共维 $K$ 越大，或一批矩阵接连送进去），闲着的比例越小。
# 所以这类芯片和 GPU 一样，喜欢大矩阵、大批量。
