"""
一个卷积块做了什么
==================

卷积网络由一个个“卷积 → 激活 → 汇聚”块堆叠而成。这里用四个手工设计的卷积核搭一个这样的块，
把一张 Fashion-MNIST 图像送进去，看看每一步之后张量的形状和内容。真正的网络里卷积核是学出来的，
但每一步做的事情完全一样。
"""

# %%
import matplotlib.pyplot as plt
import torch
from torch import nn

import dlbook
from dlbook.data import FASHION_MNIST_CLASSES_ZH, load_fashion_mnist
from dlbook.plot import show

images, labels = load_fashion_mnist("test")
x = images[0].float().div(255).reshape(1, 1, 28, 28)  # (B, C, H, W)
print(f"输入形状 {tuple(x.shape)}，类别：{FASHION_MNIST_CLASSES_ZH[labels[0]]}")

# %% [markdown]
# ## 搭一个卷积块
#
# 卷积层有 1 个输入通道、4 个输出通道，所以它有 4 个 $3\times 3$ 的卷积核，每个产生一张特征图。
# 我们把它们设成 Sobel 边缘检测核 $\mathbf{G}$ 及其变体：$\mathbf{G}$ 对“左暗右亮”的竖直边缘给出正响应，
# $-\mathbf{G}$ 对“左亮右暗”的边缘给出正响应，$\mathbf{G}^\top$ 和 $-\mathbf{G}^\top$ 则对应水平边缘。
# 填充 1 让特征图保持 $28\times 28$；ReLU 把负响应截为 0；$2\times 2$ 最大汇聚把高和宽各减半。

# %%
sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
# 形状 (4, 1, 3, 3)：(输出通道, 输入通道, 高, 宽)
kernels = torch.stack([sobel, -sobel, sobel.T, -sobel.T]).unsqueeze(1)
names = ["左暗右亮", "左亮右暗", "上暗下亮", "上亮下暗"]

block = nn.Sequential(
    nn.Conv2d(1, 4, kernel_size=3, padding=1, bias=False),
    nn.ReLU(),
    nn.MaxPool2d(kernel_size=2),
)
with torch.no_grad():
    block[0].weight.copy_(kernels)
block

# %% [markdown]
# ## 逐层前进
#
# 依次把张量送过每一层，记下形状、元素个数和其中 0 的比例。卷积把 1 个通道变成 4 个通道；
# 不带偏置的卷积在黑色背景上本来就输出 0，ReLU 不改变形状，再把负的响应截成 0，0 的比例进一步升高；
# 汇聚把每个通道缩小到四分之一。

# %%
outputs = []
h = x
with torch.no_grad():
    for layer in block:
        h = layer(h)
        outputs.append(h[0])
        zeros = (h == 0).float().mean().item()
        print(f"{layer.__class__.__name__:>9} → {tuple(h.shape)}，"
              f"{h.numel():5d} 个元素，其中 {zeros:.0%} 为 0")

# %% [markdown]
# ## 看看特征图
#
# 第一行是卷积层的输出，红色为正、蓝色为负：同一条边缘在 $\mathbf{G}$ 和 $-\mathbf{G}$ 的输出里符号相反。
# 第二行经过 ReLU，每个通道只保留一种方向的边缘，于是四个通道各自成了一种“特征”。
# 第三行是汇聚之后 $14\times 14$ 的特征图：分辨率减半，但靴子的轮廓依然清楚。

# %%
conv_out, relu_out, pool_out = outputs
fig, axes = plt.subplots(3, 5, figsize=(7.6, 4.9), layout="constrained")
for ax in axes.flat:
    ax.set_axis_off()
axes[0, 0].imshow(x[0, 0].numpy(), cmap="gray")
axes[0, 0].set_title("输入 28×28", fontsize=10)
limit = conv_out.abs().max().item()
for c in range(4):
    axes[0, c + 1].imshow(conv_out[c].numpy(), cmap="RdBu_r",
                          vmin=-limit, vmax=limit)
    axes[0, c + 1].set_title(f"卷积：{names[c]}", fontsize=10)
    axes[1, c + 1].imshow(relu_out[c].numpy(), cmap="gray")
    axes[1, c + 1].set_title("ReLU 之后", fontsize=10)
    axes[2, c + 1].imshow(pool_out[c].numpy(), cmap="gray")
    axes[2, c + 1].set_title("汇聚之后 14×14", fontsize=10)
show(fig)
