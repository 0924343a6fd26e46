"""
批量归一化：从零实现与 LeNet
============================

批量归一化在训练时用当前小批量的均值和方差标准化每个通道，同时把它们滑动平均进 `running_mean`
和 `running_var`；预测时改用这两个滑动平均。这个示例把 `dlbook.batchnorm` 里从零实现的层与
`nn.BatchNorm2d` 逐项对照：训练模式与评估模式的输出、滑动统计量，以及逐通道的统计方式；
然后在 Fashion-MNIST 上用同样的学习率训练普通的 LeNet 和加了批量归一化的 LeNet，比较两者的训练过程。
"""

# %%
import matplotlib.pyplot as plt
import torch
from torch import nn

import dlbook
from dlbook.batchnorm import BatchNorm
from dlbook.data import fashion_mnist_loaders
from dlbook.models import LeNet, LeNetBN
from dlbook.plot import show
from dlbook.results import report
from dlbook.train import fit, init_xavier

dlbook.seed_everything(0)
device = dlbook.get_device()
print("设备：", device, " 模式：", dlbook.current_mode())

# %% [markdown]
# ## 从零实现的层与 `nn.BatchNorm2d` 对照
#
# 造一批“卷积层的输出”：8 个样本、3 个通道、$4\times 4$ 的特征图，每个通道的均值和尺度各不相同。
# 两个层的参数和缓冲区同名，先把内置层的 `state_dict` 加载进从零实现的层，保证起点完全一样。

# %%
ours, ref = BatchNorm(3, num_dims=4), nn.BatchNorm2d(3)
ours.load_state_dict(ref.state_dict())
print("参数：", [name for name, _ in ours.named_parameters()])
print("缓冲区：", [name for name, _ in ours.named_buffers()])

center = torch.tensor([5.0, -2.0, 0.0]).reshape(1, 3, 1, 1)
scale = torch.tensor([2.0, 0.5, 1.0]).reshape(1, 3, 1, 1)
X = torch.randn(8, 3, 4, 4) * scale + center  # (N, C, H, W)

# %% [markdown]
# 训练模式下，每个通道用这一批的 $8\times 4\times 4 = 128$ 个元素求均值和方差。
# 标准化之后（$\gamma = 1$、$\beta = 0$ 时），每个通道的均值约为 0、标准差约为 1：

# %%
Y_ours, Y_ref = ours(X), ref(X)
print("输出一致：", torch.allclose(Y_ours, Y_ref, atol=1e-6))
print("各通道的均值：", Y_ours.mean(dim=(0, 2, 3)).detach())
print("各通道的标准差：", Y_ours.std(dim=(0, 2, 3), correction=0).detach())
same_mean = torch.allclose(ours.running_mean, ref.running_mean)
same_var = torch.allclose(ours.running_var, ref.running_var)
print("滑动均值一致：", same_mean, ours.running_mean)
print("滑动方差一致：", same_var, ours.running_var)

# %% [markdown]
# 这一批之后，滑动均值只从 0 向这一批的均值走了 10%（`momentum=0.1`）。
# 再喂 49 批同分布的数据，看滑动统计量怎样追上真实的均值 $(5, -2, 0)$ 和方差 $(4, 0.25, 1)$：

# %%
means = [ours.running_mean.clone()]
for _ in range(49):
    X_batch = torch.randn(8, 3, 4, 4) * scale + center
    ours(X_batch), ref(X_batch)
    means.append(ours.running_mean.clone())
print("50 批之后的滑动均值：", ours.running_mean)
print("50 批之后的滑动方差：", ours.running_var)
same_mean = torch.allclose(ours.running_mean, ref.running_mean, atol=1e-5)
same_var = torch.allclose(ours.running_var, ref.running_var, atol=1e-5)
print("与 nn.BatchNorm2d 一致：", same_mean, same_var,
      " 计数：", int(ours.num_batches_tracked), int(ref.num_batches_tracked))

fig, ax = plt.subplots(figsize=(5.5, 3), layout="constrained")
means = torch.stack(means)  # (50, 3)
for c in range(3):
    line, = ax.plot(range(1, 51), means[:, c], label=f"通道 {c}")
    ax.axhline(
        center.flatten()[c], color=line.get_color(), linestyle=":", linewidth=1
    )
ax.set(
    xlabel="喂过的批量数", ylabel="running_mean",
    title="滑动均值（虚线是真实均值）",
)
ax.grid(alpha=0.3)
ax.legend()
show(fig)

# %% [markdown]
# ## 训练模式与评估模式
#
# 训练模式下，一个样本的输出取决于同一批里的其他样本：把第 0 个样本分别放进两个不同的小批量，
# 它的输出不一样。评估模式下只用滑动统计量，输出与同批的其他样本无关。

