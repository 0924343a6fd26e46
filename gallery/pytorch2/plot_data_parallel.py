"""
多块 GPU：数据并行
==================

一块 GPU 不够快时，最常用的办法是**数据并行**：每块 GPU 上放一份完整的模型，把一个小批量切成几份，
每块 GPU 算自己那一份的梯度，再把各份梯度加起来（all-reduce），每块 GPU 用同一个梯度做同一次更新。
这个示例先在一个进程里从零写出这几步，验证它与整批训练算出的梯度相同；再用 PyTorch 的
`DistributedDataParallel`（DDP）在几个真的进程之间做同样的事，并量一量通信要花多久。
构建本站的机器不一定有几块 GPU，所以“几个设备”在这里是同一块 CPU 上的几份副本、几个进程；
代码换到多块 GPU 上只改设备和通信后端。
"""

# %%
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter
import torch
from torch import nn

import dlbook
from dlbook.bench import environment, time_interleaved
from dlbook.counting import num_params
from dlbook.data import fashion_mnist_tensors
from dlbook.models import LeNet, ResNet
from dlbook.parallel import (
    all_reduce_seconds,
    data_parallel_grads,
    ddp_gradients,
    replicate,
    ring_all_reduce,
    ring_traffic,
    split_batch,
)
from dlbook.plot import show
from dlbook.text import pad

dlbook.seed_everything(0)
print(environment("cpu"))
print("本机的 GPU 数量：", torch.cuda.device_count())

# %% [markdown]
# ## 数据并行与模型并行
#
# 把一次训练分给 $k$ 块 GPU，有两种基本的切法：
#
# - **模型并行**：把模型切开，每块 GPU 只放一部分。模型大到一块 GPU 放不下时只能这样做。
#   按层切开时，前一块 GPU 算完，后一块才能开始，要靠流水线等技巧才能让大家同时忙起来；
#   把一层的权重切开时，大家同时算，但每一层都要通信。
# - **数据并行**：每块 GPU 放一份完整的模型，各算小批量的一部分。只要模型放得下，它最简单，也最常用。
#
# 数据并行一步训练分四步：(1) 把小批量切成 $k$ 份，各送一块 GPU；(2) 每块 GPU 各自做前向和反向，
# 得到自己那份数据的梯度；(3) 把 $k$ 份梯度加起来，让每块 GPU 都拿到总和（这一步叫 **all-reduce**）；
# (4) 每块 GPU 用同一个梯度做同一次更新。因为起点相同、更新相同，各份模型的参数始终一样。
#
# 第一步用 `dlbook.parallel.split_batch`。除不尽时，前几份各多一个样本：

# %%
X, y = fashion_mnist_tensors("train", subset=256)
for parts in (2, 3):
    sizes = [len(ys) for _, ys in split_batch(X[:10], y[:10], parts)]
    print(f"10 个样本切成 {parts} 份：{sizes}")

# %% [markdown]
# ## 从零写一步数据并行
#
# 设整个小批量有 $n$ 个样本，第 $i$ 份有 $n_i$ 个，损失是样本损失的平均 $L = \frac{1}{n}\sum_j \ell_j$。
# 把它按份拆开：
#
# $$
# L = \sum_{i=1}^{k} \frac{n_i}{n} L_i, \qquad
# \nabla L = \sum_{i=1}^{k} \frac{n_i}{n} \nabla L_i ,
# $$
#
# 其中 $L_i$ 是第 $i$ 份上的平均损失。所以每份副本把自己的损失乘上 $n_i / n$ 再求梯度，
# 各份梯度**相加**就是整批的梯度。`data_parallel_grads` 就这样做：4 份副本各算一份，
# 用下一节的环形 all-reduce 求和，再写回每份副本的 `.grad`。与一个模型直接在整批上求出的梯度比一比：

# %%
loss_fn = nn.CrossEntropyLoss()
model = LeNet()
# 有 4 块 GPU 时，设备写成 ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]
replicas = replicate(model, ["cpu"] * 4)

