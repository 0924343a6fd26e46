"""
快速训练路径：fit(..., fast=True)
================================

`dlbook.train.fit` 有一个开关 `fast`：在 CUDA 上用 bfloat16 自动混合精度和 channels_last 内存格式，
还可以选择 `torch.compile` 与 CUDA 图。这个示例用同一个配方、同一个随机种子把 LeNet 训练几遍，
比较各条路径的速度与准确率：快速路径是不是真的更快，准确率是不是只在噪声范围内变化。
CPU 上混合精度与 channels_last 都不打开，`fast=True` 与默认路径逐位相同。
"""

# %%
import statistics

import torch
from torch import nn

import dlbook
from dlbook.bench import NOISE, environment, within_noise
from dlbook.data import fashion_mnist_loaders
from dlbook.fast import FastConfig, plan
from dlbook.models import LeNet
from dlbook.results import report
from dlbook.text import pad
from dlbook.train import fit, init_xavier

device = dlbook.get_device()
if device.type == "cuda":
    # float32 矩阵乘法用 TF32 张量核心（各条路径都一样）。不设时，
    # Inductor 编译时会为此提示一句（至少到 2.11 为止都是一条警告，
    # 会出现在页面上）。
    torch.set_float32_matmul_precision("high")
print(environment(device))
print("模式：", dlbook.current_mode())

# %% [markdown]
# ## 配方
#
# ReLU 与最大汇聚版的 LeNet（比 sigmoid 版离开训练初期的平台快得多，quick 模式的几轮也能学到东西），
# 小批量 SGD，学习率 0.1，批量 256。full 模式用全部 60000 张训练图像训练 10 轮；
# quick 模式只用 6000 张训练 2 轮、在 1000 张测试图像上评估。数据整块放在训练用的设备上（`TensorLoader`）。

# %%
lr = 0.1
batch_size = 256
epochs = dlbook.pick(quick=2, full=10)
subset = dlbook.pick(quick=6000, full=None)  # None：全部 60000 张
test_subset = dlbook.pick(quick=1000, full=None)  # None：全部 10000 张
# 速度相差不到 NOISE（10%）就当作测量噪声（within_noise，与“编译值不值”一页同）

paths: dict[str, bool | FastConfig] = {"默认": False, "fast=True": True}
if dlbook.current_mode() == "full" or device.type == "cuda":
    paths["编译"] = FastConfig(compile=True)
    if device.type == "cuda":
        paths["编译 + CUDA 图"] = FastConfig(compile=True, cuda_graphs=True)
else:
    print("quick 模式在 CPU 上不编译，以节省构建时间（编译用时见上一页）；")
    print("full 模式会加上编译的路径。")

# %% [markdown]
# ## 训练
#
# 每条路径都从同一份初始参数出发（每次重设种子再建模型），看到的小批量顺序也相同。
# 速度取除第一轮外各轮的中位数（第一轮含编译与预热），见 `dlbook.results.report`。

# %%
histories = {}
for name, fast in paths.items():
    dlbook.seed_everything(0)
    # 每条路径都新建数据迭代器：训练集的打乱顺序由它自己的随机数生成器决定，
    # 复用会接着上一次的顺序。
    train_iter, test_iter = fashion_mnist_loaders(
        batch_size, subset=subset, test_subset=test_subset, device=device
    )
    net = LeNet(activation=nn.ReLU, pool="max")
    net.apply(init_xavier)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    histories[name] = fit(
        net, train_iter, test_iter, epochs=epochs,
        optimizer=optimizer, device=device, fast=fast,
    )
    report("LeNet（ReLU）", model=net, history=histories[name], note=name)

# %% [markdown]
# ## 比较

# %%
def steady_speed(history) -> float:
    speeds = history.examples_per_sec
    return statistics.median(speeds[1:] or speeds)


base = histories["默认"]
columns = [
    ("测试准确率", 12), ("与默认路径差", 14), ("样本/秒", 11),
    ("相对速度", 10), ("第一轮（秒）", 14),
]
header = "".join(pad(title, width, align=">") for title, width in columns)
print(pad("路径", 14) + header)
for name, h in histories.items():
    speed = steady_speed(h)
    print(f"{pad(name, 14)}{h.test_acc[-1]:>12.4f}"
          f"{h.test_acc[-1] - base.test_acc[-1]:>+14.4f}{speed:>11,.0f}"
          f"{speed / steady_speed(base):>9.2f}×{h.seconds[0]:>14.1f}")
same = histories["fast=True"].step_loss == base.step_loss
print("fast=True 与默认路径每一步的损失逐位相同：", same)
if device.type == "cuda":
    print("（CUDA 上 fast=True 换用 channels_last，GPU 支持时还用 bfloat16，")
    print("损失不会逐位相同；要看的是准确率是否只在噪声范围内变化。）")

# %% [markdown]
# 速度的结论由上表的数字得出：与默认路径相差不到 10%（`NOISE`）的，算作噪声。
# 但先看这条路径在这台设备上究竟打开了什么（`dlbook.fast.plan`）：什么也没打开时，它与默认路径的计算完全相同，
# 测得的速度差不论多大都来自计时的条件（例如机器当时的负载），不能说谁更快。

# %%
plain = plan(False, device)
for name, h in histories.items():
    if name == "默认":
        continue
    ratio = steady_speed(h) / steady_speed(base)
    if plan(paths[name], device) == plain:
        verdict = (f"在 {device.type} 上什么也没打开，"
                   "计算与默认路径完全相同；\n"
                   f"  测得的 {ratio:.2f} 倍来自计时的条件，不是它更快")
    elif within_noise(steady_speed(base), steady_speed(h)):
        verdict = f"与默认路径相差不到 {NOISE:.0%}，在测量噪声之内"
    elif ratio > 1:
        verdict = f"比默认路径快，是它的 {ratio:.2f} 倍"
    else:
        verdict = f"比默认路径慢，只有它的 {ratio:.0%}"
    print(f"{name}：{verdict}")

# %% [markdown]
# 在 CPU 上，表里的前两条路径做的是完全相同的计算，速度的差别只来自计时的条件：与别的程序共用 CPU 时，
# 同一段训练前后两次的速度能差好几倍。先后各训练一遍、每条路径只计一两轮时，这种差别可以远远超过
# 10%——比较速度要像 `python -m dlbook.bench` 那样轮流、重复地测。在 GPU 上，bfloat16 可以让矩阵乘法和卷积走 Tensor Core，channels_last
# 可以让卷积省掉内部的格式转换；但转换数据类型和内存格式本身也要额外的内核，LeNet 这样的小网络计算量很小，
# 这些手段未必划算。小网络每一步只有几十个很小的内核，若时间主要花在启动内核上，那正是 CUDA 图要省掉的部分：
# 在 GPU 上构建本页时，上面的表格和结论会说明这次是不是这样。
