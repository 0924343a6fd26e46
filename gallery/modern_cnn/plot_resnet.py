"""
残差网络（ResNet-18）
=====================

残差块的输出是 $\\mathrm{ReLU}(\\mathbf{x} + g(\\mathbf{x}))$：块里的几层只需学习输入与目标之间的“残差” $g$。
这个示例先看残差块的两种形态（形状不变、以及用 $1\\times 1$ 卷积改变通道数和分辨率），验证 $g = 0$ 时
残差块就是恒等映射，再逐个阶段查看 ResNet-18 的形状，最后按《动手学深度学习》的配方训练它：
学习率 0.05，批量大小 256，完整模式在 $96\\times 96$ 的输入上训练 10 轮。
quick 模式用 $32\\times 32$ 的输入和 1024 张训练图像训练 2 轮（32 步），只为让每一行代码都执行一遍（用时见下面的输出）。
"""

# %%
import torch
from torch import nn

import dlbook
from dlbook.counting import summary
from dlbook.data import fashion_mnist_loaders
from dlbook.models import ResNet, Residual
from dlbook.plot import plot_history, show
from dlbook.results import report
from dlbook.train import fit, init_xavier

dlbook.seed_everything(0)
device = dlbook.get_device()
print("设备：", device, " 模式：", dlbook.current_mode())

# %% [markdown]
# ## 残差块
#
# `Residual` 里的 $g$ 是“$3\times 3$ 卷积 → 批量归一化 → ReLU → $3\times 3$ 卷积 → 批量归一化”。
# 输入与 $g(\mathbf{x})$ 形状相同时直接相加；要把通道数加倍、高和宽减半时，捷径上要放一个步幅为 2 的
# $1\times 1$ 卷积（`use_1x1conv=True`），把 $\mathbf{x}$ 变成同样的形状再相加。

# %%
x = torch.rand(4, 3, 6, 6)
same = Residual(3, 3)
down = Residual(3, 6, use_1x1conv=True, stride=2)
print("Residual(3, 3)：", tuple(x.shape), "→", tuple(same(x).shape))
print("Residual(3, 6, use_1x1conv=True, stride=2)：",
      tuple(x.shape), "→", tuple(down(x).shape))
print(down)

# %% [markdown]
# ## $g = 0$ 时，残差块是恒等映射
#
# 把 $g$ 最后那个批量归一化层的 $\gamma$ 和 $\beta$ 都置零，$g(\mathbf{x})$ 就恒为 0，
# 块的输出变成 $\mathrm{ReLU}(\mathbf{x})$；而块的输入本来就是上一层 ReLU 的输出（非负），
# 所以输出就等于输入。要让一个普通的块（没有捷径）变成恒等映射，几个卷积层得恰好学出
# “什么也不做”的权重，难得多。

# %%
with torch.no_grad():
    nn.init.zeros_(same.bn2.weight)
    nn.init.zeros_(same.bn2.bias)
    print("g = 0 时输出等于输入：", torch.equal(same(x), x))

# %% [markdown]
# ## ResNet-18 的结构
#
# 开头是 $7\times 7$、步幅 2 的卷积和 $3\times 3$、步幅 2 的最大汇聚，然后四个阶段 `layer1` … `layer4`，
# 各有 2 个残差块，通道数 64、128、256、512；后三个阶段的第一个块把高和宽减半。
# 18 指的是带权重的层：主路上的卷积层加最后的全连接层，不算捷径上的 $1\times 1$ 卷积。

# %%
net = ResNet()
shortcut = {id(m) for name, m in net.named_modules() if "downsample" in name}
convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
main_convs = [m for m in convs if id(m) not in shortcut]
shortcut_convs = [m for m in convs if id(m) in shortcut]
linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
print("主路上的卷积层：", len(main_convs), " 全连接层：", len(linears),
      " 捷径上的 1×1 卷积：", len(shortcut_convs))
print(summary(net, (1, 1, 96, 96)))

# %% [markdown]
# 四个阶段的特征图依次是 $24$、$12$、$6$、$3$；参数大多在最后一个阶段（$3\times 3$ 卷积、512 个通道）。
# 与 VGG 一样，每次高和宽减半时通道数加倍。
#
# ## 训练
#
# 超参数集中在一处。完整模式是《动手学深度学习》的配方：输入放大到 $96\times 96$，批量 256，
# 学习率 0.05，训练 10 轮。quick 模式用 $32\times 32$ 的输入（四个阶段的特征图是 $8$、$4$、$2$、$1$），
# 1024 张训练图像、512 张测试图像，批量 64，训练 2 轮，一共只有 32 步：有批量归一化的 ResNet 这时已经能学到一些东西，
# 但离完整配方的结果还差得远。

# %%
resize = dlbook.pick(quick=32, full=96)  # 图像边长（像素）
batch_size = dlbook.pick(quick=64, full=256)
lr = 0.05  # 学习率
epochs = dlbook.pick(quick=2, full=10)
# 训练图像和测试图像的张数；None 表示全部（训练集 60000 张，测试集 10000 张）
subset = dlbook.pick(quick=1024, full=None)
test_subset = dlbook.pick(quick=512, full=None)

train_iter, test_iter = fashion_mnist_loaders(
    batch_size, resize=resize,
    subset=subset, test_subset=test_subset, device=device,
)
net = ResNet()
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
    "ResNet-18", model=net, history=history, note=f"{resize}×{resize}"
)

# %%
show(plot_history(history, title="ResNet-18 在 Fashion-MNIST 上"))
