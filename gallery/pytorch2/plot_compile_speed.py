"""
编译值不值：每步用时、编译用时与回本步数
======================================

在构建网站的这台机器上实测：同一个训练步（前向、损失、反向、SGD 更新），即时执行要多久、编译后要多久，
编译本身要多久，以及要训练多少步才能把编译的时间赚回来。模型从小到大：一个小多层感知机、LeNet，
以及 ResNet-18（只在 full 模式下测：它在 CPU 上编译要几分钟）。
所有数字都是这次运行测出来的，旁边印着硬件、PyTorch 版本和日期；换一台机器，结论可能完全不同。
"""

# %%
import copy
import logging
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

import dlbook
from dlbook.bench import (
    NOISE, break_even, environment, inductor_cache_hits, synchronize,
    time_interleaved, within_noise,
)
from dlbook.models import LeNet, ResNet
from dlbook.plot import show

# 装了 CUDA 工具包却没有 GPU 的机器上，Inductor 会警告一句
# “No CUDA runtime is found”，与 CPU 上的编译无关。
logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)

dlbook.seed_everything(0)
device = dlbook.get_device()
if device.type == "cuda":
    # float32 矩阵乘法用 TF32 张量核心，即时执行与编译后的代码都一样；
    # 不设时，Inductor 编译时会为此提示一句（至少到 2.11 为止都是一条警告）。
    torch.set_float32_matmul_precision("high")
print(environment(device))
print("模式：", dlbook.current_mode())

# %% [markdown]
# ## 要比较的模型与设置
#
# 输入是随机张量（速度只与形状有关，与数据内容无关）。full 模式的批量是 256，与 d2l 训练这些模型时相同，
# quick 模式是 64；ResNet-18 用 d2l 的 $96\times 96$ 输入。每种模型各建两份相同的初始参数，一份即时执行，一份交给 `torch.compile`。

# %%
batch_size = dlbook.pick(quick=64, full=256)  # quick：CPU 上几秒测完
steps = dlbook.pick(quick=5, full=50)  # 每遍计时的步数（共五遍）
# 每步用时相差不到 NOISE（10%）就当作测量噪声（within_noise，见本页末尾）


def small_mlp() -> nn.Module:
    return nn.Sequential(
        nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)
    )


models = {
    "小 MLP": (small_mlp, 28),
    "LeNet": (LeNet, 28),
}
if dlbook.current_mode() == "full":
    models["ResNet-18"] = (ResNet, 96)
else:
    print("quick 模式不测 ResNet-18：它在 CPU 上编译要几分钟。")
    print("设置 DLBOOK_MODE=full 可以测它。")


def make_step(model: nn.Module, X: torch.Tensor, y: torch.Tensor):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    def step() -> None:
        loss = F.cross_entropy(model(X), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


# %% [markdown]
# ## 测量
#
# - **编译用时**：编译后模块的第一步（前向图和反向图都在这一步里编译）减去一个普通步的用时；
# - **每步用时**：即时执行与编译后的两个训练步各热身 2 步，然后轮流计时五遍（每遍 `steps` 步）、各取最快的一遍
#   （`dlbook.bench.time_interleaved`）。轮流计时让机器负载的起伏平均地落在两边，别的程序只会让某一遍变慢；
# - **回本步数** = 编译用时 ÷（即时执行每步 − 编译后每步），十万步以上不再细分（`dlbook.bench.break_even`）。
#   编译后反而更慢时，永远回不了本；
#   两者相差不到 `NOISE`（10%）时，这次测量看不出谁快，也就不算回本步数。
#
# 计时前后都调用 `synchronize`：GPU 是异步执行的，不同步就只量到了把任务排进队列的时间。
#
# 编译的结果缓存在磁盘上。这台机器以前编译过同样的图时，第一步只是从缓存里取出编译好的代码，
# 量到的“编译用时”就比第一次真正编译小得多。`dlbook.bench.inductor_cache_hits` 读 Dynamo 的计数器
# （内部接口），记着 Inductor 从缓存里直接取出了几张整图，下面把它一并打印出来。编译好的 C++ 内核
# 还有一层缓存，它不算在内，所以没有标注也不保证编译是从头做的。

# %%
rows = []
for name, (build, size) in models.items():
    torch.manual_seed(0)
    eager_model = build().to(device)
    compiled_model = torch.compile(copy.deepcopy(eager_model))
    X = torch.randn(batch_size, 1, size, size, device=device)
    y = torch.randint(0, 10, (batch_size,), device=device)
    eager_step = make_step(eager_model, X, y)
    compiled_step = make_step(compiled_model, X, y)

    hits_before = inductor_cache_hits()
    synchronize(device)
    start = time.perf_counter()
    compiled_step()  # 第一次调用：编译
    synchronize(device)
    first_step_s = time.perf_counter() - start
    cached = inductor_cache_hits() - hits_before  # 其中有几张图取自缓存

    times = time_interleaved(
        {"eager": eager_step, "compiled": compiled_step},
        steps=steps, warmup=2, device=device,
    )
    eager_s, compiled_s = times["eager"], times["compiled"]
    compile_s = max(first_step_s - eager_s, 0.0)
    # 回本步数 = 编译用时 ÷ 每步省下的时间
    # （相差在噪声之内时“看不出”，编译后更慢时“永不”）
    steps_to_repay = break_even(compile_s, eager_s, compiled_s)
    rows.append((name, eager_s, compiled_s, compile_s, cached, steps_to_repay))
    print(f"{name}：即时执行 {eager_s * 1e3:.2f} 毫秒/步，"
          f"编译后 {compiled_s * 1e3:.2f} 毫秒/步"
          f"（{eager_s / compiled_s:.2f} 倍）")
    from_cache = f"（{cached} 张图取自缓存）" if cached else ""
    print(f"  编译 {compile_s:.1f} 秒{from_cache}，回本 {steps_to_repay}")

# %% [markdown]
# ## 结果

# %%
from dlbook.text import pad  # 按终端里的宽度补空格：汉字占两列

columns = [
    ("即时（毫秒/步）", 18), ("编译后（毫秒/步）", 20),
    ("加速", 8), ("编译（秒）", 11),
]
header = "".join(pad(title, width, align=">") for title, width in columns)
print(pad("模型", 10) + header + "  回本步数")
for name, eager_s, compiled_s, compile_s, cached, repay in rows:
    mark = "*" if cached else " "
    print(f"{pad(name, 10)}{eager_s * 1e3:>18.2f}{compiled_s * 1e3:>20.2f}"
          f"{eager_s / compiled_s:>7.2f}×{compile_s:>10.1f}{mark}"
          f"  {repay}")
if any(r[4] for r in rows):
    print("* 有图直接取自磁盘缓存：在没编译过这些图的机器上，"
          "编译要久得多，回本步数也更多。")
if any(r[5] == "看不出" for r in rows):
    print(f"回本步数“看不出”：每步用时相差不到 {NOISE:.0%}，在测量噪声之内。")
print(environment(device))

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3.2))
names = [r[0] for r in rows]
speedups = [r[1] / r[2] for r in rows]
colors = [
    "tab:gray" if within_noise(r[1], r[2])
    else "tab:green" if v > 1 else "tab:red"
    for r, v in zip(rows, speedups)
]
ax1.bar(names, speedups, color=colors)
ax1.axhline(1.0, color="black", linewidth=0.8)
# 每步用时相差不到 NOISE 的范围（灰色的柱子落在这里）
ax1.axhspan(
    1 / (1 + NOISE), 1 / (1 - NOISE), color="tab:gray", alpha=0.15, zorder=0
)
ax1.set(ylabel="即时执行用时 ÷ 编译后用时",
        title="每步加速（大于 1 才更快，灰带内算噪声）")
