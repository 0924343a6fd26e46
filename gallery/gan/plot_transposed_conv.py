"""
带步幅的卷积与转置卷积
======================

DCGAN 的判别器用步幅为 2 的卷积缩小特征图，生成器用转置卷积放大特征图。这个示例先算出并画出
$5\\times 5 \\to 3\\times 3$（$3\\times 3$ 的核、步幅 2、填充 1）和反方向 $3\\times 3 \\to 5\\times 5$ 的例子，
再在大量设置上核对两个输出尺寸公式和从零实现的 `dlbook.transposed.conv_transpose2d`，
最后验证转置卷积的两种等价说法：它是卷积矩阵的转置（也就是卷积对输入的梯度），也是在插了 0 的输入上做的普通卷积。
"""

# %%
import itertools
import random

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.patches import Rectangle
from torch import nn

import dlbook
from dlbook.conv import corr2d
from dlbook.plot import show, show_matrix
from dlbook.transposed import (
    conv_matrix,
    conv_output_size,
    conv_transpose2d,
    conv_transpose2d_as_conv,
    conv_transpose_output_size,
    trans_conv2d,
    zero_insert,
)

dlbook.seed_everything(0)
rng = random.Random(0)  # 后面随机抽取设置用

# %% [markdown]
# ## 5×5 → 3×3：带步幅的卷积
#
# 输入是 0 到 24，卷积核取
# $\begin{bmatrix}0&1&0\\1&1&1\\0&1&0\end{bmatrix}$（窗口中心和上下左右四个邻居之和）。
# 填充 1 之后输入是 $7\times 7$，核每次走 2 格，输出 $\lfloor (5 + 2 - 3)/2\rfloor + 1 = 3$。

# %%
X = torch.arange(25.0).reshape(5, 5)
K = torch.tensor([[0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 0.0]])
Y = corr2d(X, K, stride=2, padding=1)
print(
    "输出尺寸：", tuple(Y.shape),
    "公式：", conv_output_size(5, 3, stride=2, padding=1),
)
Y

# %% [markdown]
# ## 3×3 → 5×5：转置卷积
#
# 转置卷积把每个输入元素乘上整个卷积核，“撒”到输出上：输入 $(i, j)$ 撒下的 $3\times 3$ 块左上角在 $(2i, 2j)$，
# 重叠处相加。9 个输入撒满一块 $7\times 7$ 的画布，`padding=1` 再从四边各裁掉一行（列），剩下 $5\times 5$：
# $(3-1)\times 2 - 2\times 1 + 3 = 5$。拿上面的输出 `Y` 来做：

# %%
Z = trans_conv2d(Y, K, stride=2, padding=1)
print(
    "输出尺寸：", tuple(Z.shape),
    "公式：", conv_transpose_output_size(3, 3, stride=2, padding=1),
)
theirs = F.conv_transpose2d(Y[None, None], K[None, None], stride=2, padding=1)
print("与 F.conv_transpose2d 相同：", torch.allclose(Z, theirs[0, 0]))
Z

# %% [markdown]
# 转置卷积还原的是**形状**，不是数值：`Z` 并不等于 `X`。它是卷积的“转置”而不是“逆”，下文会说明这两个字的确切含义。
#
# ## 把两个例子画出来
#
# 上面一行：卷积的 $7\times 7$ 填充后输入（灰色是填充的 0）和 $3\times 3$ 输出，红框是输出 $[1, 1]$ 的窗口。
# 下面一行是同一个转置卷积的另一种看法：在 $3\times 3$ 输入的相邻元素之间插 0（浅蓝），四周补 $k-1-p=1$ 圈 0（灰），
# 得到 $7\times 7$，再用**翻转后**的卷积核做步幅为 1 的普通卷积，就得到 $5\times 5$ 的输出。
# 红框是输出 $[1, 2]$ 的窗口：里面只有两个真实输入 13 和 60，其余都是 0，所以这个输出是 $13 + 60 = 73$。
# 输出 $[1, 1]$ 的窗口里有四个真实输入（6、13、41、60），可它们都落在卷积核四角的 0 上，所以这个输出是 0。
# 每一步的“步幅”因此是 $1/2$：这就是“分数步幅卷积”（fractionally-strided convolution）这个名字的由来。

