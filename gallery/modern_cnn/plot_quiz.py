"""
用代码核对五道习题
==================

五道关于批量归一化、ResNet 和 DenseNet 的选择题，答案不靠背：每道题都用几行代码把答案数出来或算出来，
并用 `assert` 核对。所有计算都很小，在 CPU 上一眨眼就完成。
"""

# %%
import torch
from torch import nn

import dlbook
from dlbook.batchnorm import BatchNorm
from dlbook.counting import count_flops, num_params
from dlbook.models import DenseBlock, ResNet
from dlbook.models.densenet import transition_block

dlbook.seed_everything(0)

# %% [markdown]
# ## 第 1 题：`nn.BatchNorm2d(6)` 是什么意思
#
# 它是给**卷积层**输出用的批量归一化（输入是四维的 $(N, C, H, W)$），6 是**通道数**，不是批量大小。
# 每个通道有自己的 $\gamma$ 和 $\beta$，所以有 6 + 6 = 12 个可学习的参数；另有 6 个滑动均值、6 个滑动方差
# 和 1 个计数器，它们是缓冲区（buffer），不参与梯度下降。逐项数一数 `state_dict`：

# %%
bn = nn.BatchNorm2d(6)
param_names = {name for name, _ in bn.named_parameters()}
for name, tensor in bn.state_dict().items():
    kind = "参数" if name in param_names else "缓冲区"
    print(f"{name:<20} 形状 {tuple(tensor.shape)!s:<5} {kind}")

n_params = sum(p.numel() for p in bn.parameters())
n_stats = bn.running_mean.numel() + bn.running_var.numel()
print("可学习的参数：", n_params, " 滑动统计量：", n_stats)
assert n_params == 6 + 6 and n_stats == 6 + 6
# 从零实现的层同名同数
assert sorted(bn.state_dict()) == sorted(BatchNorm(6, num_dims=4).state_dict())

# %% [markdown]
# 它接在输出 6 个通道的卷积层后面；输入的通道数不是 6 就会报错，与批量大小无关：

# %%
conv = nn.Conv2d(1, 6, kernel_size=5)
print("批量 2：", tuple(bn(conv(torch.rand(2, 1, 28, 28))).shape))
print("批量 7：", tuple(bn(conv(torch.rand(7, 1, 28, 28))).shape))
try:
    bn(torch.rand(2, 5, 24, 24))
except RuntimeError as err:
    print("5 个通道的输入：RuntimeError：", str(err).splitlines()[0])

# %% [markdown]
# ## 第 2 题：拉伸参数 $\gamma$ 和偏移参数 $\beta$ 是超参数吗
#
# 不是。它们在 `parameters()` 里，反向传播给它们算梯度，优化器每一步都更新它们，和卷积核一模一样。
# 批量归一化真正的超参数是事先定好、训练中不变的 `momentum` 和 `eps`，它们连 `state_dict` 都不进。

# %%
bn = nn.BatchNorm2d(6)
optimizer = torch.optim.SGD(bn.parameters(), lr=0.1)
before = bn.weight.detach().clone(), bn.bias.detach().clone()
x = torch.randn(8, 6, 5, 5)
loss = (bn(x) * torch.randn(8, 6, 5, 5)).sum()  # 随便一个依赖输出的损失
loss.backward()
optimizer.step()
gamma_changed = not torch.equal(bn.weight, before[0])
beta_changed = not torch.equal(bn.bias, before[1])
print("gamma 有梯度：", bn.weight.grad is not None,
      " 一步之后变了：", gamma_changed)
print("beta  有梯度：", bn.bias.grad is not None,
      " 一步之后变了：", beta_changed)
print("momentum =", bn.momentum, " eps =", bn.eps,
      " 在 state_dict 里？", "momentum" in bn.state_dict())
assert gamma_changed and beta_changed

# %% [markdown]
# 为什么要学它们？标准化把每个通道都压成均值 0、方差 1，而这未必是下一层最需要的。有了 $\gamma$、$\beta$，
# 网络可以把分布挪到任何位置；取 $\gamma = \sqrt{\sigma^2 + \epsilon}$、$\beta = \mu$ 时，
# 批量归一化甚至被完全撤销，变成恒等映射。下面在评估模式下验证这一点（用的是滑动统计量 $\mu$、$\sigma^2$）：

