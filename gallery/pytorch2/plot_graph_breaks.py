"""
图中断：找到它、看懂它、去掉它
============================

Dynamo 遇到它无法放进计算图的 Python 代码时，不会报错，而是在那里**中断**：把前面的部分编译成一张图，
中间那段交回 Python 解释器执行，再从后面接着捕获新的图。程序照样正确，但每次中断都意味着多一次
“图 → Python → 图”的往返，融合也不能跨过断点。这个示例用 `torch._dynamo.explain` 让中断现形，
用 `fullgraph=True` 把它变成错误，再改写代码把它去掉。
"""

# %%
import logging
import textwrap

import torch

import dlbook
from dlbook.bench import environment

dlbook.seed_everything(0)
print(environment("cpu"))

# %% [markdown]
# ## 一个会中断的函数
#
# 这个标准化函数在标准差几乎为零时只减去均值。问题出在 `if s.item() < 1e-6`：`item()` 把张量的值读成
# Python 数，走哪条分支取决于**数据**，而计算图只能记录运算，记录不了“走哪条路”。

# %%
def standardize(x: torch.Tensor) -> torch.Tensor:
    mean, s = x.mean(), x.std()
    if s.item() < 1e-6:  # 分支取决于数据：图在这里中断
        return x - mean
    return (x - mean) / s


x = torch.randn(64, 8) * 3 + 1

# %% [markdown]
# `torch._dynamo.explain(f)(*args)` 像编译一样走一遍（不生成代码），报告捕获到几张图、在哪里中断、为什么。
# Dynamo 第一次因为 `item()` 中断时，还会往标准错误写一段提示（建议的做法见本页末尾的表格），
# 这里用 `torch._logging.set_logs` 暂时只让它报告错误，免得提示夹在输出中间。

# %%
torch._logging.set_logs(dynamo=logging.ERROR)
report = torch._dynamo.explain(standardize)(x)
torch._logging.set_logs()  # 恢复默认的日志设置
print(f"图 {report.graph_count} 张，中断 {report.graph_break_count} 次")
for i, reason in enumerate(report.break_reasons, 1):
    frame = reason.user_stack[-1] if reason.user_stack else None
    where = ""
    if frame is not None and frame.line:
        where = f"\n    代码：{frame.line.strip()}"
    print(f"中断 {i}：{reason.reason.strip().splitlines()[0]}{where}")

# %% [markdown]
# 两张图：`if` 之前的 `mean`、`std` 是一张；`item()` 把值交回 Python，Python 判断完分支后，
# Dynamo 从分支里接着捕获第二张图。每次调用都要在两张图之间回到 Python 一次。

# %% [markdown]
# ## `fullgraph=True`：不许中断
#
# 默认情况下中断是静悄悄的。`fullgraph=True` 要求整个函数成为**一张**图，做不到就抛出异常——
# 想确认“这个模型被完整编译了”时就该打开它。这里用后端 `"eager"`，因为异常在 Dynamo 捕获图时就抛出，
# 与后端无关，还省去了生成代码的时间。

# %%
strict = torch.compile(standardize, fullgraph=True, backend="eager")
try:
    strict(x)
except Exception as exc:  # 任何异常都接住，打印出来看看
    print(f"{type(exc).__module__}.{type(exc).__name__}:")
    first_lines = str(exc).strip().splitlines()[:2]
    # 报错的一行很长：按 80 个字符折行，不用横向滚动就能读完
    for line in first_lines:
        if line.strip():
            print(textwrap.fill(line, width=80, break_on_hyphens=False))

# %% [markdown]
# 异常的类型和措辞随 PyTorch 版本而变。新版本在整张图的要求下把 `s.item()` 当作一个运行时才知道的符号
# （消息里写作 `zuf0` 之类的名字），卡在 `if` 上：`if` 要求在编译时就知道它与 `1e-6` 的大小关系。
# 较早的版本（例如 2.4）不把 `item()` 捕获进图，报的是 `Unsupported: Tensor.item`，卡在 `item()` 本身。
# 两种报错说的是同一个问题：走哪条分支取决于数据。
#
# ## 去掉中断
#
# 把分支改写成张量运算：`torch.where` 两边都算，再按条件逐元素挑选（这里两边都很便宜）。
# 不被选中的那一边仍然会算，所以除数先用 `clamp_min` 挡住零，免得算出无穷大。

# %%
def standardize_graph(x: torch.Tensor) -> torch.Tensor:
    mean, s = x.mean(), x.std()
    centered = x - mean
    return torch.where(s < 1e-6, centered, centered / s.clamp_min(1e-6))


report = torch._dynamo.explain(standardize_graph)(x)
print(f"改写后：图 {report.graph_count} 张，中断 {report.graph_break_count} 次")
out = torch.compile(standardize_graph, fullgraph=True, backend="eager")(x)
diff = (out - standardize(x)).abs().max().item()
print("fullgraph=True 编译成功；与原函数的最大差：", diff)

# %% [markdown]
# 常见的中断原因和改法：
#
# | 写法 | 为什么中断 | 改法 |
# | --- | --- | --- |
# | `t.item()` 参与 Python 的 `if`、`while` | 默认设置下 `item()` 本身就中断；即使把标量捕获进图，分支也取决于数据，图里表达不了 | `torch.where`、`torch.clamp`；确实要走两条不同的计算时用 `torch.cond` |
# | `t.item()` 只参与算术 | 默认不把 Python 标量捕获进图 | 直接用零维张量计算，或设置 `torch._dynamo.config.capture_scalar_outputs = True` |
# | `t.tolist()`、`t.numpy()` 之后做非 torch 的计算 | 离开了 PyTorch | 换成 torch 运算 |
# | 调用 Dynamo 追踪不进去的 C 扩展或第三方库 | 看不见里面在做什么 | 换成 torch 运算，或用 `torch.compiler.disable` 把它明确排除在编译之外 |
#
# `print`、写日志这类副作用默认也会让图中断（`fullgraph=True` 时报错）。`torch._dynamo.config.reorderable_logging_functions`
# 可以登记几个这样的函数，让 Dynamo 把对它们的调用挪到图之后执行，不再中断。
# 中断也不总是坏事：偶尔一两次、发生在计算很多的两段之间时，代价可以忽略。要紧的是知道它在哪里。
