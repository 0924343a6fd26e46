"""
读写文件
========

训练好的模型要保存下来，以后加载回来做预测；训练了几个小时的任务要定期存档，断电之后从存档继续。
这个示例用 `torch.save` 和 `torch.load` 读写张量、张量的列表和字典、模型的 `state_dict` 以及训练存档，
再看看 `weights_only=True` 拒绝加载什么、为什么要拒绝。所有文件都写在一个临时目录里，示例结束时自动删除。
"""

# %%
import pickle
import tempfile
import textwrap
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import dlbook

dlbook.seed_everything(0)
device = dlbook.get_device()

workdir = tempfile.TemporaryDirectory()  # 示例结束时调用 workdir.cleanup() 删除
root = Path(workdir.name)

# %% [markdown]
# ## 张量
#
# `torch.save(obj, path)` 把对象写进文件，`torch.load(path, weights_only=True)` 读回来。
# 一个张量、一个张量列表、一个从字符串到张量的字典都可以。

# %%
x = torch.arange(4)
y = torch.zeros(4)
torch.save(x, root / "x.pt")
torch.save([x, y], root / "xy.pt")
torch.save({"x": x, "y": y}, root / "xy_dict.pt")

print(torch.load(root / "x.pt", weights_only=True))
x2, y2 = torch.load(root / "xy.pt", weights_only=True)
print(x2, y2)
print(torch.load(root / "xy_dict.pt", weights_only=True))

# %% [markdown]
# ## 模型参数
#
# 保存模型时，通常只保存它的 `state_dict`：一个从参数名到张量的字典。模型的结构是代码，不在文件里；
# 加载时先用代码重新搭出同样的模型，再把参数装进去。

# %%
class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(20, 256)
        self.output = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(F.relu(self.hidden(x)))


net = MLP().to(device)
X = torch.randn(2, 20, device=device)
Y = net(X)
torch.save(net.state_dict(), root / "mlp.params")

clone = MLP().to(device)  # 新建的模型：参数是另一组随机数
print("加载前输出相同吗？", torch.equal(clone(X), Y))
state = torch.load(root / "mlp.params", map_location=device, weights_only=True)
print(clone.load_state_dict(state))
clone.eval()
print("加载后输出相同吗？", torch.equal(clone(X), Y))

# %% [markdown]
# `map_location` 指定把张量加载到哪个设备上：在 GPU 上保存的参数，在只有 CPU 的机器上要用
# `map_location="cpu"` 才能读回来。`load_state_dict` 默认是严格的：键少了或多了都会报错，
# 形状不对也会报错，不会悄悄地只加载一部分。

# %%
try:
    nn.Linear(20, 256).load_state_dict(state)
except RuntimeError as error:
    print("RuntimeError：")
    # 报错有好几行，每行按 80 个字符折行，折下来的部分多缩进两格
    for line in str(error).splitlines():
        line = line.replace("\t", "    ")
        print(textwrap.fill(line, width=80, subsequent_indent="      "))

# %% [markdown]
# ## 训练存档
#
# 要能从中断处接着训练，除了模型参数，还要保存优化器的状态（例如 Adam 的一阶、二阶矩估计）和当前的轮数。
# 把它们放进一个字典一起保存；这些都是张量、数字和字符串，`weights_only=True` 能够加载。

# %%
model = nn.Linear(3, 1).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
data = torch.randn(32, 3, device=device)
target = data.sum(dim=1, keepdim=True)


