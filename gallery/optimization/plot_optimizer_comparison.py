"""
在 Fashion-MNIST 上比较五种优化器
================================

同一个多层感知机、同一份初始参数、同样的数据顺序，只换优化器：SGD、动量法、AdaGrad、RMSProp 和 Adam，
全部来自 `dlbook.optim` 的从零实现，由 `dlbook.train.fit` 训练。五条训练损失曲线画在同一张图上。
"""

# %%
import copy

import matplotlib.pyplot as plt
import torch
from torch import nn

import dlbook
from dlbook import optim
from dlbook.bench import environment
from dlbook.data import fashion_mnist_loaders
from dlbook.plot import show
from dlbook.train import fit

dlbook.seed_everything(0)
device = dlbook.get_device()
print("设备：", device, " 模式：", dlbook.current_mode())

# %% [markdown]
# ## 设置
#
# 超参数集中在一处。学习率是每种优化器各自常用的量级：自适应方法（RMSProp、Adam）按坐标缩放步长，
# 它们的学习率要小两个数量级。quick 模式只用 12000 张训练图像训练 2 轮。

# %%
batch_size = 128
epochs = dlbook.pick(quick=2, full=10)
subset = dlbook.pick(quick=12000, full=None)  # None：全部 60000 张
recipes = {
    "SGD（lr 0.1）": lambda p: optim.SGD(p, lr=0.1),
    "动量法（lr 0.05，μ 0.9）": lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
    "AdaGrad（lr 0.05）": lambda p: optim.Adagrad(p, lr=0.05),
    "RMSProp（lr 0.001，α 0.99）":
        lambda p: optim.RMSprop(p, lr=0.001, alpha=0.99),
    "Adam（lr 0.001）": lambda p: optim.Adam(p, lr=0.001),
}

initial = nn.Sequential(
    nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)
)
print(initial)

# %% [markdown]
# ## 训练
#
# 每种优化器都从 `initial` 的一份深拷贝开始，并且各自重新创建数据加载器：加载器用自己的随机数生成器打乱数据，
# 种子固定，新建的加载器从头开始同一串打乱顺序，所以五次训练看到的批量顺序完全相同
# （复用同一个加载器的话，第二次训练会接着第一次的顺序往下走）。
# `fit` 返回的 `History` 里有每一步的小批量损失 `step_loss`。

# %%
histories = {}
for name, make in recipes.items():
    train_iter, test_iter = fashion_mnist_loaders(
        batch_size, subset=subset, device=device
    )
    model = copy.deepcopy(initial)
    optimizer = make(model.parameters())
    histories[name] = h = fit(
        model, train_iter, test_iter,
        epochs=epochs, optimizer=optimizer, device=device,
    )
    print(f"{name}：")
    print(f"  {h.summary()}")

# %% [markdown]
# 单步的小批量损失噪声很大，画图前先做指数移动平均（平滑系数 0.95，与 Adam 的一阶矩同一个公式，
# 用 `dlbook.optim.ema` 计算并做偏差修正）。

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, h in histories.items():
    smooth = optim.ema(torch.tensor(h.step_loss), 0.95, bias_correction=True)
    ax.plot(smooth, label=name)
ax.set(xlabel="步数", ylabel="训练损失（平滑后）", yscale="log")
ax.legend()
show(fig)

# %% [markdown]
# ## 结果
#
# 最后一轮的测试准确率和总用时（`History.seconds` 每轮包括训练和在测试集上的评估）。
# 这几种优化器每步多做的只是几次与参数一样大的逐元素运算，和前向、反向相比很少，用时本应相差不大；
# 表里若有一种明显更慢，多半是那段时间机器正忙（下面第一行印出的环境里会提醒），不是优化器本身慢。

# %%
print(environment(device))
for name, h in sorted(histories.items(), key=lambda kv: -kv[1].test_acc[-1]):
    print(f"{h.test_acc[-1]:.3f}  {sum(h.seconds):6.1f} 秒  {name}")
