"""
含并行连结的网络（GoogLeNet）
=============================

GoogLeNet 的基本单元是 Inception 块：四条路径并行地用 $1\\times 1$、$3\\times 3$、$5\\times 5$ 卷积和
$3\\times 3$ 最大汇聚提取信息，结果在通道维上连结起来。这个示例拆开一个 Inception 块看各路的输出形状，
数一数 $1\\times 1$ 卷积先降通道省下了多少计算，数清 GoogLeNet 到底有多少层，再按《动手学深度学习》的配方训练它：
学习率 0.1，批量大小 128，完整模式在 $96\\times 96$ 的输入上训练 10 轮。
quick 模式用 $32\\times 32$ 的输入和 128 张训练图像训练 2 轮，只为让每一行代码都执行一遍。
"""

# %%
import torch
from torch import nn

import dlbook
from dlbook.counting import count_flops, summary
from dlbook.data import fashion_mnist_loaders
from dlbook.models import GoogLeNet, Inception
from dlbook.plot import plot_history, show
from dlbook.results import report
from dlbook.train import fit, init_xavier

dlbook.seed_everything(0)
device = dlbook.get_device()
print("设备：", device, " 模式：", dlbook.current_mode())

# %% [markdown]
# ## 拆开一个 Inception 块
#
# 取 GoogLeNet 的第一个 Inception 块：输入 192 个通道，四条路径分别输出 64、128、32、32 个通道。
# 在 $96\times 96$ 的输入下，它收到的特征图是 $12\times 12$。每条路径都用填充保持高和宽不变，
# 所以四路的输出可以在通道维上连结成 $64+128+32+32 = 256$ 个通道。

# %%
block = Inception(192, 64, (96, 128), (16, 32), 32)
x = torch.rand(1, 192, 12, 12)
with torch.no_grad():
    for name in ["branch1", "branch2", "branch3", "branch4"]:
        print(f"{name}：{tuple(getattr(block, name)(x).shape)}")
    print("连结后：", tuple(block(x).shape),
          " out_channels =", block.out_channels)

# %% [markdown]
# ## $1\times 1$ 卷积省下的计算
#
# 第二、三条路径先用 $1\times 1$ 卷积把 192 个通道降到 96 和 16 个，再做 $3\times 3$ 和 $5\times 5$ 卷积。
# 如果直接在 192 个通道上做这两个卷积，计算量是多少？

# %%
with_reduction = count_flops(block.branch2, x) + count_flops(block.branch3, x)
without = (count_flops(nn.Conv2d(192, 128, 3, padding=1), x)
           + count_flops(nn.Conv2d(192, 32, 5, padding=2), x))
print(f"先降通道：{with_reduction:,} FLOPs")
print(f"不降通道：{without:,} FLOPs（{without / with_reduction:.1f} 倍）")

# %% [markdown]
# ## GoogLeNet 有多少层
#
# 论文说 GoogLeNet “深 22 层”，指的是沿最长的路径数带参数的层：开头 3 个卷积层，
# 9 个 Inception 块各 2 层（$1\times 1$ 再 $3\times 3$ 或 $5\times 5$），最后 1 个全连接层。
# 如果把所有卷积层都数上（四条路径是并列的），卷积层就多得多，但也远远不到“上千层”。

# %%
net = GoogLeNet()
inceptions = [m for m in net.modules() if isinstance(m, Inception)]
convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
print("Inception 块：", len(inceptions))
print("最长路径上带参数的层：", 3 + 2 * len(inceptions) + 1)
print("卷积层总数：", len(convs), " 全连接层：", len(linears))

# %% [markdown]
# ## 逐个模块查看形状
#
# `b1` 用步幅 2 的卷积和最大汇聚把 $96$ 缩小到 $24$，此后每个模块末尾 $3\times 3$、步幅 2 的最大汇聚把高和宽减半：$24 \to 12 \to 6 \to 3$；
# 最后全局平均汇聚，接一个全连接层。

# %%
print(summary(net, (1, 1, 96, 96)))

# %% [markdown]
# ## 训练
#
# 超参数集中在一处。完整模式是《动手学深度学习》的配方：输入放大到 $96\times 96$，批量 128，
# 学习率 0.1，训练 10 轮。quick 模式用 $32\times 32$ 的输入，128 张训练图像、128 张测试图像，训练 2 轮；
# 这时后两个模块里的特征图只剩 $2\times 2$ 和 $1\times 1$。

# %%
resize = dlbook.pick(quick=32, full=96)  # 图像边长（像素）
batch_size = dlbook.pick(quick=64, full=128)
lr = 0.1  # 学习率
epochs = dlbook.pick(quick=2, full=10)
# 训练图像和测试图像的张数；None 表示全部（训练集 60000 张，测试集 10000 张）
subset = dlbook.pick(quick=128, full=None)
test_subset = dlbook.pick(quick=128, full=None)

train_iter, test_iter = fashion_mnist_loaders(
    batch_size, resize=resize,
    subset=subset, test_subset=test_subset, device=device,
)
net = GoogLeNet()
net.apply(init_xavier)
optimizer = torch.optim.SGD(net.parameters(), lr=lr)
history = fit(
    net, train_iter, test_iter,
    epochs=epochs, optimizer=optimizer, device=device, fast=True,
)
print(f"输入 {resize}×{resize}，批量 {batch_size}，"
      f"训练了 {epochs} 轮，共 {epochs * len(train_iter)} 步")
print(history.summary())
result = report(
    "GoogLeNet", model=net, history=history, note=f"{resize}×{resize}"
)

# %%
show(plot_history(history, title="GoogLeNet 在 Fashion-MNIST 上"))