bars = ax2.bar(names, [r[3] for r in rows], color="tab:gray")
for bar, r in zip(bars, rows):
    if r[4]:  # 有图取自缓存
        bar.set_hatch("//")
ax2.set(ylabel="秒", title="编译用时（第一步；斜线：取自缓存）")
fig.suptitle(f"{device.type.upper()}，批量 {batch_size}", fontsize=10)
fig.tight_layout()
show(fig)

# %% [markdown]
# ## 这次测量说明了什么
#
# 回本步数换算成“训练几轮 Fashion-MNIST”（每轮 60000 张图像）更直观：

# %%
steps_per_epoch = 60000 / batch_size
for name, eager_s, compiled_s, compile_s, cached, _ in rows:
    change = compiled_s / eager_s - 1  # 负数：编译后更快
    if within_noise(eager_s, compiled_s):
        print(f"{name}：编译前后每步用时相差 {abs(change):.1%}，"
              f"不到 {NOISE:.0%}，")
        print("  在测量噪声之内，看不出编译是否更快")
    elif change < 0:
        epochs_needed = compile_s / (eager_s - compiled_s) / steps_per_epoch
        print(f"{name}：编译后每步快 {-change:.0%}，"
              f"训练约 {epochs_needed:.2f} 轮"
              f"（批量 {batch_size}）后编译开始划算")
        if cached:
            print("  （编译用时取自缓存，偏小；没编译过的机器上要更多轮）")
    else:
        print(f"{name}：编译后每步慢 {change:.0%}，在这台机器上编译不划算")

# %% [markdown]
# 编译能省下的是三样东西：**Python 与调度的开销**（每个运算都要经过 Python、分派、检查形状）、
# **内存流量**（逐元素运算融合之后，中间结果不必写回内存再读出来），以及 GPU 上的**内核启动次数**。
# 矩阵乘法和卷积本身省不下来：无论编译与否，它们都交给同样的库（CPU 上的 oneDNN/MKL，GPU 上的 cuBLAS/cuDNN）。
# 所以一个模型能从编译中得到多少，取决于它的时间有多少花在这三样上：
#
# - 在 CPU 上，小多层感知机的时间几乎全在矩阵乘法上，能融合的只有 ReLU、加偏置和损失，收益通常很小；
#   编译后的代码每次调用还要检查守卫、经过一层包装，收益可能被抵掉，甚至更慢。
# - LeNet 的 sigmoid 和平均汇聚都是读写内存多、计算少的运算，融合它们有实在的好处；但在 CPU 上卷积仍占大头。
# - 在 GPU 上，小模型每一步真正的计算只有几十微秒，时间大多花在启动内核和 Python 开销上，
#   编译（尤其是 `mode="reduce-overhead"` 的 CUDA 图）收益往往最大；大模型的收益主要来自融合省下的内存流量。
# - 编译用时是一次性的，还会缓存在磁盘上（同一台机器第二次运行快得多，上面标了“取自缓存”的就是这样）。
#   要训练几万步的模型，几十秒的编译很快就能回本；只跑几十步的实验就不值得。
#
# 在共享的机器上，别的程序会让单次测量上下浮动。所以上面的结论把每步用时相差不到 10%（`NOISE`）的
# 都当作噪声，不说谁快；超过这个界限的，也只说明这一次运行。
