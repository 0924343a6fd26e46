"""
稠密连接网络（DenseNet）
========================

DenseNet 的稠密块里，每一层的输入是块的输入与前面所有层的输出在通道维上的连结；
过渡层用 $1\\times 1$ 卷积减少通道、用平均汇聚把高和宽减半。这个示例先看通道数怎样在稠密块里增长、
又怎样被过渡层压下来，再逐块查看整个网络，最后按《动手学深度学习》的配方训练它：
学习率 0.1，批量大小 256，完整模式在 $96\\times 96$ 的输入上训练 10 轮。
quick 模式用 $32\\times 32$ 的输入和 1024 张训练图像训练 2 轮（32 步），只为让每一行代码都执行一遍（用时见下面的输出）。
"""

# %%
import torch

import dlbook
from dlbook.counting import num_params, summary
from dlbook.data import fashion_mnist_loaders
from dlbook.models import DenseBlock, DenseNet, ResNet
from dlbook.models.densenet import transition_block
from dlbook.plot import plot_history, show
from dlbook.results import report
from dlbook.train import fit, init_xavier

dlbook.seed_everything(0)
device = dlbook.get_device()
print("设备：", device, " 模式：", dlbook.current_mode())

# %% [markdown]
# ## 稠密块：通道数按增长率增加
#
# 一个有 2 层、增长率为 10 的稠密块，输入 3 个通道。第一层看到 3 个通道、输出 10 个；
# 把它们连结到输入上，第二层看到 $3 + 10 = 13$ 个通道、再输出 10 个；块的输出是 $3 + 2\times 10 = 23$ 个通道。
# 每层是“批量归一化 → ReLU → $3\times 3$ 卷积”，高和宽不变。

# %%
block = DenseBlock(2, 3, 10)
x = torch.rand(4, 3, 8, 8)
print("各层看到的通道数：", [layer[0].num_features for layer in block.layers])
print("输入", tuple(x.shape), "→ 输出", tuple(block(x).shape),
      " out_channels =", block.out_channels)

# %% [markdown]
# ## 过渡层：把通道数和分辨率压下来
#
# 稠密块只会让通道越来越多。过渡层用 $1\times 1$ 卷积把 23 个通道减到 10 个，
# 再用 $2\times 2$、步幅 2 的平均汇聚把高和宽减半。$1\times 1$ 卷积的参数只有 $23\times 10$ 个（不带偏置）。

# %%
transition = transition_block(23, 10)
print(transition)
print("输入", tuple(block(x).shape),
      "→ 输出", tuple(transition(block(x)).shape))
print("1×1 卷积的参数：", num_params(transition[2]))

# %% [markdown]
# ## 整个网络
#
# 开头与 ResNet 相同，然后是 4 个稠密块（各 4 层、增长率 32），相邻两块之间是把通道数减半的过渡层。
# 下面跟着通道数走一遍：每个稠密块增加 $4\times 32 = 128$ 个通道，每个过渡层减掉一半。

# %%
net = DenseNet()
channels = 64
for module in net.blocks:
    if isinstance(module, DenseBlock):
        print(f"稠密块：{channels:>3} → {module.out_channels:>3} 个通道")
        channels = module.out_channels
    else:
        out_channels = module[2].out_channels
        print(f"过渡层：{channels:>3} → {out_channels:>3} 个通道，高和宽减半")
        channels = out_channels
print(summary(net, (1, 1, 96, 96), depth=2))
print(f"参数量：DenseNet {num_params(net):,}，"
      f"ResNet-18 {num_params(ResNet()):,}")

# %% [markdown]
# 每层只新增 32 个通道、前面的特征都能直接复用，所以 DenseNet 的参数量只有 ResNet-18 的十几分之一。
#
# ## 训练
#
# 超参数集中在一处。完整模式是《动手学深度学习》的配方：输入放大到 $96\times 96$，批量 256，
# 学习率 0.1，训练 10 轮。quick 模式用 $32\times 32$ 的输入（三个过渡层各把边长减半，DenseNet 能处理的
# 最小边长是 29），1024 张训练图像、512 张测试图像，批量 64，训练 2 轮，一共 32 步。

# %%
resize = dlbook.pick(quick=32, full=96)  # 图像边长（像素）
batch_size = dlbook.pick(quick=64, full=256)
lr = 0.1  # 学习率
epochs = dlbook.pick(quick=2, full=10)
# 训练图像和测试图像的张数；None 表示全部（训练集 60000 张，测试集 10000 张）
subset = dlbook.pick(quick=1024, full=None)
test_subset = dlbook.pick(quick=512, full=None)

train_iter, test_iter = fashion_mnist_loaders(
    batch_size, resize=resize,
    subset=subset, test_subset=test_subset, device=device,
)
net = DenseNet()
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
    "DenseNet", model=net, history=history, note=f"{resize}×{resize}"
)

# %%
show(plot_history(history, title="DenseNet 在 Fashion-MNIST 上"))
