"""
用块搭出来的 VGG
================

VGG 把网络看成若干个相同模式的“块”：每块是几个 $3\\times 3$ 卷积再加一个最大汇聚。
这个示例先验证两个 $3\\times 3$ 卷积与一个 $5\\times 5$ 卷积看到的输入区域一样大、参数却更少，
再逐块查看 VGG-11 的形状，比较原始宽度与通道数除以 4 的窄版本，最后按《动手学深度学习》的配方
训练窄版本：学习率 0.05，批量大小 128，完整模式在 $224\\times 224$ 的输入上训练 10 轮。
quick 模式用 $32\\times 32$ 的输入和 256 张训练图像训练 2 轮，只为让每一行代码都执行一遍。
"""

# %%
import torch
from torch import nn

import dlbook
from dlbook.counting import count_flops, num_params, summary
from dlbook.data import fashion_mnist_loaders
from dlbook.models import SmallVGG11, vgg11
from dlbook.models.vgg import VGG11_ARCH, vgg_block
from dlbook.plot import plot_history, show
from dlbook.results import report
from dlbook.train import fit, init_xavier

dlbook.seed_everything(0)
device = dlbook.get_device()
print("设备：", device, " 模式：", dlbook.current_mode())

# %% [markdown]
# ## VGG 块
#
# `vgg_block(num_convs, in_channels, out_channels)` 是 `num_convs` 个“$3\times 3$ 卷积（填充 1）+ ReLU”，
# 再接一个 $2\times 2$、步幅 2 的最大汇聚。卷积不改变高和宽，汇聚把它们减半。

# %%
block = vgg_block(2, 1, 16)
print(block)
x = torch.rand(1, 1, 32, 32)
print("输入 (1, 1, 32, 32) → 输出", tuple(block(x).shape))

# %% [markdown]
# ## 两个 $3\times 3$ 胜过一个 $5\times 5$
#
# 两个叠在一起的 $3\times 3$ 卷积，输出的每个元素能“看到”输入上 $5\times 5$ 的区域（感受野），
# 和一个 $5\times 5$ 卷积一样。下面用求梯度的办法验证：对输出中心的那个元素求关于输入的梯度，
# 梯度不为零的位置就是它的感受野。参数量则是 $2\times 3^2 c^2 = 18c^2$ 对 $5^2 c^2 = 25c^2$
# （$c$ 为通道数，不计偏置），而且中间还多了一个非线性激活。

# %%
def receptive_field(layers: nn.Module, size: int = 11) -> tuple[int, int]:
    """输出中心元素的感受野的高和宽。

    对它求关于输入的梯度，数梯度不为零的行数和列数。
    """
    x = torch.rand(1, layers[0].in_channels, size, size, requires_grad=True)
    y = layers(x)
    y[0, 0, y.shape[-2] // 2, y.shape[-1] // 2].backward()
    nonzero = x.grad[0].abs().sum(dim=0) > 0  # (size, size)
    return int(nonzero.any(dim=1).sum()), int(nonzero.any(dim=0).sum())


c = 64
two_3x3 = nn.Sequential(
    nn.Conv2d(c, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1)
)
one_5x5 = nn.Sequential(nn.Conv2d(c, c, 5, padding=2))
for name, layers in [("两个 3×3", two_3x3), ("一个 5×5", one_5x5)]:
    print(f"{name}：感受野 {receptive_field(layers)}，"
          f"参数 {num_params(layers):,}")

# %% [markdown]
# ## VGG-11 的结构
#
# `VGG11_ARCH` 描述卷积部分：每个元组是一个块的（卷积层数，输出通道数）。8 个卷积层加上 3 个全连接层，
# 共 11 个带权重的层，这就是名字里的 11。下面逐块查看通道数除以 4 的窄版本 `SmallVGG11`
# （即 `MODELS["vgg11"]`）在 $224\times 224$ 输入下的形状：每过一个块，高和宽减半，通道数（除最后一块外）翻倍。

# %%
print("VGG11_ARCH =", VGG11_ARCH)
print("卷积层数：", sum(n for n, _ in VGG11_ARCH))
net = SmallVGG11()
print(summary(net, (1, 1, 224, 224), depth=2))

# %% [markdown]
# ## 宽度的代价
#
# 原始宽度的 VGG-11 参数和计算量都大得多。模型建在 `meta` 设备上，只数不算。
# 卷积层的参数和计算量都与“输入通道数 × 输出通道数”成正比，通道数都除以 4，它们就变成约 $1/16$；
# 第一个全连接层只有输入变窄了，所以只缩小到 $1/4$。

# %%
with torch.device("meta"):
    wide, narrow = vgg11(), SmallVGG11()
for name, model in [("VGG-11", wide), ("VGG-11/4", narrow)]:
    conv_params = num_params(model.features)
    fc_params = num_params(model.classifier)
    flops = count_flops(model, (1, 1, 224, 224))
    print(f"{name:<9} 卷积参数 {conv_params:>11,}  "
          f"全连接参数 {fc_params:>12,}  FLOPs {flops:>15,}")

# %% [markdown]
# ## 训练
#
# 超参数集中在一处。完整模式是《动手学深度学习》的配方：窄版 VGG-11，输入放大到 $224\times 224$，
# 批量 128，学习率 0.05，训练 10 轮。quick 模式用 $32\times 32$ 的输入（5 个块之后正好剩 $1\times 1$，
# 是 VGG-11 能处理的最小边长），256 张训练图像、256 张测试图像，训练 2 轮。

# %%
resize = dlbook.pick(quick=32, full=224)  # 图像边长（像素）
batch_size = dlbook.pick(quick=64, full=128)
lr = 0.05  # 学习率
epochs = dlbook.pick(quick=2, full=10)
# 训练图像和测试图像的张数；None 表示全部（训练集 60000 张，测试集 10000 张）
subset = dlbook.pick(quick=256, full=None)
test_subset = dlbook.pick(quick=256, full=None)

train_iter, test_iter = fashion_mnist_loaders(
    batch_size, resize=resize,
    subset=subset, test_subset=test_subset, device=device,
)
net = SmallVGG11()
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
    "VGG-11/4", model=net, history=history, note=f"{resize}×{resize}"
)

# %%
show(plot_history(history, title="VGG-11/4 在 Fashion-MNIST 上"))