# %%
x0 = X[:1]
batch_a = torch.cat([x0, torch.randn(7, 3, 4, 4) * scale + center])
# 这一批里同伴的分布偏了一点
batch_b = torch.cat([x0, torch.randn(7, 3, 4, 4) * scale + center + 1.0])
for mode in ("train", "eval"):
    for layer in (ours, ref):
        layer.train(mode == "train")
    # 两个层喂同样的两批数据，滑动统计量保持一致
    with torch.no_grad():
        a, b = ours(batch_a)[0], ours(batch_b)[0]
        a_ref, b_ref = ref(batch_a)[0], ref(batch_b)[0]
        same_as_ref = (torch.allclose(a, a_ref, atol=1e-5)
                       and torch.allclose(b, b_ref, atol=1e-5))
    print(f"{mode:<5} 模式：样本 0 在两个批量里的输出相同？"
          f"{torch.allclose(a, b)}；与 nn.BatchNorm2d 一致？{same_as_ref}")

# %% [markdown]
# 两种模式下，从零实现的层都与内置的层给出同样的结果。注意训练模式下这两次调用也更新了滑动统计量：
# 哪怕只是想“看一看”输出，也要记得先切换到评估模式（`model.eval()`）。
#
# 全连接层的输出是 $(N, C)$ 的矩阵，每个特征在 $N$ 个样本上单独归一化，对应 `nn.BatchNorm1d`：

# %%
fc_ours, fc_ref = BatchNorm(4, num_dims=2), nn.BatchNorm1d(4)
H = torch.randn(16, 4) * 3 + 1  # (N, C)
same = torch.allclose(fc_ours(H), fc_ref(H), atol=1e-6)
print("全连接层的批量归一化，输出一致：", same)

# %% [markdown]
# ## LeNet 加上批量归一化
#
# `LeNetBN` 在 LeNet 的每个卷积层和前两个全连接层之后、sigmoid 之前加了批量归一化。
# 两个网络用完全相同的设置训练：Xavier 初始化，学习率 1.0，批量大小 256；完整模式是《动手学深度学习》的配方，
# 用全部训练图像训练 10 轮。quick 模式只用 4000 张训练图像、1000 张测试图像，批量减小到 128，训练 2 轮（共 64 步）。

# %%
lr = 1.0  # 学习率（两个网络相同）
batch_size = dlbook.pick(quick=128, full=256)
epochs = dlbook.pick(quick=2, full=10)
# 训练图像和测试图像的张数；None 表示全部（训练集 60000 张，测试集 10000 张）
subset = dlbook.pick(quick=4000, full=None)
test_subset = dlbook.pick(quick=1000, full=None)

nets = {"LeNet": LeNet(), "LeNet + BN": LeNetBN()}
histories = {}
for name, net in nets.items():
    dlbook.seed_everything(0)
    # 每个网络新建一份加载器（打乱顺序由固定的种子决定）：
    # 两个网络看到的小批量顺序完全相同
    train_iter, test_iter = fashion_mnist_loaders(
        batch_size, subset=subset, test_subset=test_subset, device=device
    )
    net.apply(init_xavier)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    histories[name] = fit(
        net, train_iter, test_iter,
        epochs=epochs, optimizer=optimizer, device=device, fast=True,
    )
    print(f"{name}：\n  {histories[name].summary()}")
    report(name, model=net, history=histories[name], note=f"学习率 {lr}")

# %% [markdown]
# 把每一步的小批量损失画出来（细线），再叠上滑动平均（粗线）。
# sigmoid 版的 LeNet 在训练初期有一段损失几乎不动的“平台”（见上一章的 LeNet 一节）；
# 加了批量归一化的网络通常一开始就往下走。

# %%
fig, ax = plt.subplots(figsize=(6.4, 3.4), layout="constrained")
for name, history in histories.items():
    steps = torch.tensor(history.step_loss)
    window = max(1, len(steps) // 30)
    smooth = steps.unfold(0, window, 1).mean(dim=1)  # window 步的滑动平均
    line, = ax.plot(steps, alpha=0.25, linewidth=0.8)
    ax.plot(
        range(window - 1, len(steps)), smooth,
        color=line.get_color(), label=name,
    )
ax.set(
    xlabel="步数", ylabel="小批量的训练损失",
    title=f"学习率 {lr}、批量 {batch_size}",
)
ax.grid(alpha=0.3)
ax.legend()
show(fig)

# %% [markdown]
# ## 学到的 $\gamma$ 和 $\beta$
#
# 第一个批量归一化层的 6 个 $\gamma$ 和 6 个 $\beta$ 从 1 和 0 出发，和卷积核一样被梯度下降更新过了：

# %%
bn1 = nets["LeNet + BN"].bn1
print("gamma：", bn1.weight.detach().cpu())
print("beta ：", bn1.bias.detach().cpu())
