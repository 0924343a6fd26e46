"""
在 Fashion-MNIST 上训练 AlexNet
===============================

AlexNet 有五个卷积层和三个全连接层，用 ReLU 激活、用暂退法（dropout）抑制过拟合。
这个示例先逐层查看它在 $224\\times 224$ 输入下的形状、参数量和计算量，再按《动手学深度学习》的配方训练它：
Xavier 初始化，小批量随机梯度下降，学习率 0.01，批量大小 128，完整模式训练 10 轮。
quick 模式把图像缩小到 $68\\times 68$，只用 256 张训练图像训练 2 轮，准确率远低于完整模式，但每一行代码都会执行。
"""

# %%
import torch

import dlbook
from dlbook.counting import count_flops, num_params, summary
from dlbook.data import fashion_mnist_loaders
from dlbook.models import AlexNet
from dlbook.plot import plot_history, show, show_images
from dlbook.results import report
from dlbook.train import fit, init_xavier

dlbook.seed_everything(0)
device = dlbook.get_device()
print("设备：", device, " 模式：", dlbook.current_mode())

# %% [markdown]
# ## 逐层查看形状
#
# `summary` 让一张 $1\times 224\times 224$ 的图像走一遍网络，列出每一层的输出形状和参数个数，
# 最后给出参数总量和这次前向传播的 FLOPs（一次乘加记作 2 次浮点运算）。`depth=2` 把
# `features` 和 `classifier` 两个 `nn.Sequential` 展开一层。

# %%
net = AlexNet()
print(summary(net, (1, 1, 224, 224), depth=2))

# %% [markdown]
# 第一个卷积层用 $11\times 11$ 的大卷积核、步幅 4，一下子把 $224\times 224$ 缩小到 $54\times 54$：
# $\lfloor (224 + 2\times 1 - 11)/4\rfloor + 1 = 54$。之后三次 $3\times 3$、步幅 2 的最大汇聚
# 把特征图依次缩小到 $26$、$12$、$5$。`avgpool` 对 $224\times 224$ 的输入什么也不做
# （见 `dlbook.models.AlexNet` 的说明），它只是让更小的输入也能接上同样的全连接层。
#
# ## 参数在哪里，计算在哪里
#
# 把网络分成卷积部分 `features` 和全连接部分 `classifier`，分别数参数和 FLOPs。
# 全连接部分的输入是展平后的 $256\times 5\times 5 = 6400$ 维向量。

# %%
parts = {  # 名字: (子模块, 它的输入形状)
    "features": (net.features, (1, 1, 224, 224)),
    "classifier": (net.classifier, (1, 256 * 5 * 5)),
}
total_params, total_flops = num_params(net), count_flops(net, (1, 1, 224, 224))
for name, (module, shape) in parts.items():
    params, flops = num_params(module), count_flops(module, shape)
    print(f"{name:<10} 参数 {params:>11,}（{params / total_params:6.1%}）  "
          f"FLOPs {flops:>14,}（{flops / total_flops:6.1%}）")

# %% [markdown]
# 九成以上的参数在全连接层里，九成以上的计算却在卷积层里。LeNet 的分布也是这样（它的卷积层约占 86% 的计算），
# 只是 AlexNet 的参数多了七百多倍，计算量多了两千多倍。
# 第一个全连接层一层就有 $6400\times 4096 + 4096 \approx 2620$ 万个参数。
#
# ## 训练
#
# 超参数集中在一处。完整模式是《动手学深度学习》的配方：把 $28\times 28$ 的图像放大到
# $224\times 224$，批量 128，学习率 0.01，训练 10 轮。quick 模式要在两核 CPU 上很快跑完：
# 图像只放大到 $68\times 68$（AlexNet 能处理的最小边长是 65），只用 256 张训练图像、256 张测试图像，
# 训练 2 轮。
#
# `fit(..., fast=True)` 打开 dlbook 的快速训练路径（本章其余模型也都这样训练）：在 CUDA 上，
# 前向和损失用 bfloat16 自动混合精度计算（参数、梯度和优化器状态仍是 float32；
# GPU 要原生支持 bfloat16，即 Ampere 及以后），
# 图像和卷积权重按 channels_last（NHWC）存放，好让 GPU 用上 Tensor Core；在 CPU 上它什么也不做，
# 结果与不加这个参数时逐位相同。详见“PyTorch 2 与 torch.compile”一章的“快速训练路径与基准测试”一节。

# %%
resize = dlbook.pick(quick=68, full=224)  # 图像边长（像素）
batch_size = dlbook.pick(quick=64, full=128)
lr = 0.01  # 学习率
epochs = dlbook.pick(quick=2, full=10)
# 训练图像和测试图像的张数；None 表示全部（训练集 60000 张，测试集 10000 张）
subset = dlbook.pick(quick=256, full=None)
test_subset = dlbook.pick(quick=256, full=None)

train_iter, test_iter = fashion_mnist_loaders(
    batch_size, resize=resize,
    subset=subset, test_subset=test_subset, device=device,
)
net = AlexNet()
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
    "AlexNet", model=net, history=history, note=f"{resize}×{resize}"
)

# %%
show(plot_history(history, title="AlexNet 在 Fashion-MNIST 上"))

# %% [markdown]
# ## 第一层卷积核
#
# AlexNet 的论文里有一张著名的图：第一层的 96 个卷积核在 ImageNet 上学成了各种方向的边缘、
# 条纹和色块检测器。这里把训练后第一层的前 32 个 $11\times 11$ 卷积核画出来（每个单独缩放灰度）。
# Fashion-MNIST 是灰度图，内容也简单得多；训练得不充分时（例如 quick 模式），
# 卷积核看上去和随机初始化时差不多；训练得越充分，越可能看出成片的明暗过渡。

# %%
kernels = net.features[0].weight.detach().cpu()[:32]  # (32, 1, 11, 11)
fig = show_images(kernels, nrows=4, ncols=8, scale=0.9)
fig.suptitle("训练后第一层的前 32 个 11×11 卷积核")
show(fig)
