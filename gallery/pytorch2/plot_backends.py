"""
编译器里面：Dynamo 捕获的图与 AOTAutograd 的前向、反向图
======================================================

`torch.compile` 的 `backend` 参数可以是一个普通的 Python 函数。它收到 TorchDynamo 捕获的 FX 计算图和一组示例输入，
返回一个可调用对象。写一个只打印、不优化的后端，就能看见编译流水线每一站交给下一站的东西：
Dynamo 捕获的图、AOTAutograd 拆出的前向图和反向图；最后用内置的调试后端 `eager`、`aot_eager`
说明怎样一站一站地排查编译带来的问题。本例不生成机器码，在哪里都只需几秒钟。
"""

# %%
import torch
import torch.nn.functional as F
from torch import fx, nn

import dlbook
from dlbook.bench import environment

dlbook.seed_everything(0)
print(environment("cpu"))

# %% [markdown]
# ## 一个只打印图的后端
#
# 后端的签名是 `(gm: torch.fx.GraphModule, example_inputs: list[Tensor]) -> Callable`。
# `gm.code` 是这张图对应的 Python 源代码；返回 `gm.forward` 表示“就按图里的运算原样执行”。

# %%
def show_graph(gm: fx.GraphModule, example_inputs: list[torch.Tensor]):
    shapes = [
        tuple(t.shape) for t in example_inputs if isinstance(t, torch.Tensor)
    ]
    print(f"--- Dynamo 交来一张图：{len(gm.graph.nodes)} 个节点，输入形状：")
    print(shapes)
    print(gm.code.strip())
    return gm.forward


def mlp_step(
    x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor
) -> torch.Tensor:
    hidden = torch.relu(x @ w1)
    return F.log_softmax(hidden @ w2, dim=1).mean()


x = torch.randn(8, 4)
w1 = torch.randn(4, 16, requires_grad=True)
w2 = torch.randn(16, 3, requires_grad=True)
out = torch.compile(mlp_step, backend=show_graph)(x, w1, w2)
print("结果与即时执行相同：", torch.equal(out, mlp_step(x, w1, w2)))

# %% [markdown]
# Dynamo 没有执行这个函数，而是**逐条解释它的字节码**：遇到张量运算就记成图里的一个节点，
# 遇到普通的 Python 代码（变量赋值、函数调用）就在解释时直接算掉。得到的图只剩下张量运算，
# 仍是 `torch.relu`、`matmul` 这样的 Python 层运算，还没有反向传播的部分。
#
# 对模块也是一样。PyTorch 2.5 起，LeNet 的 `forward` 里对子模块的调用默认被“内联”进了图，
# 参数变成了图的输入（名字里记着它来自哪个子模块）。PyTorch 2.4 里还不是这样
# （`torch._dynamo.config.inline_inbuilt_nn_modules` 在 2.5 才默认打开，较新的版本里它已废弃、总是打开）：
# LeNet 的每一层都是 `torch.nn` 自带的层，图中各是一个 `call_module` 节点（`self.L__self___conv1(l_x_)` 这样的一行），
# 参数留在层里，`x` 是唯一的输入。
# 下面打印的是这台机器上的 PyTorch 给出的图：

# %%
from dlbook.models import LeNet

net = LeNet()
_ = torch.compile(net, backend=show_graph)(torch.randn(2, 1, 28, 28))

# %% [markdown]
# ## AOTAutograd：前向图和反向图
#
# 训练时还需要反向传播。AOTAutograd 在编译时（ahead of time）就用自动微分把反向计算也追踪成一张图，
# 并把运算分解成更底层的 ATen 运算（`aten.mm`、`aten.relu` ……）。然后它把联合图切成两半：
# 前向图除了输出，还返回反向要用的中间结果（“保存的张量”）；反向图以这些张量和输出的梯度为输入。
# 内置的 `aot_autograd` 帮我们搭好这一步，我们只提供处理前向图和反向图的函数。

# %%
from functorch.compile import make_boxed_func
from torch._dynamo.backends.common import aot_autograd


def printer(title: str):
    def compile_graph(gm: fx.GraphModule, example_inputs):
        print(f"--- {title}")
        print(gm.code.strip())
        # AOTAutograd 约定的调用方式：参数装在一个列表里
        return make_boxed_func(gm.forward)

    return compile_graph


show_aot = aot_autograd(
    fw_compiler=printer("前向图"), bw_compiler=printer("反向图")
)
loss = torch.compile(mlp_step, backend=show_aot)(x, w1, w2)
loss.backward()  # 反向图在第一次反向传播时编译
print("w1 的梯度形状：", tuple(w1.grad.shape))

# %% [markdown]
# 读一读这两张图：前向图返回的不只是损失，还有 `relu` 的输出等中间结果；
# 反向图里的 `threshold_backward` 是 ReLU 的导数，`mm` 和转置实现了矩阵乘法的链式法则。
# Inductor 拿到的就是这样两张 ATen 级的图：它在每张图内部做融合，再为每个融合后的部分生成 C++ 或 Triton 代码。
#
# ## 内置后端：一站一站地排查
#
# `torch._dynamo.list_backends()` 列出可以直接用名字指定的后端（默认不列出调试用的）。
# 编译后的模型结果不对或者报错时，依次试三个后端就能定位是哪一站出的问题：
#
# - `"eager"`：只用 Dynamo 捕获图，然后原样执行——查 Dynamo 的问题；
# - `"aot_eager"`：再加上 AOTAutograd，图仍原样执行——查 AOTAutograd 的问题；
# - `"inductor"`（默认）：完整流水线——只有它出错，就是 Inductor 的问题。

# %%
print("可用的后端：", torch._dynamo.list_backends())
everything = torch._dynamo.list_backends(exclude_tags=())
debug_backends = [b for b in everything if b in ("eager", "aot_eager")]
print(f"连同调试、测试用的一共 {len(everything)} 个，其中包括：",
      debug_backends)

model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))
reference = model(x)
for backend in ("eager", "aot_eager"):
    out = torch.compile(model, backend=backend)(x)
    diff = (out - reference).abs().max().item()
    print(f"backend={backend!r:12} 与即时执行的最大差：{diff:.1e}")
