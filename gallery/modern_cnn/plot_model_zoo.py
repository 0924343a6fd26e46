"""
七个网络的参数量与计算量
========================

本章要讲的网络，连同上一章的 LeNet，都在 `dlbook.models` 里。这个示例不训练任何模型，
只按《动手学深度学习》在 Fashion-MNIST 上使用的输入尺寸，把每个网络的参数量和一次前向传播的
浮点运算次数（FLOPs）数出来，画在同一张图上。两个数字都由代码数出，不是抄来的。
"""

# %%
import torch

from dlbook.counting import count_flops, num_params
from dlbook.models import MODELS, vgg11
from dlbook.text import pad

# %% [markdown]
# ## 逐个数一数
#
# 每个模型类都带着类属性 `input_shape`：训练它时单张输入的形状（通道、高、宽）。
# `count_flops` 让一张这样的图像走一遍网络，按惯例把一次乘加记作 2 次浮点运算。
# 除了 `MODELS` 里登记的模型，再加上原始宽度的 VGG-11：`MODELS["vgg11"]` 是通道数除以 4 的窄版本，
# 两者放在一起正好看出“宽度”对参数量和计算量的影响。
#
# 模型建在 PyTorch 的 `meta` 设备上：这种张量只有形状和类型、没有数据，前向传播不做真正的计算，
# 却照样能数出参数个数和每个算子的运算量。原始宽度的 VGG-11 一次前向传播要算上百亿次，
# 这样几乎不花时间。

# %%
with torch.device("meta"):
    entries = [  # (名字, 发表年份, 模型)
        ("LeNet", 1998, MODELS["lenet"]()),
        ("AlexNet", 2012, MODELS["alexnet"]()),
        ("VGG-11", 2014, vgg11()),
        ("VGG-11/4", 2014, MODELS["vgg11"]()),  # 通道数除以 4 的窄版本
        ("NiN", 2013, MODELS["nin"]()),
        ("GoogLeNet", 2014, MODELS["googlenet"]()),
        ("ResNet-18", 2015, MODELS["resnet18"]()),
        ("DenseNet", 2016, MODELS["densenet"]()),
    ]

rows = []
for name, year, model in entries:
    shape = type(model).input_shape
    params, flops = num_params(model), count_flops(model, (1, *shape))
    rows.append((name, year, shape, params, flops))

header = [("模型", 11, "<"), ("年份", 5, ">"), ("输入形状", 15, ">"),
          ("参数量", 13, ">"), ("GFLOPs", 9, ">")]
print("".join(pad(title, width, align=align) for title, width, align in header))
for name, year, shape, params, flops in rows:
    print(f"{name:<11}{year:>5}{shape!s:>15}{params:>13,}{flops / 1e9:>9.3f}")

# %% [markdown]
# 几个值得注意的地方：
#
# - 表中 VGG-11/4 就是 `MODELS["vgg11"]`。AlexNet 和 VGG-11 的参数大多在最后的全连接层里；NiN 去掉了全连接层，参数量一下子少了一个数量级多。
# - 参数多不等于计算多。VGG-11 的计算量远高于 AlexNet，因为它在大尺寸的特征图上堆了更多 $3\times 3$ 卷积；
#   把通道数除以 4，卷积的计算量大约变成 $1/16$；参数大头的全连接部分里只有第一个全连接层的输入变窄、缩小到 $1/4$，
#   整个全连接部分只缩小到约 $1/3$。
# - GoogLeNet、ResNet-18 和 DenseNet 的输入是 $96\times 96$，比其他网络的 $224\times 224$ 小得多，
#   它们的 FLOPs 因此不能与 $224\times 224$ 的网络直接比较：同一个网络的卷积计算量与输入的像素数成正比。
#
# ## 画在一张图上
#
# 两个坐标轴都取对数：参数量和计算量都跨越了好几个数量级。

# %%
import matplotlib.pyplot as plt

from dlbook.plot import show

# 标注默认放在点的右上方；这几个挪一挪，免得与邻居重叠。
# 名字: ((水平偏移, 垂直偏移), 对齐方式)，偏移的单位是磅
placement = {
    "GoogLeNet": ((-6, 6), "right"),
    "ResNet-18": ((6, -12), "left"),
    "VGG-11/4": ((8, -4), "left"),
}
fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
for name, year, shape, params, flops in rows:
    color = "tab:red" if shape[-1] == 224 else "tab:blue"
    ax.scatter(params, flops, s=40, color=color)
    offset, ha = placement.get(name, ((6, 4), "left"))
    ax.annotate(
        f"{name}（{year}）", (params, flops),
        textcoords="offset points", xytext=offset, ha=ha, fontsize=9,
    )
ax.scatter([], [], color="tab:red", label="输入 224×224")
ax.scatter([], [], color="tab:blue", label="输入 96×96 或 28×28")
ax.set(
    xscale="log", yscale="log",
    xlabel="参数量", ylabel="一次前向传播的 FLOPs（单张图像）",
)
ax.set_xlim(right=ax.get_xlim()[1] * 8)  # 给最右边的标注留出地方
ax.set_ylim(top=ax.get_ylim()[1] * 3)  # 最上面的标注（VGG-11）不压在边框上
ax.grid(alpha=0.3, which="both")
ax.legend(loc="lower right")
show(fig)