# %%
def draw_grid(ax, values, kinds, title, window=None):
    """画一个矩阵。

    kinds 里 0 = 真实输入（白）、1 = 插入的 0（浅蓝）、2 = 填充的 0（灰）。
    """
    colors = {0: "white", 1: "#d6e9f8", 2: "#d9d9d9"}
    h, w = values.shape
    for r, c in itertools.product(range(h), range(w)):
        cell = Rectangle(
            (c - 0.5, r - 0.5), 1, 1, facecolor=colors[int(kinds[r, c])],
            edgecolor="#999999", linewidth=0.6, clip_on=False,
        )
        ax.add_patch(cell)
        ax.text(
            c, r, f"{values[r, c]:.0f}", ha="center", va="center",
            fontsize=10, color="black" if kinds[r, c] == 0 else "#777777",
        )
    if window is not None:
        r, c, k = window
        frame = Rectangle(
            (c - 0.5, r - 0.5), k, k,
            fill=False, edgecolor="tab:red", linewidth=2.5,
        )
        ax.add_patch(frame)
    ax.set(
        xlim=(-0.5, w - 0.5), ylim=(h - 0.5, -0.5),
        aspect="equal", title=title,
    )
    ax.set_axis_off()


padded = F.pad(X, (1, 1, 1, 1))
kinds_conv = F.pad(torch.zeros(5, 5), (1, 1, 1, 1), value=2)
inserted = F.pad(zero_insert(Y, 2), (1, 1, 1, 1))
kinds_t = F.pad(1 - zero_insert(torch.ones(3, 3), 2), (1, 1, 1, 1), value=2)
fig, axes = plt.subplots(
    2, 2, figsize=(5.6, 6.6), layout="constrained",
    gridspec_kw={"width_ratios": [7, 5]},
)
draw_grid(
    axes[0, 0], padded, kinds_conv, "卷积：填充后的 5×5 输入",
    window=(2, 2, 3),
)
draw_grid(axes[0, 1], Y, torch.zeros(3, 3), "输出 3×3", window=(1, 1, 1))
# 留出 5×5 的位置，格子与其他三幅一样大
axes[0, 1].set(xlim=(-1.5, 3.5), ylim=(3.5, -1.5))
draw_grid(
    axes[1, 0], inserted, kinds_t, "转置卷积：插 0、补边后的 3×3 输入",
    window=(1, 2, 3),
)
draw_grid(axes[1, 1], Z, torch.zeros(5, 5), "输出 5×5", window=(1, 2, 1))
show(fig)

# %%
via_conv = F.conv2d(inserted[None, None], K.flip(0, 1)[None, None])[0, 0]
print("插 0 再卷积（核翻转）与直接撒的结果相同：", torch.allclose(via_conv, Z))

# %% [markdown]
# ## 转置卷积就是“撒”
#
# 用一个 $2\times 2$ 的输入和 $2\times 2$ 的核（步幅 1）看得更清楚：四个输入元素各撒下一份 $X_{ij}K$，相加得到 $3\times 3$ 的输出。

# %%
X2 = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
K2 = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
fig, axes = plt.subplots(1, 5, figsize=(7.5, 1.9), layout="constrained")
for ax, (i, j) in zip(axes, itertools.product(range(2), range(2))):
    stamp = torch.zeros(3, 3)
    stamp[i : i + 2, j : j + 2] = X2[i, j] * K2
    kinds = torch.full((3, 3), 2.0)
    kinds[i : i + 2, j : j + 2] = 0
    draw_grid(ax, stamp, kinds, f"X[{i},{j}]·K = {X2[i, j]:.0f}·K")
draw_grid(axes[4], trans_conv2d(X2, K2), torch.zeros(3, 3), "相加 = 输出")
show(fig)

# %% [markdown]
# ## 两个输出尺寸公式，对照 PyTorch
#
# 卷积：$n' = \lfloor (n + 2p - d(k-1) - 1)/s\rfloor + 1$；转置卷积：$n' = (n-1)s - 2p + d(k-1) + a + 1$，
# 其中 $a$ 是 `output_padding`。
# 在上千种设置上与 `nn.Conv2d`、`nn.ConvTranspose2d` 的真实输出逐一对比；两边都拒绝的设置（核比填充后的输入大，
# 或者转置卷积裁掉的比撒出的还多，PyTorch 给出空张量或报错）也算一致。

# %%
def layer_size(layer: nn.Module, n: int) -> int | None:
    try:
        return layer(torch.zeros(1, 1, n, n)).shape[-1] or None  # 0：空输出
    except RuntimeError:
        return None


