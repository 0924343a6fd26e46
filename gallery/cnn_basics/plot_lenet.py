"""
在 Fashion-MNIST 上训练 LeNet
=============================

LeNet 由两个“卷积 → sigmoid → 平均汇聚”块和三个全连接层组成。这个示例先逐层查看它的输出形状和参数个数，
再按经典配方训练它：Xavier 初始化，小批量随机梯度下降，批量大小 256，学习率 0.9，完整模式训练 10 轮。
quick 模式只用 24000 张训练图像、批量 96 训练 3 轮，网络多半到快结束时才离开训练初期的“平台”，也可能还没走出来（平台有多长见输出），
准确率远低于完整模式，但每一行代码都会执行。
"""

# %%
import math

import matplotlib.pyplot as plt
import torch

import dlbook
from dlbook.data import FASHION_MNIST_CLASSES_ZH, fashion_mnist_loaders
from dlbook.models import LeNet
from dlbook.optim import ema
from dlbook.plot import plot_history, show, show_images
from dlbook.train import fit, init_xavier

dlbook.seed_everything(0)
device = dlbook.get_device()
print("设备：", device, " 模式：", dlbook.current_mode())

# %% [markdown]
# ## 逐层查看形状
#
# `LeNet` 的各层是它的子模块，但 sigmoid 激活只有一个实例、在四处共用，展平则直接在 `forward` 里调用
# `torch.flatten`。所以这里不去遍历子模块，而是在每个子模块上挂一个前向钩子，
# 让一个 $(1, 1, 28, 28)$ 的输入走一遍，按真实的调用顺序记下每一层的输出形状。

# %%
net = LeNet()
names = {module: name for name, module in net.named_children()}
calls = []


def record(module, args, out):
    """前向钩子：记下模块、它的输入形状和输出形状。"""
    calls.append((module, args[0].shape, out.shape))


hooks = [m.register_forward_hook(record) for m in net.children()]
with torch.no_grad():
    net(torch.rand(1, 1, 28, 28))
for h in hooks:
    h.remove()

previous = (1, 1, 28, 28)
for module, in_shape, out_shape in calls:
    # 形状在两个子模块之间变了：forward 里做了展平
    if tuple(in_shape) != previous:
        print(f"{'':<6}{'flatten':<11} 输出形状 {tuple(in_shape)}")
    # 共用的激活函数没有参数，重复出现也不会多算
    params = sum(p.numel() for p in module.parameters())
    print(f"{names[module]:<6}{module.__class__.__name__:<11} "
          f"输出形状 {tuple(out_shape)!s:<16} 参数 {params}")
    previous = tuple(out_shape)
print("参数总数：", sum(p.numel() for p in net.parameters()))

# %% [markdown]
# 卷积部分把 $1\times 28\times 28$ 的图像变成 $16\times 5\times 5$ 的特征图：高和宽缩小了，通道数增加了。
# 参数大多集中在第一个全连接层（$400\times 120 + 120$ 个）。
#
# ## 训练
#
# 超参数集中在一处。完整模式是经典配方：全部 60000 张训练图像、批量 256、学习率 0.9、10 轮。
# quick 模式要在两核 CPU 上十几秒跑完，只用 24000 张图像训练 3 轮；sigmoid 网络在训练初期
# 会在“平台”上停留几百步，所以 quick 模式把批量减小到 96，让同样多的数据换来更多步梯度下降。

# %%
lr = 0.9  # sigmoid 网络的梯度很小，学习率要大
batch_size = dlbook.pick(quick=96, full=256)
epochs = dlbook.pick(quick=3, full=10)
subset = dlbook.pick(quick=24000, full=None)  # None：全部 60000 张训练图像

train_iter, test_iter = fashion_mnist_loaders(
    batch_size, subset=subset, device=device)
net = LeNet()
net.apply(init_xavier)
optimizer = torch.optim.SGD(net.parameters(), lr=lr)
history = fit(net, train_iter, test_iter, epochs=epochs,
              optimizer=optimizer, device=device)
print(f"批量 {batch_size}，训练了 {epochs} 轮，每轮 {len(train_iter)} 个批量，"
      f"共 {epochs * len(train_iter)} 步")
print(history.summary())

# %%
show(plot_history(history, title="LeNet 在 Fashion-MNIST 上"))

# %% [markdown]
# ## 训练初期的平台
#
# 上图每轮只有一个点，看不出训练初期发生了什么。`History.step_loss` 记着每一步小批量的损失，
# 按步画出来（再用指数移动平均平滑一下），就能看到损失在 $\ln 10 \approx 2.30$ 附近停了多久：

# %%
step_loss = torch.tensor(history.step_loss)
smooth = ema(step_loss, 0.9, bias_correction=True)
fig, ax = plt.subplots(figsize=(6.5, 3), layout="constrained")
ax.plot(step_loss, alpha=0.3, label="每一步的损失")
ax.plot(smooth, label="平滑后")
ax.axhline(math.log(10), color="gray", linestyle="--", label="ln 10")
ax.set(xlabel="步数", ylabel="训练损失", title="LeNet 按步的训练损失")
ax.legend()
show(fig)
left = (smooth < 2.2).nonzero()  # 比 ln 10 低 0.1：离开了平台
if len(left):
    print(f"平滑后的损失在第 {left[0].item() + 1} 步降到 2.2 以下"
          f"（一共 {len(step_loss)} 步）")
else:
    print(f"{len(step_loss)} 步里平滑后的损失一直没有降到 2.2 以下：还在平台上")

# %% [markdown]
# ## 看看预测
#
# 取测试集的前 10 张图像，标题上一行是真实类别，下一行是预测类别，预测错的标成红色。

# %%
X, y = next(iter(test_iter))
X, y = X[:10], y[:10]
net.eval()
with torch.no_grad():
    preds = net(X.to(device)).argmax(dim=1).cpu()
titles = [f"真：{FASHION_MNIST_CLASSES_ZH[t]}\n"
          f"预：{FASHION_MNIST_CLASSES_ZH[p]}"
          for t, p in zip(y.tolist(), preds.tolist())]
print("这 10 张里预测对了", int((preds == y.cpu()).sum()), "张")
fig = show_images(X.cpu(), nrows=2, ncols=5, titles=titles, scale=1.7)
for ax, t, p in zip(fig.axes, y.tolist(), preds.tolist()):
    if t != p:
        ax.title.set_color("tab:red")  # 预测错的用红字
fig.tight_layout()
show(fig)