# %%
bn = nn.BatchNorm2d(6).eval()
with torch.no_grad():
    bn.running_mean.uniform_(-3, 3)
    bn.running_var.uniform_(0.5, 4)
    bn.weight.copy_(torch.sqrt(bn.running_var + bn.eps))
    bn.bias.copy_(bn.running_mean)
    x = torch.randn(2, 6, 4, 4)
    print("输出等于输入：", torch.allclose(bn(x), x, atol=1e-5))
    assert torch.allclose(bn(x), x, atol=1e-5)

# %% [markdown]
# ## 第 3 题：能不能靠不断加深网络来提高准确率
#
# 不能。普通网络会遇到**退化**：更深的网络连训练误差都更高（见 ResNet 一节里论文的数字）。
# 残差网络缓解了这个问题，原因之一是：在一个残差网络里多加一个残差块，只要把块里最后一个批量归一化的
# $\gamma$、$\beta$ 置零，新网络就与原来的网络**完全相同**，所以加深至少不会让网络能表示的函数变少。
# 下面把 ResNet-18 的权重搬进第一阶段多一个块的网络，核对两者的输出：

# %%
shallow = ResNet(layers=(2, 2, 2, 2)).eval()
deep = ResNet(layers=(3, 2, 2, 2)).eval()
missing, unexpected = deep.load_state_dict(shallow.state_dict(), strict=False)
print("ResNet-18 的权重里缺少的键：", len(missing), "个，都属于",
      sorted({k.rsplit(".", 2)[0] for k in missing}))
with torch.no_grad():
    nn.init.zeros_(deep.layer1[2].bn2.weight)
    nn.init.zeros_(deep.layer1[2].bn2.bias)
    x = torch.rand(2, 1, 32, 32)
    same = torch.allclose(deep(x), shallow(x), atol=1e-5)
print("深网络的输出与 ResNet-18 相同：", same)
assert same and not unexpected

# %% [markdown]
# 但“不会变差”不等于“越深越好”：ResNet 的论文在 CIFAR-10 上训练了 1202 层的网络，
# 测试误差反而比 110 层的高，作者认为是过拟合。深度只是一个超参数，要与数据量、训练方法一起权衡。
#
# ## 第 4 题：过渡层里 $1\times 1$ 卷积的作用
#
# **减小通道数**。稠密块让通道越来越多（例如 DenseNet 的第一个稠密块输出 192 个通道），
# 过渡层里的 $1\times 1$ 卷积把它减半，平均汇聚再把高和宽减半。$1\times 1$ 卷积不看邻域，
# 参数只有 $192\times 96$ 个，是同样改变通道数的 $3\times 3$ 卷积的九分之一：

# %%
transition = transition_block(192, 96)
x = torch.rand(1, 192, 24, 24)
print("过渡层：", tuple(x.shape), "→", tuple(transition(x).shape))
conv1x1 = transition[2]
conv3x3 = nn.Conv2d(192, 96, kernel_size=3, padding=1, bias=False)
for name, conv in [("1×1", conv1x1), ("3×3", conv3x3)]:
    params, flops = num_params(conv), count_flops(conv, x)
    print(f"{name} 卷积：参数 {params:,}，FLOPs {flops:,}")
assert num_params(conv1x1) == 192 * 96
assert transition(x).shape == (1, 96, 12, 12)

# %% [markdown]
# ## 第 5 题：稠密块的输出通道数
#
# 稠密块由 3 个输出通道数为 8 的卷积层组成，输入有 3 个通道。每层把自己的 8 个通道连结到前面的结果上，
# 三层的输入依次是 3、11、19 个通道，块的输出是 $3 + 3\times 8 = 27$ 个通道。让一个张量真的走一遍：

# %%
block = DenseBlock(3, 3, 8)
print("各层看到的通道数：", [layer[0].num_features for layer in block.layers])
out = block(torch.rand(2, 3, 16, 16))
print("输出形状：", tuple(out.shape))
assert out.shape[1] == 3 + 3 * 8 == 27
