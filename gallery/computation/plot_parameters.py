"""
参数访问与共享参数
==================

模型训练好之后，参数就是它学到的全部东西。这个示例演示怎样找到它们：按下标取出某一层、
用 `state_dict` 和 `named_parameters` 一次列出全部参数、在嵌套的块里按路径访问；
最后把同一个层在网络里用两次，看看共享参数的梯度是怎样累加起来的。
"""

# %%
import matplotlib.pyplot as plt
import torch
from torch import nn

import dlbook
from dlbook.plot import show

dlbook.seed_everything(0)
device = dlbook.get_device()

net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)).to(device)
X = torch.rand(2, 4, device=device)
net(X)

# %% [markdown]
# ## 访问一层的参数
#
# `nn.Sequential` 可以像列表一样用下标取出某一层。`net[2]` 是最后的全连接层，
# 它的 `state_dict()` 是一个从参数名到张量的有序字典。

# %%
net[2].state_dict()

# %% [markdown]
# 每个参数都是 `nn.Parameter`：它是张量的子类，默认 `requires_grad=True`，
# 赋给模块的属性时会被自动登记。要拿到不带梯度记录的数值，用 `.detach()`；
# 还没有做过反向传播时，`.grad` 是 `None`。

# %%
bias = net[2].bias
print("类型：", type(bias).__name__,
      "，是张量吗？", isinstance(bias, torch.Tensor))
print("requires_grad：", bias.requires_grad)
print("数值：", bias.detach())
print("梯度：", bias.grad)

# %% [markdown]
# ## 一次访问所有参数
#
# `named_parameters()` 递归地遍历所有子模块，名字是“子模块名.参数名”。ReLU 没有参数，
# 所以名字里没有 `1.`。`state_dict()` 的键与之相同。

# %%
for name, param in net.named_parameters():
    print(f"{name:10s} {str(tuple(param.shape)):8s} {param.numel():3d} 个数")
print("参数总数：", sum(p.numel() for p in net.parameters()))
print("state_dict 的键：", list(net.state_dict()))
print("按名字取出：", net.state_dict()["2.bias"])

# %% [markdown]
# ## 嵌套的块
#
# 先写一个“块工厂” `small_block`，再用 `add_module` 把四个这样的块装进一个更大的块（`big_block`），最后接一个输出层。

# %%
def small_block() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())


def big_block() -> nn.Sequential:
    net = nn.Sequential()
    for i in range(4):
        net.add_module(f"block{i}", small_block())  # 嵌套
    return net


rgnet = nn.Sequential(big_block(), nn.Linear(4, 1)).to(device)
print(rgnet(X))
rgnet

# %% [markdown]
# 嵌套的块可以像嵌套的列表一样逐层索引。`rgnet[0][1][0]` 是大块 `rgnet[0]` 里第二个子块的第一层，
# 它的参数名是完整的路径 `0.block1.0.bias`。

# %%
print("rgnet[0][1][0].bias：")
print(rgnet[0][1][0].bias.detach())
print("按路径取出：")
print(rgnet.get_parameter("0.block1.0.bias").detach())
names = [name for name, _ in rgnet.named_parameters()]
print(f"共 {len(names)} 个参数张量")
print("前三个：", names[:3])
print("最后两个：", names[-2:])

# %% [markdown]
# ## 共享参数
#
# 有时我们希望几个层使用同一组参数。做法很简单：创建一个层，把它在网络里放两次。

# %%
shared = nn.Linear(8, 8)
tied = nn.Sequential(nn.Linear(4, 8), nn.ReLU(),
                     shared, nn.ReLU(),
                     shared, nn.ReLU(),
                     nn.Linear(8, 1)).to(device)
print("是同一个对象：", tied[2].weight is tied[4].weight)
with torch.no_grad():
    tied[2].weight[0, 0] = 100.0
print("改了 tied[2]，tied[4] 也变了：", tied[4].weight[0, 0].item())

