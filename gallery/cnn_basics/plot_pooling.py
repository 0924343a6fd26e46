"""
汇聚层与感受野
==============

汇聚层没有参数，只在每个窗口里取最大值或平均值。这个示例先列出从零实现的 `pool2d` 并把它与 PyTorch 对照，
再用数字说明汇聚层的两个作用：容忍小的平移、缩小特征图；最后看感受野怎样随层数增长。
"""

# %%
import itertools

import torch
import torch.nn.functional as F
from torch import nn

import dlbook
from dlbook.conv import pool2d, pool_output_size, receptive_field
from dlbook.plot import show, show_images
from dlbook.source import code_of
from dlbook.text import pad, text_width

dlbook.seed_everything(0)

# %% [markdown]
# ## 最大汇聚与平均汇聚
#
# 从零实现的 `dlbook.conv.pool2d`（去掉了文档字符串）与 `corr2d` 一样是两重循环，只是窗口里不再与卷积核相乘，
# 而是取最大值或平均值；最大汇聚补的是 $-\infty$，补的位置永远不会被选中：

# %%
print(code_of(pool2d))

# %% [markdown]
# $3\times 3$ 的输入、$2\times 2$ 的窗口、步幅 1：最大汇聚取每个窗口的最大值，平均汇聚取平均值。

# %%
X = torch.arange(9.0).reshape(3, 3)
print("最大汇聚：", pool2d(X, 2, stride=1).tolist())
print("平均汇聚：", pool2d(X, 2, stride=1, mode="avg").tolist())

# %% [markdown]
# 再在一批设置上与 `F.max_pool2d`、`F.avg_pool2d` 逐一对照：输入是两个通道的随机张量，
# 窗口 1 到 3、填充 0 到窗口的一半、步幅 1 到 3，两种模式都查。

