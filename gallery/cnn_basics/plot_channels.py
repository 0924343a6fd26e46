"""
多输入多输出通道
================

一个卷积核要覆盖输入的全部通道，各通道的结果相加成一个输出通道；有几个卷积核，就有几个输出通道。
这个示例先用小例子演示这两条规则，再手算一个完整的卷积层（$5\\times 5\\times 3$ 的输入、填充 1、
两个 $3\\times 3\\times 3$ 的卷积核、步幅 2），最后验证 $1\\times 1$ 卷积就是逐像素的全连接层。
"""

# %%
import torch
import torch.nn.functional as F
from torch import nn

import dlbook
from dlbook.conv import (
    corr2d, corr2d_multi_in, corr2d_multi_in_out, corr2d_multi_in_out_1x1,
)
from dlbook.plot import show

dlbook.seed_everything(0)

# %% [markdown]
# ## 多输入通道：各通道分别互相关，再相加
#
# 输入有 2 个通道，卷积核也必须有 2 个通道。每个通道各做一次二维互相关，两个结果逐元素相加。

# %%
X = torch.stack([
    torch.arange(9.0).reshape(3, 3),
    torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 1.0]]),
])  # (2, 3, 3)
K = torch.stack([
    torch.tensor([[0.0, 1.0], [2.0, 3.0]]),
    torch.tensor([[1.0, -1.0], [-1.0, 1.0]]),
])  # (2, 2, 2)

parts = [corr2d(X[c], K[c]) for c in range(2)]
Y = corr2d_multi_in(X, K)
print("通道 0 的结果：", parts[0].tolist())
print("通道 1 的结果：", parts[1].tolist())
print("相加得到输出：", Y.tolist())
print("与 F.conv2d 一致：", torch.equal(Y, F.conv2d(X[None], K[None])[0, 0]))

# %% [markdown]
# ## 多输出通道：每个卷积核产生一个通道
#
# 把三个形状为 $(2, 2, 2)$ 的卷积核叠成 $(3, 2, 2, 2)$ 的权重，输出就有 3 个通道。
# 这正是 `nn.Conv2d(2, 3, kernel_size=2)` 的权重形状：(输出通道, 输入通道, 高, 宽)。

# %%
K3 = torch.stack([K, K + 1, 2 * K])  # (3, 2, 2, 2)
Y3 = corr2d_multi_in_out(X, K3)
print("权重形状：", tuple(K3.shape), " nn.Conv2d(2, 3, 2) 的权重形状：",
      tuple(nn.Conv2d(2, 3, kernel_size=2).weight.shape))
print("输出形状：", tuple(Y3.shape),
      " 第 0 个通道就是上面的输出：", torch.equal(Y3[0], Y))
print("与 F.conv2d 一致：", torch.equal(Y3, F.conv2d(X[None], K3)[0]))

# %% [markdown]
# ## 手算一个完整的卷积层
#
# 输入是 $5\times 5$ 的三通道图像（PyTorch 的形状是 $(3, 5, 5)$），取值为 0、1、2；
# 两个 $3\times 3\times 3$ 的卷积核取值为 $-1$、0、1，偏置分别为 1 和 0；填充 1、步幅 2。
# 输出尺寸是 $\lfloor (5 + 2 - 3)/2 \rfloor + 1 = 3$，所以输出形状为 $(2, 3, 3)$。
#
# 先直接按公式用循环计算：输出通道 $o$ 在位置 $(i, j)$ 的值，是填充后的输入里从 $(2i, 2j)$ 开始的
# $3\times 3\times 3$ 窗口与第 $o$ 个卷积核逐元素相乘、求和，再加上偏置 $b_o$。

# %%
g = torch.Generator().manual_seed(3)
# X 的形状是 (C_in, H, W)，W 的形状是 (C_out, C_in, kh, kw)
X = torch.randint(0, 3, (3, 5, 5), generator=g).float()
W = torch.randint(-1, 2, (2, 3, 3, 3), generator=g).float()
b = torch.tensor([1.0, 0.0])
padding, stride = 1, 2

X_padded = F.pad(X, (padding,) * 4)  # (3, 7, 7)
out_size = (X.shape[-1] + 2 * padding - 3) // stride + 1
Y_loop = torch.zeros(2, out_size, out_size)
for o in range(2):
    for i in range(out_size):
        for j in range(out_size):
            top, left = i * stride, j * stride
            window = X_padded[:, top : top + 3, left : left + 3]
            Y_loop[o, i, j] = (window * W[o]).sum() + b[o]
print("填充后的输入：", tuple(X_padded.shape),
      " 输出：", tuple(Y_loop.shape))
print(Y_loop)