# %% [markdown]
# 值相等还不够说明问题，两个独立的层也可能碰巧相等；`is` 说明它们就是同一个张量，改一处另一处跟着变。
# 优化器只会看到一份共享的参数：`parameters()` 会去掉重复的对象。`state_dict()` 则按位置各列一次，
# 保存时两个键指向同一块存储。

# %%
print("parameters() 中的张量个数：", len(list(tied.parameters())))
print("state_dict 的键：" + " ".join(tied.state_dict()))

# %% [markdown]
# ## 共享参数的梯度会累加
#
# 反向传播时，共享的参数在两个位置各收到一份梯度，PyTorch 把它们**加在一起**存进同一个 `.grad`。
# 验证的方法：另搭一个“解绑”的网络，把两处换成两个**独立**的拷贝，初始值完全相同。
# 两个网络的前向计算一模一样，解绑网络里两个拷贝的梯度之和，应当正好等于绑定网络里共享参数的梯度。
# （这里的激活函数换成了 tanh：ReLU 会让一些单元整行整列地没有梯度，画出来的图不好看。）

# %%
dlbook.seed_everything(1)
shared = nn.Linear(8, 8)
first, last = nn.Linear(4, 8), nn.Linear(8, 1)
tied = nn.Sequential(first, nn.Tanh(), shared, nn.Tanh(),
                     shared, nn.Tanh(), last).to(device)

copy_a, copy_b = nn.Linear(8, 8), nn.Linear(8, 8)
copy_a.load_state_dict(shared.state_dict())
copy_b.load_state_dict(shared.state_dict())
untied = nn.Sequential(first, nn.Tanh(), copy_a, nn.Tanh(),
                       copy_b, nn.Tanh(), last).to(device)

X = torch.rand(16, 4, device=device)
tied(X).sum().backward()
untied(X).sum().backward()

grad_tied = tied[2].weight.grad
grad_a, grad_b = untied[2].weight.grad, untied[4].weight.grad
row = int(grad_tied.abs().sum(dim=1).argmax())  # 挑梯度最大的一行来打印


def fmt(t: torch.Tensor) -> str:
    return "  ".join(f"{v:+.4f}" for v in t[row, :4].tolist())


print(f"第 {row} 行的前四个梯度：")
print("  位置 2（拷贝 A）：", fmt(grad_a))
print("  位置 4（拷贝 B）：", fmt(grad_b))
print("  两者之和：        ", fmt(grad_a + grad_b))
print("  共享参数：        ", fmt(grad_tied))
print("整个 8×8 矩阵上的最大差别：",
      (grad_tied - (grad_a + grad_b)).abs().max().item())

# %% [markdown]
# 差别为 0 或只剩浮点舍入。
# 把四个梯度矩阵画出来：共享参数的梯度（最右）就是前两张图的逐元素之和。

# %%
mats = [grad_a, grad_b, grad_a + grad_b, grad_tied]
titles = ["拷贝 A 的梯度", "拷贝 B 的梯度", "A + B", "共享参数的梯度"]
limit = max(m.abs().max().item() for m in mats)
fig, axes = plt.subplots(1, 4, figsize=(7.8, 2.3), layout="constrained")
for ax, m, title in zip(axes, mats, titles):
    image = ax.imshow(m.cpu().numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set(xticks=[], yticks=[], title=title)
fig.colorbar(image, ax=axes, shrink=0.8)
show(fig)

# %% [markdown]
# 累加不只发生在共享参数上。对同一个网络连续调用两次 `backward()` 而不清零，梯度同样会加起来；
# 这就是训练循环里每一步都要先 `optimizer.zero_grad()` 的原因。

# %%
tied.zero_grad()
loss = tied(X).sum()
loss.backward(retain_graph=True)
once = tied[-1].bias.grad.clone()
loss.backward()
print("一次 backward 的梯度：", once.item(),
      " 两次之后：", tied[-1].bias.grad.item())