# %%
settings = [
    (n, k, p, s, mode)
    for n, k, s, mode in itertools.product(
        range(3, 8), range(1, 4), range(1, 4), ["max", "avg"])
    for p in range(k // 2 + 1)
]
agree = 0
for n, k, p, s, mode in settings:
    X = torch.randn(2, n, n)
    ours = pool2d(X, k, mode=mode, padding=p, stride=s)
    torch_pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    theirs = torch_pool(X[None], k, stride=s, padding=p)[0]
    same_shape = ours.shape == theirs.shape
    agree += same_shape and torch.allclose(ours, theirs, atol=1e-6)
note = "（全部一致）" if agree == len(settings) else ""
print(f"共 {len(settings)} 种设置，{agree} 种一致{note}")

# %% [markdown]
# ## 填充、步幅与通道
#
# PyTorch 的汇聚层默认步幅等于窗口大小。输出尺寸公式与卷积层相同：$\lfloor (n + 2p - k)/s\rfloor + 1$。
# 多通道输入时每个通道各自汇聚，通道数不变。

# %%
X = torch.arange(16.0).reshape(1, 1, 4, 4)
X2 = torch.cat([X, X + 1], dim=1)  # (1, 2, 4, 4)：两个通道
print("nn.MaxPool2d(3) 的默认步幅：", nn.MaxPool2d(3).stride,
      "，输出形状：", tuple(nn.MaxPool2d(3)(X2).shape))
# 每组是 (窗口, 填充, 步幅)
configs = [((3, 3), (1, 1), (2, 2)), ((2, 3), (0, 1), (2, 3))]
for (kh, kw), (ph, pw), (sh, sw) in configs:
    layer = nn.MaxPool2d((kh, kw), padding=(ph, pw), stride=(sh, sw))
    formula = (pool_output_size(4, kh, padding=ph, stride=sh),
               pool_output_size(4, kw, padding=pw, stride=sw))
    print(f"窗口 {kh}×{kw}、填充 ({ph}, {pw})、步幅 ({sh}, {sw})："
          f"输出形状 {tuple(layer(X2).shape)}，公式给出的高宽 {formula}")

# %% [markdown]
# ## 汇聚层让特征对平移不那么敏感
#
# 取 200 张 Fashion-MNIST 图像（放在稍大的画布上，平移时不会出界），用两个 Sobel 核提取边缘特征并经过 ReLU。
# 把图像向右平移 1 到 4 个像素，比较平移前后**同一位置**上的特征有多相似（余弦相似度，1 表示完全相同）。
# 边缘只有一两个像素宽，平移一个像素，特征图就大不相同；$2\times 2$ 汇聚之后，相似度明显高一些。

# %%
from dlbook.data import load_fashion_mnist

images, labels = load_fashion_mnist("test")
canvas = torch.zeros(200, 1, 36, 36)
canvas[:, :, 4:32, 4:32] = images[:200, None].float() / 255
sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
edges = torch.stack([sobel, sobel.T])[:, None]  # (2, 1, 3, 3)


def features(x: torch.Tensor) -> torch.Tensor:
    return F.relu(F.conv2d(x, edges, padding=1))  # (N, 2, 36, 36)


def similarity(a: torch.Tensor, b: torch.Tensor) -> float:
    return F.cosine_similarity(a.flatten(1), b.flatten(1)).mean().item()


base = features(canvas)
header = [("平移像素", 8), ("不汇聚", 10),
          ("2×2 最大汇聚", 14), ("2×2 平均汇聚", 14)]
# 汉字占两列，用 pad 补空格对齐
print("".join(pad(name, width, align=">") for name, width in header))
for shift in range(5):
    moved = features(torch.roll(canvas, shifts=shift, dims=-1))
    print(f"{shift:>8}{similarity(base, moved):>10.3f}"
          f"{similarity(F.max_pool2d(base, 2), F.max_pool2d(moved, 2)):>14.3f}"
          f"{similarity(F.avg_pool2d(base, 2), F.avg_pool2d(moved, 2)):>14.3f}")

# %% [markdown]
# 这种容忍是局部的：平移得越多，相似度越低。网络靠一层层叠加汇聚（以及越来越大的感受野）才对位置变得稳健。
#
# ## 汇聚层缩小特征图
#
# $2\times 2$ 汇聚把 $28\times 28$ 的图像缩小到 $14\times 14$，$4\times 4$ 汇聚缩小到 $7\times 7$。
# 最大汇聚保留了亮的部分，轮廓显得更粗；平均汇聚相当于先模糊再缩小。

# %%
from dlbook.data import FASHION_MNIST_CLASSES_ZH

x = images[1, None].float() / 255  # (1, 28, 28)
tiles = [x, pool2d(x, 2), pool2d(x, 2, mode="avg"),
         pool2d(x, 4), pool2d(x, 4, mode="avg")]
titles = ["原图 28×28", "最大汇聚 2×2", "平均汇聚 2×2",
          "最大汇聚 4×4", "平均汇聚 4×4"]
titles = [f"{t}\n→ {tuple(tile.shape[-2:])}" if i else t
          for i, (t, tile) in enumerate(zip(titles, tiles))]
print("图像类别：", FASHION_MNIST_CLASSES_ZH[labels[1]])
show(show_images(tiles, nrows=1, ncols=5, titles=titles, scale=1.9))

# %% [markdown]
# ## 感受野
#
# `receptive_field` 接受每层的 (卷积核或窗口大小, 步幅)，按递推 $r_l = r_{l-1} + (k_l-1)\prod_{m<l} s_m$
# 计算感受野。下面列出三种结构逐层的感受野：只用 $3\times 3$ 卷积时每层加 2；
# 步幅为 2 的汇聚层之后，每层的增量翻倍。

# %%
conv3, conv5 = ("3×3 卷积", 3, 1), ("5×5 卷积", 5, 1)
pool2 = ("2×2 汇聚", 2, 2)
architectures = {
    "三个 3×3 卷积": [conv3] * 3,
    "LeNet 的卷积部分": [conv5, pool2] * 2,
    "VGG 式的两个块": [conv3, conv3, pool2] * 2,
}
for name, layers in architectures.items():
    sizes = [receptive_field([(k, s) for _, k, s in layers[: i + 1]])
             for i in range(len(layers))]
    steps = [f"{label}({r})" for (label, _, _), r in zip(layers, sizes)]
    indent = " " * text_width(f"{name}：")
    text = f"{name}：" + steps[0]
    for (previous, _, _), step in zip(layers, steps[1:]):
        # 在汇聚层之后换行，续行缩进到第一层的位置
        text += (f"\n{indent}→ " if "汇聚" in previous else " → ") + step
    print(text)

# %% [markdown]
# 用梯度验证 LeNet 卷积部分的感受野：对最后一个特征图中间的一个元素求关于输入的梯度，
# 梯度非零的位置就是这个元素的感受野。权重取正数，保证梯度不会恰好抵消成 0。

# %%
net = nn.Sequential(
    nn.Conv2d(1, 1, kernel_size=5, padding=2), nn.AvgPool2d(2),
    nn.Conv2d(1, 1, kernel_size=5), nn.AvgPool2d(2),
)
for m in net:
    if isinstance(m, nn.Conv2d):
        nn.init.uniform_(m.weight, 0.1, 1.0)
x = torch.zeros(1, 1, 28, 28, requires_grad=True)
out = net(x)  # (1, 1, 5, 5)
out[0, 0, 2, 2].backward()
rows = x.grad[0, 0].abs().sum(dim=1).nonzero()
cols = x.grad[0, 0].abs().sum(dim=0).nonzero()
print("输出形状：", tuple(out.shape))
print(f"梯度非零的区域：{len(rows)}×{len(cols)}，"
      f"公式：{receptive_field([(5, 1), (2, 2), (5, 1), (2, 2)])}")