# %% [markdown]
# 把输出通道 0 左上角那个元素拆开：三个输入通道各贡献一个 $3\times 3$ 窗口的乘积之和，再加偏置。

# %%
contrib = [(X_padded[c, :3, :3] * W[0, c]).sum().item() for c in range(3)]
terms = [f"({v:.0f})" if v < 0 else f"{v:.0f}" for v in contrib]
print("输出[0, 0, 0] =", " + ".join(terms),
      f"+ {b[0]:.0f}（偏置） = {sum(contrib) + b[0]:.0f}")

# %% [markdown]
# 再用 `dlbook.conv` 的从零实现和 PyTorch 的 `F.conv2d` 各算一遍，三种算法的结果应当完全相同。

# %%
Y_ours = (corr2d_multi_in_out(X, W, padding=padding, stride=stride)
          + b[:, None, None])
Y_torch = F.conv2d(X[None], W, b, padding=padding, stride=stride)[0]
print("dlbook.conv 与循环一致：", torch.equal(Y_ours, Y_loop))
print("F.conv2d 与循环一致：", torch.equal(Y_torch, Y_loop))
print("参数个数：", W.numel() + b.numel())

# %% [markdown]
# 下图第一行是填充后的三个输入通道（灰色的一圈是填充的 0），后两行是两个卷积核的各个通道和它们产生的输出通道。
# 红框标出了计算输出左上角元素所用的窗口。

# %%
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle


def heat(ax, M: torch.Tensor, title: str, *,
         vmin: float, vmax: float, cmap: str) -> None:
    image = ax.imshow(M.numpy(), cmap=cmap, vmin=vmin, vmax=vmax)
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            r, g_, b_, _ = image.cmap(image.norm(M[i, j].item()))
            # 深色格子上用白字
            dark = 0.299 * r + 0.587 * g_ + 0.114 * b_ < 0.5
            ax.text(j, i, f"{M[i, j]:.0f}", ha="center", va="center",
                    fontsize=10, color="white" if dark else "black")
    ax.set(xticks=[], yticks=[], title=title)


def gray_border(ax, size: int) -> None:
    """把填充出来的一圈格子盖上灰色。"""
    for r in range(size):
        for c in range(size):
            if r in (0, size - 1) or c in (0, size - 1):
                ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1,
                                       facecolor="#bbbbbb", alpha=0.8))


def frame(ax, size: int) -> None:
    ax.add_patch(Rectangle((-0.5, -0.5), size, size, fill=False,
                           edgecolor="tab:red", linewidth=2.5))


fig, axes = plt.subplots(3, 4, figsize=(7.8, 6), layout="constrained")
for c in range(3):
    heat(axes[0, c], X_padded[c], f"输入通道 {c}（填充后）",
         vmin=-1, vmax=3, cmap="Blues")
    gray_border(axes[0, c], X_padded.shape[-1])
    frame(axes[0, c], 3)
    for o in range(2):
        heat(axes[o + 1, c], W[o, c], f"卷积核 {o} 的通道 {c}",
             vmin=-2, vmax=2, cmap="RdBu_r")
axes[0, 3].set_axis_off()
limit = Y_loop.abs().max().item()
for o in range(2):
    heat(axes[o + 1, 3], Y_loop[o], f"输出通道 {o}（偏置 {b[o]:.0f}）",
         vmin=-limit, vmax=limit, cmap="PiYG")
    frame(axes[o + 1, 3], 1)
show(fig)

# %% [markdown]
# ## $1\times 1$ 卷积是逐像素的全连接层
#
# $1\times 1$ 卷积的输出在每个位置上只依赖同一位置的 $c_i$ 个输入值。把每个像素上的通道值看成一个向量，
# 它就是用同一个 $c_o\times c_i$ 矩阵去乘每个像素的向量。`corr2d_multi_in_out_1x1` 把整张图一次写成矩阵乘法。

# %%
X = torch.randn(3, 4, 4)
K = torch.randn(2, 3, 1, 1)
Y_matmul = corr2d_multi_in_out_1x1(X, K)
Y_slide = corr2d_multi_in_out(X, K)
print("矩阵乘法与滑动窗口一致：", torch.allclose(Y_matmul, Y_slide, atol=1e-6))
print("与 F.conv2d 一致：",
      torch.allclose(Y_matmul, F.conv2d(X[None], K)[0], atol=1e-6))

i, j = 2, 1
pixel = K[:, :, 0, 0] @ X[:, i, j]  # (2, 3) @ (3,) → (2,)


def values(v: torch.Tensor) -> str:
    return "[" + ", ".join(f"{x:.4f}" for x in v.tolist()) + "]"


print(f"像素 ({i}, {j})：W @ x = {values(pixel)}，"
      f"卷积输出 = {values(Y_matmul[:, i, j])}")
