"""
形状变了怎么办：dynamic 与重新编译
================================

编译出的代码是为某种输入“量身定做”的。输入的形状变了，守卫检查失败，Dynamo 就要**重新编译**。
`dynamic` 参数决定怎样对待形状：`False` 每种形状编译一份；`True` 一开始就把形状当作符号；
默认的 `None` 先按具体形状编译，发现某一维变了，再把那一维改成符号、重新编译一次。
这个示例用一个数图的后端把每次编译记下来，再用 PyTorch 的日志看重新编译的原因。
"""

# %%
import contextlib
import io
import re

import torch
from torch import fx

import dlbook
from dlbook.bench import environment

dlbook.seed_everything(0)
print(environment("cpu"))

# %% [markdown]
# ## 一个数编译次数的后端
#
# 每编译（或重新编译）一次，Dynamo 就调用一次后端。后端记下图的输入：具体形状的图只有张量输入；
# 带符号形状的图还多出 `SymInt` 类型的输入（例如 `s0`；新版本按哈希取名，会是 `s77` 这样的名字），代表运行时才知道的那一维大小。

# %%
class CountingBackend:
    def __init__(self) -> None:
        self.graphs: list[str] = []

    def __call__(self, gm: fx.GraphModule, example_inputs):
        kinds = []
        for node in gm.graph.nodes:
            if node.op == "placeholder":
                value = node.meta.get("example_value")
                if isinstance(value, torch.Tensor):
                    shape = tuple(value.shape)
                else:
                    shape = type(value).__name__
                kinds.append(str(shape))
        self.graphs.append(", ".join(kinds))
        return gm.forward


def layer(x: torch.Tensor) -> torch.Tensor:
    return torch.relu(x) * 2 + x.mean(dim=0)


batch_sizes = (8, 16, 32, 64, 64, 8)

# %% [markdown]
# 依次用 6 个批量调用同一个函数，三种 `dynamic` 各试一次（每次先 `torch._dynamo.reset()` 清空缓存）：

# %%
for dynamic in (False, None, True):
    torch._dynamo.reset()
    backend = CountingBackend()
    compiled = torch.compile(layer, backend=backend, dynamic=dynamic)
    for n in batch_sizes:
        compiled(torch.randn(n, 4))
    print(f"dynamic={dynamic!s:5}：调用 {len(batch_sizes)} 次，"
          f"编译 {len(backend.graphs)} 次")
    for graph in backend.graphs:
        print(f"    图的输入：{graph}")

# %% [markdown]
# 三种做法的取舍：
#
# - `dynamic=False`：每种形状一份代码，每份都是为具体大小优化的，但形状多了就反复编译。
#   同一个函数重新编译的次数有上限（`torch._dynamo.config.recompile_limit`，较早的版本叫 `cache_size_limit`，
#   默认 8），超过之后 Dynamo 放弃编译、退回即时执行，并给出警告。
# - `dynamic=True`：只编译一次，代码对不同的大小都成立（大小为 0 或 1 的维例外，它们总按具体值另编译一份）；
#   但少了“大小已知”这条信息，有些优化做不了。
# - `dynamic=None`（默认）：先乐观地按具体形状编译；一旦看到某一维真的在变，就把那一维换成符号重新编译，
#   之后不再为它编译。所以上面第二次编译的图里出现了 `SymInt`。
#
# 训练时最常见的情形是最后一个批量不满：默认设置下它只会引起一次重新编译（如果最后一批恰好只剩 1 张，
# 大小为 1 的批量还要另编译一份）。也可以用
# `torch._dynamo.mark_dynamic(x, 0)` 事先声明“第 0 维会变”，或者让数据加载器丢掉不满的批量（`drop_last=True`）。
#
# ## 看重新编译的原因
#
# `torch._logging.set_logs(recompiles=True)` 让 Dynamo 每次重新编译时写一条日志，说明哪个守卫失败了。
# 在终端里也可以设置环境变量 `TORCH_LOGS=recompiles`。日志默认写到标准错误；这里先把它截到一个字符串里，
# 去掉每行开头的时间、进程号和源文件位置，再打印出来。

# %%
torch._dynamo.reset()
compiled = torch.compile(layer, backend=CountingBackend(), dynamic=False)
compiled(torch.randn(8, 4))
log = io.StringIO()
with contextlib.redirect_stderr(log):
    torch._logging.set_logs(recompiles=True)
    compiled(torch.randn(16, 4))  # 批量变了
    compiled(torch.randn(16, 4, dtype=torch.float64))  # 数据类型变了
    torch._logging.set_logs()  # 恢复默认的日志设置
for line in log.getvalue().splitlines():
    message = re.sub(r"^.*?\] (?=\[\d+/\d+\])", "", line)
    print(message.replace(" [__recompiles]", ""))

# %% [markdown]
# 日志里的 `0/0`、`0/1` 是“第几个被编译的函数/它的第几份代码”。守卫检查的不只是形状：
# 数据类型、设备、`requires_grad`、模块的 `training` 标志、被读到的 Python 全局变量……都可能触发重新编译。
# 模型在 `train()` 和 `eval()` 之间切换时各有一份代码，就是这个原因。