loss_fn(model(X), y).backward()
loss = data_parallel_grads(replicas, X, y, loss_fn)


def max_grad_gap(a: nn.Module, b: nn.Module) -> float:
    pairs = zip(a.parameters(), b.parameters())
    return max((p.grad - q.grad).abs().max().item() for p, q in pairs)


def max_param_gap(a: nn.Module, b: nn.Module) -> float:
    pairs = zip(a.parameters(), b.parameters())
    return max((p - q).abs().max().item() for p, q in pairs)


print(f"4 份副本算出的整批平均损失：{loss:.6f}")
print(f"整批直接算：              {loss_fn(model(X), y).item():.6f}")
for i, replica in enumerate(replicas):
    gap = max_grad_gap(model, replica)
    print(f"副本 {i} 的梯度与整批梯度最多差 {gap:.1e}")
largest = max(p.grad.abs().max().item() for p in model.parameters())
print(f"（梯度里最大的一个分量是 {largest:.1e}）")

# %% [markdown]
# 差别比梯度本身小好几个数量级，是 float32 的舍入误差：加法的顺序变了，结果的最后几位就会变。
# 数学上，两种算法得到的是同一个梯度。
#
# 接下来每份副本用各自的优化器更新。再训练几步，看看 4 份副本是否始终一样，又是否与单个模型的整批训练一样：

# %%
def sgd(net: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)


optimizers = [sgd(r) for r in replicas]
single_optimizer = sgd(model)
batches = dlbook.pick(quick=5, full=20)
for step in range(batches):
    Xb, yb = fashion_mnist_tensors("train", subset=128, seed=step + 1)
    data_parallel_grads(replicas, Xb, yb, loss_fn)
    for optimizer in optimizers:
        optimizer.step()
    single_optimizer.zero_grad()
    loss_fn(model(Xb), yb).backward()
    single_optimizer.step()

same = max(max_param_gap(replicas[0], r) for r in replicas[1:])
print(f"训练 {batches} 步之后：")
print(f"  4 份副本之间，参数最多差 {same:.1e}")
print(f"  副本与整批训练的模型，参数最多差 "
      f"{max_param_gap(replicas[0], model):.1e}")

# %% [markdown]
# 副本之间**逐位相同**（差为 0）：它们拿到的是同一份梯度，做的是同样的运算。
# 副本与整批训练的模型之间只差舍入误差，这点误差会随步数慢慢积累，但不会改变训练的走向。
#
# ## all-reduce：环形算法
#
# 第 (3) 步最朴素的做法是找一个“中心”：大家把梯度发给它，它加好再发回去。设梯度有 $N$ 个数，
# 中心要收 $(k-1)N$ 个、发 $(k-1)N$ 个，GPU 越多，它越忙，成了瓶颈。下面只比较发送的量（收的量与它相同）。
#
# NCCL 和 Gloo 常用的是**环形 all-reduce**：$k$ 个节点排成一圈，每个节点只和下一个节点通信。
# 每个节点把梯度切成 $k$ 块。先走 $k-1$ 轮“归约-散发”：每轮每个节点把一块的部分和传给下一个节点，
# 对方加到自己的那一块上；$k-1$ 轮之后，每个节点都有一块是全部 $k$ 份之和。再走 $k-1$ 轮“全收集”，
# 把这些完整的块沿环传一圈。每个节点一共发送 $2(k-1)/k \cdot N$ 个数：节点再多，也不到 $2N$。
# 代价是轮数 $2(k-1)$ 随节点数增长，每一轮都有固定的延迟；所以张量很小、GPU 很多时，
# NCCL 会改用树形等别的算法（它按张量大小和机器的拓扑自动选）。
#
# `ring_all_reduce` 模拟了这个过程，并记下每个节点发送了多少个数。与 `torch.stack(...).sum(0)` 对照，
# 再与公式对照：

# %%
grad_size = 1000
columns = [("节点数", 6), ("与直接求和之差", 14), ("每个节点发送", 12),
           ("公式", 8), ("中心节点发送", 12)]
