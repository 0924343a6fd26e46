"""
填充、步幅与输出尺寸
====================

卷积层的输出尺寸由一个公式决定：$\\lfloor (n + 2p - d(k-1) - 1)/s \\rfloor + 1$。
这个示例先用几个典型的例子演示它，再在上千种设置上把 `dlbook.conv.conv_output_size`
与 `nn.Conv2d` 的真实输出逐一对比，最后画出卷积核在填充后的输入上以步幅 2 滑动的每一个窗口。
"""

# %%
import itertools

import torch
import torch.nn.functional as F
from torch import nn

import dlbook
from dlbook.conv import conv_output_size, corr2d
from dlbook.plot import show

dlbook.seed_everything(0)

# %% [markdown]
# ## 几个典型的例子
#
# `padding=1` 在上下左右各补一圈 0：$32\times 32$ 的输入填充后是 $34\times 34$，
# 再用 $3\times 3$ 的卷积核，输出回到 $32\times 32$。

# %%
X = torch.rand(1, 1, 32, 32)  # (B, C, H, W)
print("填充后：", tuple(F.pad(X, (1, 1, 1, 1)).shape))
conv = nn.Conv2d(1, 1, kernel_size=3, padding=1)
print("3×3 卷积、填充 1：", tuple(conv(X).shape),
      "公式：", conv_output_size(32, 3, padding=1))

# %% [markdown]
# 步幅为 2 时，same 填充的输出尺寸减半；两个方向也可以用不同的卷积核、填充和步幅：

# %%
X = torch.rand(1, 1, 8, 8)
conv = nn.Conv2d(1, 1, kernel_size=3, padding=1, stride=2)
print("8×8，3×3 卷积、填充 1、步幅 2：", tuple(conv(X).shape[-2:]))

conv = nn.Conv2d(1, 1, kernel_size=(3, 5), padding=(0, 1), stride=(3, 4))
expected = (conv_output_size(8, 3, padding=0, stride=3),
            conv_output_size(8, 5, padding=1, stride=4))
print("8×8，3×5 卷积、填充 (0, 1)、步幅 (3, 4)：", tuple(conv(X).shape[-2:]),
      "公式：", expected)

# %% [markdown]
# ## 公式与 `nn.Conv2d` 逐一对照
#
# 遍历输入尺寸、卷积核大小、填充、步幅和空洞率的各种组合。卷积核（空洞之后）比填充后的输入还大时，
# 两边都应当报错：`conv_output_size` 抛出 `ValueError`，`nn.Conv2d` 抛出 `RuntimeError`。

# %%
settings = list(itertools.product(
    range(1, 13),  # 输入尺寸 n
    range(1, 6),   # 卷积核大小 k
    range(0, 3),   # 填充 p
    range(1, 4),   # 步幅 s
    range(1, 4),   # 空洞率 d
))
agree, both_reject, mismatches = 0, 0, []
threads = torch.get_num_threads()
torch.set_num_threads(1)  # 张量都很小，多线程只会徒增调度开销
with torch.no_grad():
    for n, k, p, s, d in settings:
        try:
            ours = conv_output_size(n, k, padding=p, stride=s, dilation=d)
        except ValueError:
            ours = None
        layer = nn.Conv2d(1, 1, kernel_size=k, padding=p, stride=s, dilation=d)
        try:
            theirs = layer(torch.zeros(1, 1, n, n)).shape[-1]
        except RuntimeError:
            theirs = None
        if ours == theirs:
            agree += 1
            both_reject += ours is None
        else:
            mismatches.append(((n, k, p, s, d), ours, theirs))
torch.set_num_threads(threads)

print(f"共检查 {len(settings)} 种设置，"
      f"其中 {both_reject} 种两边都拒绝（卷积核比填充后的输入大）")
if mismatches:
    print(f"不一致的设置：{mismatches}")
else:
    print(f"全部 {agree} 种设置一致")

# %% [markdown]
# ## 看卷积核怎样滑动
#
# $5\times 5$ 的输入（格子里写着 0 到 24）四周填充一圈 0（灰色），$3\times 3$ 的卷积核以步幅 2 滑动。
# 输出是 $\lfloor (5 + 2 - 3)/2 \rfloor + 1 = 3$，即 $3\times 3$，下图每一格对应一个输出元素，
# 红框是它的窗口。为了看清窗口里有什么，卷积核取全 1，于是每个输出就是窗口内的元素之和，
# 填充的 0 不贡献任何东西。相邻窗口重叠一行（列），因为步幅 2 小于卷积核大小 3。

# %%
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

n, k, p, s = 5, 3, 1, 2
X = torch.arange(float(n * n)).reshape(n, n)
Y = corr2d(X, torch.ones(k, k), padding=p, stride=s)
size = n + 2 * p

fig, axes = plt.subplots(Y.shape[0], Y.shape[1], figsize=(5.8, 6.1),
                         layout="constrained")
positions = itertools.product(range(Y.shape[0]), range(Y.shape[1]))
for (i, j), ax in zip(positions, axes.flat):
    for r, c in itertools.product(range(size), repeat=2):
        inside = p <= r < p + n and p <= c < p + n
        face = "white" if inside else "#d9d9d9"
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=face,
                               edgecolor="#999999", linewidth=0.5))
        value = f"{X[r - p, c - p]:.0f}" if inside else "0"
        ax.text(c, r, value, ha="center", va="center", fontsize=8,
                color="black" if inside else "#777777")
    corner = (j * s - 0.5, i * s - 0.5)  # 第 (i, j) 个窗口的左上角
    ax.add_patch(Rectangle(corner, k, k, facecolor="tab:red", alpha=0.15,
                           edgecolor="none"))
    ax.add_patch(Rectangle(corner, k, k, fill=False, edgecolor="tab:red",
                           linewidth=2.5))
    ax.set(xlim=(-0.5, size - 0.5), ylim=(size - 0.5, -0.5), aspect="equal")
    ax.set_axis_off()
    ax.set_title(f"输出 [{i}, {j}] = {Y[i, j]:.0f}", fontsize=10)
fig.suptitle("3×3 卷积核、填充 1、步幅 2：5×5 → 3×3")
show(fig)
