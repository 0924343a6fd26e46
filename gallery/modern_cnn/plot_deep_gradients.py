"""
深层网络里的梯度
================

网络越深，反向传播时梯度要连乘的层越多。这个示例搭四个 50 层的小网络（25 个块、每块两个全连接层）：
普通的和带残差连接的，各有不加和加批量归一化的两种；让同一批随机数据走一遍，
比较每个块里第一个全连接层的权重梯度有多大。不用训练，在 CPU 上一眨眼就算完。
"""

# %%
import matplotlib.pyplot as plt
import torch
from torch import Tensor, nn

import dlbook
from dlbook.plot import show

# %% [markdown]
# ## 四种块
#
# 每个块是“全连接 → (批量归一化) → ReLU → 全连接 → (批量归一化)”，记作 $g(\mathbf{x})$。
# 普通块输出 $\mathrm{ReLU}(g(\mathbf{x}))$，残差块输出 $\mathrm{ReLU}(\mathbf{x} + g(\mathbf{x}))$，
# 与 `dlbook.models.Residual` 的结构相同，只是把卷积换成了全连接层。

# %%
class Block(nn.Module):
    """一个块：``relu(g(x))``，或者 ``residual=True`` 时 ``relu(x + g(x))``。"""

    def __init__(self, width: int, *, residual: bool, batch_norm: bool) -> None:
        super().__init__()
        self.residual = residual

        def norm() -> nn.Module:
            return nn.BatchNorm1d(width) if batch_norm else nn.Identity()

        self.g = nn.Sequential(
            nn.Linear(width, width), norm(), nn.ReLU(),
            nn.Linear(width, width), norm(),
        )
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        out = self.g(x)  # (B, width)
        return self.relu(x + out if self.residual else out)


dlbook.seed_everything(0)
num_blocks, width = 25, 64
# 一批随机数据与标签
X, y = torch.randn(256, width), torch.randint(0, 10, (256,))

grad_norms = {}
for residual in (False, True):
    for batch_norm in (False, True):
        dlbook.seed_everything(0)  # 四个网络的权重来自同一个随机数序列
        blocks = [
            Block(width, residual=residual, batch_norm=batch_norm)
            for _ in range(num_blocks)
        ]
        net = nn.Sequential(*blocks, nn.Linear(width, 10))
        nn.functional.cross_entropy(net(X), y).backward()
        kind = "残差" if residual else "普通"
        name = kind + ("，有 BN" if batch_norm else "，无 BN")
        grad_norms[name] = [
            block.g[0].weight.grad.norm().item() for block in blocks
        ]

for name, norms in grad_norms.items():
    first_mid_last = [f"第 {i + 1} 块 {norms[i]:.1e}" for i in (0, 12, 24)]
    print(f"{name}：" + "，".join(first_mid_last))

# %% [markdown]
# 画成图，纵轴是对数坐标，每条刻度线之间差 1000 倍。

# %%
fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
for name, norms in grad_norms.items():
    ax.plot(
        range(1, num_blocks + 1), norms, marker="o", markersize=3, label=name
    )
ax.set(yscale="log", xlabel="块的序号（1 靠近输入）", ylabel="权重梯度的范数")
ax.grid(alpha=0.3, which="major")
ax.legend()
show(fig)

# %% [markdown]
# 没有批量归一化的普通网络，梯度每往回传一个块就缩小一截，传到最前面几层时已经小了十几个数量级：
# 这就是**梯度消失**。这里用的是 PyTorch 全连接层的默认初始化，每层都把信号缩小一些；
# 如果每层都放大一些，连乘起来就是**梯度爆炸**。加上批量归一化，梯度不再消失，但前后各层的梯度
# 仍然相差好几个数量级，越靠近输入越大。有了残差连接，最前面和最后面的块的梯度相差不过一个数量级左右：
# 块的输出是 $\mathbf{x} + g(\mathbf{x})$，它对输入的导数是 $\mathbf{I} + \partial g/\partial \mathbf{x}$，
# 其中的单位矩阵 $\mathbf{I}$ 给梯度留了一条不经过任何权重的直达通道。
