"""
互相关、边缘检测与学习卷积核
============================

从零实现的二维互相关 `corr2d` 只有几行：在每个输出位置取出一个窗口，与卷积核逐元素相乘再求和。
这个示例先列出它的代码，再用它手算一个小例子并与 PyTorch 对照，再用一个 $1\\times 2$ 的卷积核检测边缘，
最后从输入和输出中把这个卷积核学回来。
"""

# %%
import torch
import torch.nn.functional as F
from torch import nn

import dlbook
from dlbook.conv import Conv2D, corr2d
from dlbook.plot import show
from dlbook.source import code_of

dlbook.seed_everything(0)

# %% [markdown]
# ## 从零实现
#
# `dlbook.conv.corr2d` 的代码如下（去掉了文档字符串，它在 API 参考里）。开头几行检查参数、按需补 0，
# 真正的计算是最后的两重循环：在每个输出位置取出一个 $k_h\times k_w$ 的窗口，与卷积核逐元素相乘再求和。

# %%
print(code_of(corr2d))

# %% [markdown]
# ## 手算一个互相关
#
# $3\times 3$ 的输入与 $2\times 2$ 的卷积核，输出是 $(3-2+1)\times(3-2+1) = 2\times 2$。
# 输出左上角的元素来自输入左上角的窗口，下面把这个乘积之和逐项打印出来。

# %%
X = torch.arange(9.0).reshape(3, 3)
K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
Y = corr2d(X, K)

window = X[:2, :2]
pairs = zip(window.flatten(), K.flatten())
terms = " + ".join(f"{x:.0f}×{k:.0f}" for x, k in pairs)
print(f"左上角：{terms} = {(window * K).sum():.0f}")
print("与 F.conv2d 一致：",
      torch.equal(Y, F.conv2d(X[None, None], K[None, None])[0, 0]))
Y

# %% [markdown]
# `F.conv2d` 要求输入形状为 (批量, 通道, 高, 宽)，卷积核形状为 (输出通道, 输入通道, 高, 宽)，
# 所以这里用 `[None, None]` 添上两个大小为 1 的维度。
#
# ## 用卷积核检测边缘
#
# 构造一张 $6\times 8$ 的图像：两侧为 1（白），中间四列为 0（黑）。卷积核 $[1, -1]$
# 计算每个像素与右边邻居之差，只在颜色变化的地方非零。

# %%
X = torch.ones(6, 8)
X[:, 2:6] = 0
K = torch.tensor([[1.0, -1.0]])
Y = corr2d(X, K)
print("输入：\n", X)
print("输出：\n", Y)

# %% [markdown]
# 白到黑的边缘处输出 1，黑到白的边缘处输出 $-1$。把图像转置，边缘变成水平的，
# 这个卷积核就完全检测不到了：

# %%
Y_T = corr2d(X.T, K)
print("转置后的输出全为 0：", bool((Y_T == 0).all()))

# %% [markdown]
# 把四个矩阵画出来，每格标上数值。输入用灰度（1 为白、0 为黑），输出用红蓝两色（1 为红、$-1$ 为蓝、0 为白）。

# %%
import matplotlib.pyplot as plt


def draw(ax, M: torch.Tensor, title: str, *, signed: bool) -> None:
    cmap, vmin = ("RdBu_r", -1) if signed else ("gray", 0)
    ax.imshow(M.numpy(), cmap=cmap, vmin=vmin, vmax=1)
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            v = M[i, j].item()
            dark = abs(v) > 0.5 if signed else v < 0.5  # 深色格子上用白字
            ax.text(j, i, f"{v:.0f}", ha="center", va="center",
                    color="white" if dark else "black")
    ax.set(xticks=[], yticks=[], title=title)


fig, axes = plt.subplots(1, 4, figsize=(8, 2.6), layout="constrained",
                         gridspec_kw={"width_ratios": [8, 7, 6, 6]})
draw(axes[0], X, "输入 X（6×8）", signed=False)
draw(axes[1], Y, "X 与 [1, −1] 的互相关", signed=True)
draw(axes[2], X.T, "转置后的输入（8×6）", signed=False)
draw(axes[3], Y_T, "转置后的输出", signed=True)
show(fig)

# %% [markdown]
# ## 从数据中学习卷积核
#
# 现在假装不知道卷积核是什么，只有输入 $\mathbf{X}$ 和输出 $\mathbf{Y}$。随机初始化一个
# $1\times 2$ 的卷积层，以平方误差之和为损失做梯度下降。先用 `dlbook.conv.Conv2D`：它的前向计算
# 调用上面的 `corr2d`，权重和偏置都是 `nn.Parameter`（卷积核取 $[0, 1)$ 上的均匀分布，偏置从 0 开始），
# 梯度由自动微分求出：

# %%
print(code_of(Conv2D))


# %%
def learn(layer: nn.Module, X: torch.Tensor, Y: torch.Tensor, *,
          steps: int, lr: float) -> list[float]:
    optimizer = torch.optim.SGD(layer.parameters(), lr=lr)
    losses = []
    for step in range(1, steps + 1):
        loss = ((layer(X) - Y) ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % 8 == 0:
            print(f"第 {step:2d} 步，损失 {loss.item():.4f}")
    return losses


# 损失是 42 个平方误差之和，梯度很大，学习率要小：
# 超过约 0.016 就会发散，0.02 已经不行
steps, lr = 40, 0.015
ours = Conv2D((1, 2))
losses_ours = learn(ours, X, Y, steps=steps, lr=lr)
print("学到的卷积核：", ours.weight.detach(), "偏置：", ours.bias.detach())

# %% [markdown]
# 40 步之后卷积核已经非常接近 $[1, -1]$，偏置接近 0。PyTorch 内置的 `nn.Conv2d` 做的是同一件事，
# 只是输入输出要带上批量和通道维度：

# %%
builtin = nn.Conv2d(1, 1, kernel_size=(1, 2))
losses_builtin = learn(builtin, X[None, None], Y[None, None],
                       steps=steps, lr=lr)
print("学到的卷积核：", builtin.weight.detach().reshape(1, 2),
      "偏置：", builtin.bias.detach())

# %% [markdown]
# 两条损失曲线几乎重合，40 步内都下降了四个数量级以上（纵轴是对数刻度）。

# %%
fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
ax.semilogy(range(1, steps + 1), losses_ours, marker="o",
            label="dlbook.conv.Conv2D")
ax.semilogy(range(1, steps + 1), losses_builtin, marker="s", linestyle="--",
            label="nn.Conv2d")
ax.set(xlabel="梯度下降步数", ylabel="平方误差之和", title="学习边缘检测卷积核")
ax.grid(alpha=0.3)
ax.legend()
show(fig)