print("  ".join(pad(name, width, align=">") for name, width in columns))
for k in (2, 4, 8):
    tensors = [torch.randn(grad_size) for _ in range(k)]
    sent: list[int] = []
    results = ring_all_reduce(tensors, sent=sent)
    exact = torch.stack(tensors).sum(0)
    gap = max((r - exact).abs().max().item() for r in results)
    print(f"{k:>6}  {gap:>14.1e}  {sum(sent) / k:>12.0f}  "
          f"{ring_traffic(grad_size, k):>8.0f}  {(k - 1) * grad_size:>12}")

# %% [markdown]
# 两个节点时两种做法一样（都是把 $N$ 个数发给对方）；节点多了，中心节点的发送量随节点数线性增长，
# 环形算法每个节点的发送量很快就平了：

# %%
ks = list(range(2, 17))
fig, ax = plt.subplots(figsize=(5.5, 3))
ax.plot(ks, [k - 1 for k in ks], "o-", label="中心节点发送")
ax.plot(ks, [ring_traffic(1, k) for k in ks], "s-", label="环形：每个节点发送")
ax.set_xlabel("节点（GPU）数 $k$")
ax.set_ylabel("通信量（梯度大小 $N$ 的倍数）")
ax.set_title("一次 all-reduce 里发送的数据量")
ax.legend()
show(fig)

# %% [markdown]
# ## 真的几个进程：DistributedDataParallel
#
# 实际训练时，每块 GPU 由一个进程驱动（`torchrun --nproc-per-node=4 train.py` 就启动 4 个），
# 进程之间通过 `torch.distributed` 通信。每个进程的代码几乎和单卡训练一样，只多了几件事：
#
# ```python
# dist.init_process_group("nccl")  # GPU 用 NCCL；CPU 用 "gloo"
# # 本机上的第几个进程，由 torchrun 设置
# local_rank = int(os.environ["LOCAL_RANK"])
# # 不设的话，NCCL 的集合通信可能都落到 cuda:0 上
# torch.cuda.set_device(local_rank)
# model = model.to(local_rank)
# model = DistributedDataParallel(model, device_ids=[local_rank])
# sampler = DistributedSampler(dataset)  # 每个进程读数据集的不同部分
# ```
#
# DDP 在反向传播的同时做 all-reduce：它按反向传播的顺序（大致从最后一层往前）把梯度分进桶里，
# 默认每个桶 25 MiB（`bucket_cap_mb`），一个桶里的梯度都算好了就立刻开始通信，
# 于是通信与前面几层的反向计算重叠进行（LeNet 的梯度一个桶就装下了，没有什么可重叠的）。
# 梯度拷进桶时顺便除以进程数（拷贝与除法合成一遍，省下一次对全部梯度的扫描；
# 用 float16 之类的低精度通信时，先除还让求和不易溢出），再对整个桶求和，
# 所以每个进程拿到的是**平均**梯度。各进程的份一样大时，这正是整批的梯度。
#
# `dlbook.parallel.ddp_gradients` 与 `torchrun` 类似，启动 2 个 Python 进程，用 Gloo 后端在 CPU 上通信，
# 每个进程用 DDP 算一份数据的梯度。它先核对两个进程拿到的梯度逐位相同（不同就报错），
# 再交回第 0 号进程的那份。与整批梯度比一比：

# %%
model = LeNet()
model.zero_grad()
loss_fn(model(X), y).backward()
ddp_grads = ddp_gradients(model, X, y, loss_fn, world_size=2)
gap = max(
    (ddp_grads[name] - p.grad).abs().max().item()
    for name, p in model.named_parameters()
)
print(f"DDP（2 个进程）拿到 {len(ddp_grads)} 个参数的梯度，"
      f"与整批梯度最多差 {gap:.1e}")

