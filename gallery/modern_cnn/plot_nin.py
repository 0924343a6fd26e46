"""
网络中的网络（NiN）
===================

NiN 在每个卷积层后面接两个 $1\\times 1$ 卷积，相当于在每个像素位置上放一个小小的多层感知机；
网络末尾不用全连接层，而是让最后一层直接输出 10 个通道，对每个通道做全局平均汇聚得到 10 个类别的分数。
这个示例查看 NiN 的形状和参数，验证“全局平均汇聚就是对每个通道求平均”，再按《动手学深度学习》的配方训练它：
学习率 0.1，批量大小 128，完整模式在 $224\\times 224$ 的输入上训练 10 轮。
quick 模式用 $68\\times 68$ 的输入和 256 张训练图像训练 2 轮，只为让每一行代码都执行一遍。
"""

# %%
import torch

import dlbook
from dlbook.counting import num_params, summary
from dlbook.data import fashion_mnist_loaders
from dlbook.models import AlexNet, NiN
from dlbook.models.nin import nin_block
from dlbook.plot import plot_history, show
from dlbook.results import report
from dlbook.text import pad
from dlbook.train import fit, init_xavier

dlbook.seed_everything(0)
device = dlbook.get_device()
print("设备：", device, " 模式：", dlbook.current_mode())

# %% [markdown]
# ## NiN 块
#
# 一个 NiN 块是一个普通卷积加两个 $1\times 1$ 卷积，每个后面都有 ReLU。$1\times 1$ 卷积在每个像素位置上
# 把 $c$ 个通道的值做一次全连接（上一章“多输入多输出通道”一节验证过），
# 所以两个 $1\times 1$ 卷积就是一个作用在每个像素上的两层感知机，而且所有位置共用同一组权重。

# %%
block = nin_block(1, 96, kernel_size=11, stride=4)
print(block)
x = torch.rand(1, 1, 224, 224)
print("输入 (1, 1, 224, 224) → 输出", tuple(block(x).shape))

# %% [markdown]
# ## 逐层查看形状
#
# 卷积核大小、步幅和通道数都沿用 AlexNet：$11\times 11$ 步幅 4 的 96 通道、$5\times 5$ 的 256 通道、
# $3\times 3$ 的 384 通道，每个后面跟一个 $3\times 3$、步幅 2 的最大汇聚。
# 最后一个 NiN 块输出 10 个通道（每个类别一个），全局平均汇聚把每个 $5\times 5$ 的通道变成一个数。

# %%
net = NiN()
print(summary(net, (1, 1, 224, 224), depth=2))

# %% [markdown]
# ## 没有全连接层，参数少了一个数量级
#
# AlexNet 的全连接部分有四千多万个参数；NiN 负责分类的只是最后一个 NiN 块，全局平均汇聚没有参数。

# %%
alexnet = AlexNet()
print(f"{pad('AlexNet：', 9)}参数 {num_params(alexnet):>11,}，"
      f"其中全连接部分 {num_params(alexnet.classifier):>11,}")
print(f"{pad('NiN：', 9)}参数 {num_params(net):>11,}，"
      f"其中最后一个 NiN 块 {num_params(net.features[-1]):>9,}")

# %% [markdown]
# ## 全局平均汇聚
#
# `nn.AdaptiveAvgPool2d((1, 1))` 对每个通道的所有位置求平均。下面直接对最后一个块的输出按高和宽求平均，
# 与整个网络的输出比较。网络里有暂退层，所以先切换到评估模式。

# %%
net.eval()
x = torch.rand(2, 1, 224, 224)
with torch.no_grad():
    feature_maps = net.features(x)  # (2, 10, 5, 5)
    print("最后一个块的输出形状：", tuple(feature_maps.shape))
    averaged = feature_maps.mean(dim=(2, 3))  # (2, 10)
    print("按高和宽求平均 == 网络输出：", torch.allclose(averaged, net(x)))

# %% [markdown]
# ## 训练
#
# 超参数集中在一处。完整模式是《动手学深度学习》的配方：输入放大到 $224\times 224$，批量 128，
# 学习率 0.1，训练 10 轮。quick 模式用 $68\times 68$ 的输入（NiN 能处理的最小边长是 67），
# 256 张训练图像、256 张测试图像，训练 2 轮。

# %%
resize = dlbook.pick(quick=68, full=224)  # 图像边长（像素）
batch_size = dlbook.pick(quick=64, full=128)
lr = 0.1  # 学习率
epochs = dlbook.pick(quick=2, full=10)
# 训练图像和测试图像的张数；None 表示全部（训练集 60000 张，测试集 10000 张）
subset = dlbook.pick(quick=256, full=None)
test_subset = dlbook.pick(quick=256, full=None)

train_iter, test_iter = fashion_mnist_loaders(
    batch_size, resize=resize,
    subset=subset, test_subset=test_subset, device=device,
)
net = NiN()
net.apply(init_xavier)
optimizer = torch.optim.SGD(net.parameters(), lr=lr)
history = fit(
    net, train_iter, test_iter,
    epochs=epochs, optimizer=optimizer, device=device, fast=True,
)
print(f"输入 {resize}×{resize}，批量 {batch_size}，"
      f"训练了 {epochs} 轮，共 {epochs * len(train_iter)} 步")
print(history.summary())
result = report("NiN", model=net, history=history, note=f"{resize}×{resize}")

# %%
show(plot_history(history, title="NiN 在 Fashion-MNIST 上"))