def formula_size(formula, *args, **kwargs) -> int | None:
    try:
        return formula(*args, **kwargs)
    except ValueError:
        return None


threads = torch.get_num_threads()
torch.set_num_threads(1)  # 张量都很小，多线程只会徒增调度开销
checked, mismatches = {"卷积": 0, "转置卷积": 0}, []
with torch.no_grad():
    for n, k, s, p, d in itertools.product(
        range(1, 9), range(1, 5), range(1, 4), range(0, 3), (1, 2)
    ):
        conv = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)
        ours = formula_size(
            conv_output_size, n, k, stride=s, padding=p, dilation=d,
        )
        checked["卷积"] += 1
        if ours != layer_size(conv, n):
            mismatches.append(("卷积", n, k, s, p, d))
        # output_padding 必须小于步幅或空洞率
        for op in range(max(s, d)):
            tconv = nn.ConvTranspose2d(
                1, 1, k, stride=s, padding=p, output_padding=op, dilation=d,
            )
            ours = formula_size(
                conv_transpose_output_size, n, k,
                stride=s, padding=p, output_padding=op, dilation=d,
            )
            checked["转置卷积"] += 1
            if ours != layer_size(tconv, n):
                mismatches.append(("转置卷积", n, k, s, p, op, d))
torch.set_num_threads(threads)
print("检查的设置数：", checked)
print("全部一致" if not mismatches else f"不一致：{mismatches}")

# %% [markdown]
# 步幅大于 1 时，卷积把几个不同的输入尺寸映射到同一个输出尺寸（向下取整），转置卷积只能还原其中最小的一个，
# `output_padding` 用来挑出其余的：

# %%
for n in (5, 6):
    m = conv_output_size(n, 3, stride=2, padding=1)
    back = conv_transpose_output_size(
        m, 3, stride=2, padding=1, output_padding=n - 5,
    )
    print(
        f"{n}×{n} --卷积--> {m}×{m} "
        f"--转置卷积（output_padding={n - 5}）--> {back}×{back}"
    )

# %% [markdown]
# ## 从零实现对照 `F.conv_transpose2d`
#
# `conv_transpose2d` 支持批量、多输入多输出通道、步幅、填充、`output_padding` 和空洞（dilation），卷积核形状与 PyTorch 相同：
# $(C_\text{in}, C_\text{out}, k_h, k_w)$。随机取 200 组设置，用双精度比较：

# %%
worst, tried = 0.0, 0
while tried < 200:
    c_in, c_out, batch = rng.randint(1, 4), rng.randint(1, 4), rng.randint(1, 3)
    h, w = rng.randint(1, 6), rng.randint(1, 6)
    kh, kw = rng.randint(1, 4), rng.randint(1, 4)
    stride = (rng.randint(1, 3), rng.randint(1, 3))
    padding = (rng.randint(0, 2), rng.randint(0, 2))
    try:
        for n, k, s, p in zip((h, w), (kh, kw), stride, padding):
            conv_transpose_output_size(n, k, stride=s, padding=p)
    except ValueError:
        continue  # 裁掉的比撒出的还多：换一组
    Xr = torch.randn(batch, c_in, h, w, dtype=torch.float64)
    Kr = torch.randn(c_in, c_out, kh, kw, dtype=torch.float64)
    ours = conv_transpose2d(Xr, Kr, stride=stride, padding=padding)
    theirs = F.conv_transpose2d(Xr, Kr, stride=stride, padding=padding)
    worst = max(worst, (ours - theirs).abs().max().item())
    tried += 1
print(f"{tried} 组随机设置，与 F.conv_transpose2d 的最大差 {worst:.1e}")

# %% [markdown]
# ## “转置”是什么意思
#
# 卷积是线性运算：把 $5\times 5$ 的输入拉成 25 维向量 $\mathbf{x}$，输出拉成 9 维向量 $\mathbf{y}$，就有
# $\mathbf{y} = C\mathbf{x}$，$C$ 是一个 $9\times 25$ 的稀疏矩阵，每行是卷积核摊开在一个窗口上。
# 转置卷积就是乘以 $C^\top$：把 9 维映射回 25 维。