# %% [markdown]
# ## 批量归一化：每份副本只看见自己的数据
#
# 上面的等式有一个前提：每个样本的损失只取决于它自己。**批量归一化**打破了这个前提：
# 训练时它用当前小批量的均值和方差归一化，一个样本的输出取决于同一批里的其他样本。
# 数据并行时，每份副本只看见自己那一份，算出的统计量是“小批量的小批量”上的，梯度就与整批不同了。
# 把所有参数的梯度连成一个向量 $\mathbf{g}$，看 $\|\mathbf{g}_\text{并行} - \mathbf{g}_\text{整批}\| / \|\mathbf{g}_\text{整批}\|$：

# %%
def bn_net() -> nn.Module:
    return nn.Sequential(
        nn.Flatten(), nn.Linear(784, 64), nn.BatchNorm1d(64), nn.ReLU(),
        nn.Linear(64, 10),
    )


for k in (1, 2, 4, 8):
    net = bn_net()
    net.zero_grad()
    loss_fn(net(X), y).backward()
    copies = replicate(net, ["cpu"] * k)
    data_parallel_grads(copies, X, y, loss_fn)
    full = torch.cat([p.grad.flatten() for p in net.parameters()])
    split = torch.cat([p.grad.flatten() for p in copies[0].parameters()])
    rel = ((split - full).norm() / full.norm()).item()
    print(f"{k} 份（每份 {len(X) // k:>3} 个样本）："
          f"梯度与整批梯度的相对差 {rel:.1%}")

# %% [markdown]
# 只有 1 份时就是整批训练，差为 0；份越多、每份越小，差得越多。实践中这往往不算坏事：每块 GPU 上的
# 样本只要有几十个，统计量就够准，而且单卡训练时本来也就是这样的批量。只有每块 GPU 上的批量很小时（例如检测、分割
# 这样图像很大的任务），才需要把 BatchNorm 换成 `nn.SyncBatchNorm`：它在前向和反向时各做一次通信，
# 用所有进程的数据一起算统计量，代价是多了通信（`nn.SyncBatchNorm.convert_sync_batchnorm(model)` 一行就能换；
# 它只支持 GPU 等加速器上的张量，在这里的 CPU 进程里用不了）。
#
# 普通 BatchNorm 的运行统计量（`running_mean`、`running_var`）也是每个进程用自己那份数据各自更新的。
# DDP 默认在每次训练时的前向之前，把 0 号进程的缓冲区广播给其他进程，所以最后留下的是 0 号进程那份数据上估计的统计量；
# SyncBatchNorm 用全局的均值和方差更新它们，各进程本来就一致。本页从零写的 `data_parallel_grads` 只同步梯度、不同步缓冲区。
#
# ## 通信要多久
#
# 数据并行能不能提速，取决于计算和通信的比例。用 Gloo 在 2 个进程之间对不同大小的张量做 all-reduce，
# 每种大小取 20 次里最快的一次（两个进程挤在几个核心上时，操作系统的调度会让个别几次慢上好几倍）。除了用时，还按 NCCL 的约定换算成“总线带宽”：每个进程发送的字节数
# $2(k-1)/k \cdot 4N$ 除以用时，它与节点数无关，可以直接和链路的带宽比：

# %%
sizes = dlbook.pick(
    quick=[10**3, 10**4, 10**5, 10**6],
    full=[10**3, 10**4, 10**5, 10**6, 10**7, 3 * 10**7],
)
seconds = all_reduce_seconds(sizes, world_size=2, repeats=20)
columns = [("float32 个数", 12), ("大小", 10), ("用时", 9), ("总线带宽", 11)]
print("  ".join(pad(name, width, align=">") for name, width in columns))
for n, s in seconds.items():
    bus = ring_traffic(4 * n, 2) / s
    print(f"{n:>12,}  {4 * n / 1e6:>7.3f} MB  {s * 1e3:>6.2f} ms  "
          f"{bus / 1e9:>6.2f} GB/s")

