"""
全连接层与卷积层
================

卷积层可以看成一个受了约束的全连接层：大部分权重固定为 0（局部性），其余的在各个位置上重复使用
（平移不变性）。这个示例从三个方面比较两者：参数量、等价的权重矩阵长什么样，以及输入平移时输出怎样变化。
"""

# %%
import torch
from torch import nn

import dlbook
from dlbook.plot import show, show_images
from dlbook.text import pad

dlbook.seed_everything(0)

# %% [markdown]
# ## 参数量
#
# 把 $h\times w$ 的灰度图拉平后接一个 1000 个单元的全连接层，对比一个 $3\times 3$ 的单通道卷积层。
# 百万像素的全连接层有 $10^9$ 个参数，真的分配内存要 4 GB，所以这里把层建在 `meta` 设备上：
# 它只记录形状，不分配内存，正好用来数参数。

# %%
def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


print(pad("图像尺寸", 9), pad("全连接层参数", 18, align=">"),
      pad("float32 内存", 14, align=">"), pad("3×3 卷积层参数", 16, align=">"))
for h, w in [(28, 28), (224, 224), (1000, 1000)]:
    fc = nn.Linear(h * w, 1000, device="meta")
    conv = nn.Conv2d(1, 1, kernel_size=3, device="meta")
    n_fc = count(fc)
    size = f"{h}×{w}"
    print(f"{size:<9} {n_fc:>18,} {n_fc * 4 / 1e9:>11.3f} GB {count(conv):>16}")

# %% [markdown]
# 全连接层的参数随像素数线性增长，卷积层的参数个数与图像大小无关。
#
# ## 卷积层等价的权重矩阵
#
# 卷积是线性运算，所以任何一个卷积层都等价于某个全连接层。把 $6\times 6$ 的输入拉平成 36 维向量，
# 等价的权重矩阵是 $36\times 36$ 的：它的第 $k$ 列就是卷积层对第 $k$ 个“单位图像”
# （只有第 $k$ 个像素为 1）的响应。用这个办法把矩阵构造出来。

# %%
n = 6
conv = nn.Conv2d(1, 1, kernel_size=3, padding=1, bias=False)
basis = torch.eye(n * n).reshape(n * n, 1, n, n)  # 36 张单位图像
with torch.no_grad():
    W = conv(basis).reshape(n * n, n * n).T  # W[输出位置, 输入位置]

x = torch.randn(1, 1, n, n)
with torch.no_grad():
    same = torch.allclose(conv(x).flatten(), W @ x.flatten(), atol=1e-6)
nonzero = W[W != 0]
print(f"用 W 做矩阵乘法与卷积层的输出一致：{same}")
print(f"{W.numel()} 个权重中只有 {nonzero.numel()} 个非零，"
      f"它们只取 {nonzero.unique().numel()} 个不同的值（卷积核的 9 个权重）")

# %% [markdown]
# 画出来就一目了然：非零元素集中在几条对角线附近（稀疏连接），同一条对角线上的值都相同（权重共享）。
# 对角线上周期性出现的空缺来自图像的左右边界：一行的最后一个像素与下一行的第一个像素在向量里相邻，
# 在图像里却相隔很远。

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(5, 4.4), layout="constrained")
limit = W.abs().max().item()
im = ax.imshow(W.numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit)
fig.colorbar(im, ax=ax, shrink=0.8)
ax.set(title="与 3×3 卷积层等价的 36×36 权重矩阵",
       xlabel="输入像素（拉平后的下标）", ylabel="输出像素（拉平后的下标）")
show(fig)

# %% [markdown]
# ## 平移等变性
#
# 把一张 Fashion-MNIST 图像放在 $48\times 48$ 的黑色画布左上角，再把它向右下方平移。
# 对卷积层 $f$，应当有 $f(T\mathbf{x}) = T f(\mathbf{x})$：先平移再卷积，与先卷积再平移结果相同。
# 作为对照，再取一个输入输出都是 $48\times 48$ 的全连接层（随机初始化）做同样的检查。

# %%
from dlbook.data import load_fashion_mnist

images, _ = load_fashion_mnist("test")
canvas = torch.zeros(1, 1, 48, 48)
canvas[0, 0, 4:32, 4:32] = images[0].float() / 255


def shift(t: torch.Tensor) -> torch.Tensor:
    """向下、向右各平移 12 个像素。

    图像离画布边缘还有 4 个像素，循环平移不会把它卷回来。
    """
    return torch.roll(t, shifts=(12, 12), dims=(-2, -1))


conv = nn.Conv2d(1, 1, kernel_size=5, padding=2)
mlp = nn.Linear(48 * 48, 48 * 48)


def fc(t: torch.Tensor) -> torch.Tensor:
    return mlp(t.flatten(1)).reshape(t.shape)


with torch.no_grad():
    results = {}
    for name, f in [("卷积层", conv), ("全连接层", fc)]:
        out, out_shifted = f(canvas), f(shift(canvas))
        gap = (out_shifted - shift(out)).abs().max().item()
        scale = out.abs().max().item()
        results[name] = (out, out_shifted)
        print(f"{name}：max|f(Tx) − T f(x)| = {gap:.2e}"
              f"（输出本身的最大幅度 {scale:.2f}）")

# %% [markdown]
# 卷积层的差异是 0（换到 GPU 上也至多是浮点舍入误差），全连接层的差异则和输出本身的幅度相当。下图第一行是输入，
# 第二、三行分别是两种层对原图和平移后图像的输出：卷积层的输出跟着输入一起平移，
# 全连接层的输出则变成了毫不相干的另一幅图。

# %%
tiles = [canvas[0, 0], shift(canvas)[0, 0]]
titles = ["输入", "平移后的输入"]
for name, (out, out_shifted) in results.items():
    tiles += [out[0, 0], out_shifted[0, 0]]
    titles += [f"{name}的输出", f"{name}对平移输入的输出"]
show(show_images(tiles, nrows=3, ncols=2, titles=titles, scale=2.2))