# %%
C = conv_matrix(K, (5, 5), stride=2, padding=1)
print("卷积矩阵的形状：", tuple(C.shape))
print("C x = 卷积：", torch.equal(C @ X.flatten(), Y.flatten()))
print("Cᵀ y = 转置卷积：", torch.equal((C.T @ Y.flatten()).reshape(5, 5), Z))
fig = show_matrix(C, title="5×5 → 3×3 卷积的矩阵 C（9 × 25）", annotate=False)
fig.set_size_inches(7.5, 3.2)  # 默认 10 英寸宽，放进正文后刻度太小
show(fig)

# %% [markdown]
# 矩阵的转置也正是反向传播要用的：若 $\mathbf{y} = C\mathbf{x}$，损失对 $\mathbf{x}$ 的梯度是 $C^\top$ 乘以对 $\mathbf{y}$ 的梯度。
# 所以**卷积对输入求梯度，就是用同一个卷积核做转置卷积**；PyTorch 也正是这样实现卷积层的反向传播的。
# 用自动微分核对一个多通道的例子（卷积 $3\to 4$ 个通道，权重原样当作转置卷积 $4\to 3$ 个通道的核）：

# %%
W = torch.randn(4, 3, 3, 3, dtype=torch.float64)  # (C_out, C_in, kh, kw)
Xg = torch.randn(2, 3, 9, 9, dtype=torch.float64, requires_grad=True)
Yg = F.conv2d(Xg, W, stride=2, padding=1)  # (2, 4, 5, 5)
upstream = torch.randn_like(Yg)
(grad,) = torch.autograd.grad(Yg, Xg, upstream)
print("输入梯度的形状：", tuple(grad.shape))
transposed = conv_transpose2d(upstream, W, stride=2, padding=1)
print("等于转置卷积：", torch.allclose(grad, transposed))
print(
    "伴随关系 <conv(x), u> = <x, convᵀ(u)>：",
    torch.allclose((Yg * upstream).sum(), (Xg * transposed).sum()),
)

# %% [markdown]
# ## 插 0 再卷积
#
# `conv_transpose2d_as_conv` 把上面图里下面一行的做法写成了一般情形：插 $s-1$ 个 0、四周补 $d(k-1)-p$ 圈 0、
# 核上下左右翻转并交换输入输出通道，再做步幅为 1 的 `F.conv2d`。它和直接“撒”的结果相同，只是白白乘了许多 0。

# %%
Xs = torch.randn(2, 3, 4, 4, dtype=torch.float64)
Ks = torch.randn(3, 5, 4, 4, dtype=torch.float64)
a = conv_transpose2d(Xs, Ks, stride=2, padding=1)
b = conv_transpose2d_as_conv(Xs, Ks, stride=2, padding=1)
print("形状：", tuple(a.shape), " 两种写法相同：", torch.allclose(a, b))
inserted_size = zero_insert(torch.ones(4, 4), 2).numel()
print(f"插 0 后的输入中 0 占 {1 - 16 / inserted_size:.0%}（还不算四周补的 0）")

# %% [markdown]
# ## 棋盘格
#
# 转置卷积撒下的块彼此重叠。核的大小不能被步幅整除时，重叠是不均匀的：输入全是 1、核全是 1，
# $3\times 3$ 的核、步幅 2 的输出里有的位置被盖了 1 次、有的 2 次、有的 4 次，形成棋盘格；
# $4\times 4$ 的核、步幅 2 除了边缘外处处被盖 4 次。这是常见的 DCGAN 实现（包括本书 $32\times 32$ 的生成器）选用
# “核 4、步幅 2、填充 1”的一个好处；论文作者最初的代码用的是 $5\times 5$ 的核。本书 $28\times 28$ 的生成器
# 第二层（$3\times 3 \to 7\times 7$）是核 3、步幅 2，正是左边那种不均匀的重叠。

# %%
fig, axes = plt.subplots(1, 2, figsize=(8, 3.8), layout="constrained")
for ax, k in zip(axes, (3, 4)):
    cover = trans_conv2d(
        torch.ones(6, 6), torch.ones(k, k), stride=2, padding=1,
    )
    image = ax.imshow(cover.numpy(), cmap="viridis", vmin=0.5, vmax=4.5)
    ax.set_title(f"核 {k}×{k}、步幅 2：{tuple(cover.shape)}")
    ax.set_axis_off()
fig.colorbar(image, ax=axes, ticks=[1, 2, 3, 4], label="被撒到的次数")
show(fig)