fig, ax = plt.subplots(figsize=(5.5, 3))
ax.loglog([4 * n for n in seconds], [s * 1e3 for s in seconds.values()], "o-")
ax.set_xlabel("梯度大小（字节）")
ax.set_ylabel("一次 all-reduce 的用时（毫秒）")
# 纵轴只跨一两个数量级时，对数轴的刻度默认写成 6×10⁻¹ 这样；改成普通的小数，
# 次刻度只标首位是 2 和 5 的，免得挤在一起
ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
ax.yaxis.set_minor_formatter(
    FuncFormatter(lambda v, _: f"{v:g}" if f"{v:e}"[0] in "25" else "")
)
ax.set_title("Gloo，2 个进程，同一台机器")
show(fig)

# %% [markdown]
# 张量很小时，用时几乎不随大小变化：这是每次通信的固定开销（延迟）；张量大了，用时才与大小成正比，
# 斜率由带宽决定。这就是 DDP 把梯度分桶的原因：一个一个小张量地发，每次都要付固定开销；
# 一整个模型攒齐了再发，又没法与反向计算重叠。
#
# 有了这些数，就能估计一步训练里通信占多少。以 LeNet 为例，在这台机器上量一步训练（批量 256）的用时，
# 与它的梯度做一次 all-reduce 的用时相比；再看 ResNet-18：

# %%
lenet = LeNet()
optimizer = torch.optim.SGD(lenet.parameters(), lr=0.1)


def train_step() -> None:
    optimizer.zero_grad()
    loss_fn(lenet(X), y).backward()
    optimizer.step()


# 与 all-reduce 一样取几遍里最快的一遍
steps = dlbook.pick(quick=5, full=20)
step_s = time_interleaved({"step": train_step}, steps=steps, repeat=3)["step"]
comm_s = {}
for name, net in (("LeNet", lenet), ("ResNet-18", ResNet())):
    n = num_params(net)
    comm_s[name] = all_reduce_seconds([n], world_size=2, repeats=10)[n]
    print(f"{name}：{n:,} 个参数，梯度 {4 * n / 1e6:.1f} MB，"
          f"一次 all-reduce {comm_s[name] * 1e3:.1f} ms")
print(f"LeNet 在本机训练一步（批量 {len(X)}）：{step_s * 1e3:.1f} ms，"
      f"通信是它的 {comm_s['LeNet'] / step_s:.2%}")

# %% [markdown]
# 设一块 GPU 处理一个批量要 $t$ 秒，一次 all-reduce 要 $c$ 秒。$k$ 块 GPU、总批量不变时，一步约需
# $t/k + c$ 秒（重叠得好时接近 $\max(t/k, c)$）；每块 GPU 上的批量不变、总批量随 $k$ 增大时，
# 一步约需 $t + c$ 秒，但一步处理的样本多了 $k$ 倍。所以：
#
# - **算得越快，通信占的比例越大。** 通信量只取决于参数个数，而每一步的计算量还取决于批量和输入的大小。
#   上面 LeNet 的比例是在 CPU 上量的；换到 GPU 上，一步训练快得多，$c$ 却主要由链路决定，比例就会大得多。
#   参数多、每个参数参与的计算少的模型（例如全连接层很大的网络）最难从多卡里得到好处。
# - **链路决定了 $c$。** 同一台机器里 GPU 之间有 NVLink 时最快，走 PCIe 慢一些，跨机器走网络更慢；
#   所以分布式训练要尽量在机器内部通信、少在机器之间通信。上面量到的是同一台机器上两个 CPU 进程经本机回环网络的
#   通信，只用来看清“固定开销 + 与大小成正比”这个形状；具体数值与 GPU 之间的 NVLink、PCIe 无关，
#   GPU 上要在那台机器上用 NCCL 实测（例如 NVIDIA 的 nccl-tests）。
# - **加 GPU 时，通常保持每块 GPU 的批量不变、总批量随之增大**，否则每块 GPU 分到的样本太少，算不满。
#   总批量变大后，学习率也常常要随之增大（Goyal 等人 2017 年用 256 块 GPU 训练 ResNet-50 时，
#   学习率与总批量成正比，并在开头几轮逐渐升高学习率），但批量大到一定程度后，精度会开始下降。
