"""
一个模型从搭建到存盘
====================

这个示例把本章的内容串成一条线：选设备、用块搭模型（其中一层是从零实现的 `MyLinear`）、
让延后初始化的层推断形状、初始化参数、训练、把 `state_dict` 存进文件，再在一个新模型里加载回来，
确认两个模型算出的结果一模一样。后面各节会逐一细讲每一步。
"""

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

import dlbook
from dlbook.layers import MyLinear
from dlbook.plot import show

dlbook.seed_everything(0)
device = dlbook.get_device()
print("设备：", device)

# %% [markdown]
# ## 搭模型
#
# 第一层是 `nn.LazyLinear`，只写了输出维度；中间是我们自己写的 `MyLinear`；最后是 PyTorch 的 `nn.Linear`。
# 用一批假数据“试跑”一次，第一层就知道了输入是 1 维的。

# %%
def build() -> nn.Sequential:
    model = nn.Sequential(
        nn.LazyLinear(64), nn.Tanh(),
        MyLinear(64, 64), nn.Tanh(),
        nn.Linear(64, 1),
    ).to(device)
    model(torch.zeros(1, 1, device=device))  # 试跑：确定 LazyLinear 的输入维度
    return model


model = build()
print(model)
for name, param in model.named_parameters():
    print(f"{name:9s} {tuple(param.shape)}")
print("参数总数：", sum(p.numel() for p in model.parameters()))

# %% [markdown]
# ## 初始化
#
# 用 `apply` 把所有权重换成 Xavier 均匀初始化、偏置置零。`MyLinear` 不是 `nn.Linear` 的子类，要单独列出来。

# %%
def init_xavier(m: nn.Module) -> None:
    if isinstance(m, (nn.Linear, MyLinear)):
        nn.init.xavier_uniform_(m.weight)
        nn.init.zeros_(m.bias)


model.apply(init_xavier)
print("MyLinear 的偏置全为 0：", bool((model[2].bias == 0).all()))

# %% [markdown]
# ## 训练
#
# 拟合一条带噪声的曲线 $y = \sin 2x + \epsilon$。数据和模型都在选中的设备上。

# %%
x = torch.linspace(-3, 3, 200, device=device).reshape(-1, 1)  # (N, 1)
y = torch.sin(2 * x) + 0.1 * torch.randn_like(x)
steps = dlbook.pick(quick=1000, full=3000)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
losses = []
for step in range(steps):
    loss = F.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.detach())
losses = torch.stack(losses).cpu()  # 训练结束后一次性取回 CPU
print(f"{steps} 步后的损失：{losses[-1]:.4f}（噪声的方差是 0.01）")

# %% [markdown]
# ## 存盘与加载
#
# 只保存 `state_dict`，写进一个临时目录。加载时先用同样的代码搭一个新模型（它的参数是另一组随机数），
# 再用 `torch.load(..., weights_only=True)` 读出参数装进去。

# %%
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "model.pt"
    torch.save(model.state_dict(), path)
    print(f"文件大小：{path.stat().st_size} 字节")
    restored = build()
    print("加载前，两个模型的输出相同吗？", torch.equal(restored(x), model(x)))
    state = torch.load(path, map_location=device, weights_only=True)
    restored.load_state_dict(state)
print("加载后，两个模型的输出相同吗？", torch.equal(restored(x), model(x)))

# %% [markdown]
# 左图是训练损失，右图是数据和两个模型的预测：加载回来的模型（虚线）与原模型（实线）完全重合。

# %%
with torch.no_grad():
    pred, pred_restored = model(x).cpu(), restored(x).cpu()
xs, ys = x.cpu(), y.cpu()
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7.2, 3.4), layout="constrained")
ax1.semilogy(losses.numpy())
ax1.set(xlabel="训练步数", ylabel="均方误差", title="训练损失")
ax2.scatter(xs, ys, s=6, color="gray", alpha=0.5, label="数据")
ax2.plot(xs, pred, linewidth=3, alpha=0.6, label="原模型")
ax2.plot(xs, pred_restored, "--", color="black", label="加载回来的模型")
ax2.set(xlabel="x", ylabel="y", title="预测")
fig.legend(*ax2.get_legend_handles_labels(), loc="outside lower right", ncols=3,
           columnspacing=1.2)  # 放在右图下方，不挡住数据
show(fig)
