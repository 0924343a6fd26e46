"""
延后初始化
==========

搭网络时，每个全连接层都要写出输入的维度，而这个数往往要从前面的层推算出来——比如卷积层之后
展平成多长的向量。`nn.LazyLinear` 只要求给出输出维度，输入维度等第一批数据流过时再确定。
这个示例看看延后初始化的层在第一次前向计算前后有什么不同，以及初始化该放在什么时候做。
"""

# %%
import textwrap

import torch
from torch import nn

import dlbook

dlbook.seed_everything(0)
device = dlbook.get_device()

# %% [markdown]
# ## 形状未知的参数
#
# 两个 `LazyLinear` 都只写了输出维度。此时参数还没有形状，也没有数值，是 `UninitializedParameter`：
# 打印出的 `in_features=0` 表示“还不知道”。

# %%
net = nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10)).to(device)
print(net)
print("第一层的权重：", net[0].weight)

# %% [markdown]
# 这时凡是要用到形状或数值的操作都会报错：数不出参数个数，也不能用 `nn.init` 初始化。

# %%
try:
    sum(p.numel() for p in net.parameters())
except ValueError as error:
    # 报错的第一句就说明了原因；它很长，按 80 个字符折行
    print("数参数个数：ValueError：")
    print(textwrap.fill(str(error).split(". ")[0], width=80))
try:
    nn.init.xavier_uniform_(net[0].weight)
except ValueError as error:
    print("初始化：ValueError：")
    print(textwrap.fill(str(error).split(". ")[0], width=80))

# %% [markdown]
# ## 第一次前向计算
#
# 送进一批 20 维的数据，第一层看到输入的最后一维是 20，于是创建 $256\times 20$ 的权重，
# 并按 `nn.Linear` 的默认方式初始化；它的输出又决定了第二层的输入维度是 256。
# 初始化完成后，`LazyLinear` 就变成了普通的 `Linear`。

# %%
X = torch.rand(2, 20, device=device)
net(X)
print(net)
for name, param in net.named_parameters():
    print(f"{name:9s} {str(tuple(param.shape)):10s} {type(param).__name__}")
print("参数个数：", sum(p.numel() for p in net.parameters()))

# %% [markdown]
# 形状一旦确定就固定了：之后再送进 30 维的数据，会像普通的全连接层一样报形状不匹配的错。

# %%
try:
    net(torch.rand(2, 30, device=device))
except RuntimeError as error:
    print("RuntimeError：", error)

# %% [markdown]
# ## 先试跑，再初始化
#
# 自定义的初始化要等形状确定之后再做（有的优化器，例如 `Adagrad`，创建时也要知道形状）。常见的写法是：
# 搭好网络，用一批假数据“试跑”一次，然后再 `apply` 初始化函数、创建优化器。

# %%
def init_xavier(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
        nn.init.zeros_(m.bias)


net = nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10)).to(device)
net(torch.zeros(1, 20, device=device))  # 试跑：确定形状
net.apply(init_xavier)
optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
print("第二层的偏置全为 0：", bool((net[2].bias == 0).all()))

# %% [markdown]
# ## 一个实用的例子：不用手算展平后的长度
#
# 卷积层之后接全连接层时，要知道特征图展平后有多长：这里是 $16\times 5\times 5 = 400$，
# 得按后面“填充和步幅”一节的公式一层层推出来。换成 `LazyLinear`，这一步就交给了 PyTorch。

# %%
lenet_like = nn.Sequential(
    nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(),
    nn.LazyLinear(120), nn.ReLU(), nn.LazyLinear(84), nn.ReLU(),
    nn.LazyLinear(10),
).to(device)
images = torch.rand(8, 1, 28, 28, device=device)  # (B, C, H, W)
print("输出形状：", tuple(lenet_like(images).shape))
print("推断出的第一个全连接层：", lenet_like[7])
