"""
在设备上计算
============

张量和模型参数都存放在某个**设备**上：CPU 的内存，或者某块 GPU 的显存。一次运算的所有输入必须在同一个设备上，
结果也留在那里。这个示例演示怎样选择设备、把张量和模型搬过去，以及混用设备时会发生什么。
它在任何机器上都能运行：有 GPU 时用 GPU；只有 CPU 时，用 PyTorch 的 `meta` 设备充当“另一个设备”来演示混用的后果。
"""

# %%
import torch
import torch.nn.functional as F
from torch import nn

import dlbook
from dlbook.layers import FixedHiddenMLP

dlbook.seed_everything(0)

# %% [markdown]
# ## 选择设备
#
# `dlbook.get_device()` 依次尝试：环境变量 `DLBOOK_DEVICE` 指定的设备、CUDA、MPS（苹果芯片），最后是 CPU。
# 本书的示例都用它选设备，从不写死 `"cuda"`，所以同一个脚本在笔记本电脑和 GPU 服务器上都能运行。

# %%
device = dlbook.get_device()
print("选中的设备：", device)
print("CUDA 可用：", torch.cuda.is_available(),
      "，GPU 数量：", torch.cuda.device_count())
if torch.cuda.is_available():
    for i in range(torch.cuda.device_count()):
        print(f"  cuda:{i}：{torch.cuda.get_device_name(i)}")

# %% [markdown]
# 要演示“两个不同的设备”：一个总是 CPU，另一个（变量 `other`）在有加速器时就是选中的加速器；
# 只有 CPU 时，我们用 `meta` 设备：它是 PyTorch 自带的一种特殊设备，张量只有形状和类型、没有数据，
# 但同样受“输入必须在同一设备上”的检查。

# %%
other = device if device.type != "cpu" else torch.device("meta")
print(f"下面的演示在 cpu 和 {other} 之间进行")

# %% [markdown]
# ## 张量的设备
#
# 新建的张量默认在 CPU 上。可以用 `device=` 直接在目标设备上创建，也可以用 `.to()` 复制过去。

# %%
x = torch.tensor([1.0, 2.0, 3.0])
print("默认：", x.device)
y = torch.ones(2, 3, device=device)
print("直接创建在目标设备上：", y.device)
z = x.to(other)
print("x.to(other)：", z.device, "，x 本身仍在", x.device)

# %% [markdown]
# 张量的 `.to()` 返回一个**新**张量，原来的不动；如果张量已经在目标设备上（类型也相同），
# 就直接返回它自己，不做任何复制。

# %%
print("x.to('cpu') is x：", x.to("cpu") is x)
print("x.to(other) is x：", x.to(other) is x)

# %% [markdown]
# ## 混用设备会报错
#
# PyTorch 不会替我们在设备之间悄悄搬运数据（那样很慢，而且难以察觉），而是直接报错。

# %%
try:
    x + z
except RuntimeError as error:
    print(f"RuntimeError：\n{error}")

# %% [markdown]
# 在 CPU 和 GPU 之间混用时，报错的措辞是 “Expected all tensors to be on the same device, but found at least two devices,
# cuda:0 and cpu!”；用 `meta` 设备演示时措辞不同，但检查的是同一件事。（最常见的例外：零维的 CPU 张量，
# 也就是标量，可以和 GPU 上的张量一起运算，PyTorch 会把它当作一个普通的数。）
#
# ## 模型的设备
#
# 对模型调用 `.to()` 会把它的所有参数和缓冲区都搬过去。与张量不同，模型的 `.to()` 是**原地**的，返回的就是模型自己。

# %%
net = FixedHiddenMLP(20)
moved = net.to(other)
print("net.to(other) is net：", moved is net)
print("参数所在的设备：", {str(p.device) for p in net.parameters()})
print("缓冲区所在的设备：", {str(b.device) for b in net.buffers()})

# %% [markdown]
# 常数矩阵 `rand_weight` 是用 `register_buffer` 登记的缓冲区，所以跟着一起搬走了。如果它只是一个普通的张量属性，
# 就会留在原处，前向计算时才报错（见“层和块”一节）。
#
# 模型在哪个设备上，输入就要送到哪个设备上。输入还留在 CPU 上时：

# %%
try:
    net(torch.rand(2, 20))
except RuntimeError as error:
    print(f"RuntimeError：\n{error}")

# %% [markdown]
# ## 在选中的设备上训练
#
# 正确的写法是：模型用 `.to(device)` 搬一次；每个批量的数据在使用前 `.to(device)`；
# 只有在需要打印或画图时，才用 `.item()`、`.tolist()` 或 `.cpu()` 把结果取回 CPU。
# 取回会让 CPU 等待 GPU 算完（同步），所以不要在每一步都做：下面把每步的损失累加在设备上，最后只取回一次。

# %%
model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 1)).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
w_true = torch.randn(10, 1)
batches = []
for _ in range(20):
    X = torch.randn(32, 10)
    batches.append((X, X @ w_true))  # 数据先在 CPU 上，像从磁盘读进来的一样

epochs = dlbook.pick(quick=5, full=20)
for epoch in range(1, epochs + 1):
    total = torch.zeros((), device=device)  # 累加器也放在设备上
    for X, y in batches:
        X, y = X.to(device), y.to(device)
        loss = F.mse_loss(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.detach()
    print(f"第 {epoch} 轮，平均损失 {total.item() / len(batches):.4f}"
          f"（在 {total.device} 上累加）")

# %% [markdown]
# 训练好的模型保存参数之前不必搬回 CPU：加载时用 `map_location` 指定目标设备即可（见“读写文件”一节）。