def train_steps(model: nn.Module, optimizer: torch.optim.Optimizer,
                n: int) -> float:
    for _ in range(n):
        loss = F.mse_loss(model(data), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


train_steps(model, optimizer, 10)
torch.save({"step": 10, "model": model.state_dict(),
            "optimizer": optimizer.state_dict()}, root / "checkpoint.pt")
reference = train_steps(model, optimizer, 10)  # 不中断，一口气训练到第 20 步

checkpoint = torch.load(root / "checkpoint.pt", map_location=device,
                        weights_only=True)
resumed = nn.Linear(3, 1).to(device)
resumed_optimizer = torch.optim.Adam(resumed.parameters(), lr=0.01)
resumed.load_state_dict(checkpoint["model"])
resumed_optimizer.load_state_dict(checkpoint["optimizer"])
print("存档里的 Adam 状态：", list(checkpoint["optimizer"]["state"][0]))
resumed_loss = train_steps(resumed, resumed_optimizer, 10)
print(f"从第 {checkpoint['step']} 步恢复，再训练 10 步，"
      f"损失 {resumed_loss:.6f}；不中断的训练：{reference:.6f}")

# %% [markdown]
# 两个损失完全相同：恢复的训练与没有中断过的训练走的是同一条路。如果只恢复模型参数、不恢复优化器状态，
# Adam 会从零开始重新估计矩，两条路就分开了。
#
# ## `weights_only=True` 拒绝什么
#
# `torch.save` 用的是 Python 的 pickle 格式。pickle 不只能存数据，还能存“加载时调用某个函数”的指令，
# 所以加载一个来历不明的 pickle 文件，就等于运行了别人的代码。下面这个类在被加载时会调用 `print`；
# 换成删除文件或者联网的函数，也一样会被执行。

# %%
class Payload:
    def __reduce__(self):
        return (print, ("【加载这个文件时，执行了文件里指定的函数！】",))


torch.save({"weight": torch.ones(2), "extra": Payload()},
           root / "suspicious.pt")
print("weights_only=False：")
loaded = torch.load(root / "suspicious.pt", weights_only=False)

# %% [markdown]
# `weights_only=True` 只允许加载张量、基本类型（数字、字符串、列表、字典、元组……）和少数 PyTorch 自己的类型，
# 遇到别的类或函数就拒绝，抛出 `pickle.UnpicklingError`。这样的文件我们没法用它加载，但至少什么也没有执行：

# %%
def explain(error: Exception) -> str:
    """从 PyTorch 很长的报错里取出说明原因的那一行，按 80 个字符折行。"""
    lines = [line.strip() for line in str(error).splitlines()]
    reason = [line for line in lines if "Unsupported global" in line]
    return textwrap.fill((reason or lines)[0].split(" Please use")[0], width=80)


try:
    torch.load(root / "suspicious.pt", weights_only=True)
except pickle.UnpicklingError as error:
    print(f"{type(error).__name__}：\n{explain(error)}")

# %% [markdown]
# 同样的道理，自定义类的对象、以及用 `torch.save(net)` 保存的**整个模型**，也都会被拒绝：
# 它们在文件里都是“到某个模块里找到这个类，再用它构造对象”的指令。这正是推荐只保存 `state_dict` 的原因之一。

# %%
class Config:
    def __init__(self, lr: float) -> None:
        self.lr = lr


torch.save(Config(lr=0.1), root / "config.pt")
torch.save(net, root / "whole_model.pt")
for name in ("config.pt", "whole_model.pt"):
    try:
        torch.load(root / name, weights_only=True)
    except pickle.UnpicklingError as error:
        print(f"{name:15s} {type(error).__name__}：\n{explain(error)}")

# %% [markdown]
# 完整的报错信息（上面只显示了说明原因的那一句）还给出了两条出路：确认文件可信之后用 `weights_only=False`，或者用
# `torch.serialization.add_safe_globals([Config])` 把这个类加进允许的名单。更好的做法是从源头避免：
# 配置存成普通的字典，模型只存 `state_dict`。
#
# 最后看一眼临时目录里的文件。`mlp.params` 里的 $20\times 256 + 256 + 256\times 10 + 10 = 7946$ 个
# `float32` 各占 4 字节，文件只比这多出一点：其余是 zip 容器和记录张量名字、形状的 pickle 元数据。

# %%
for path in sorted(root.iterdir()):
    print(f"{path.name:15s} {path.stat().st_size:6d} 字节")
n_params = sum(p.numel() for p in net.parameters())
print(f"MLP 的参数：{n_params} 个 × 4 字节 = {4 * n_params} 字节")
workdir.cleanup()
