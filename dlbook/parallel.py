"""数据并行：把一个小批量分给几份模型副本，各算各的梯度，求和（all-reduce）之后每份副本做同一次更新。

本模块有两半。前一半在一个进程里从零写出数据并行的每一步，只适合教学和小模型：

- :func:`split_batch` 把小批量沿第 0 维切成几份；
- :func:`replicate` 把模型复制到几个设备上；
- :func:`ring_all_reduce` 模拟 NCCL、Gloo 常用的环形 all-reduce：``k`` 个节点排成一圈，
  先“归约-散发”再“全收集”，每个节点只和邻居通信，各发送 ``2(k-1)/k`` 份数据（:func:`ring_traffic`）；
- :func:`data_parallel_grads` 用前三者算出一步的梯度，写回每份副本的 ``.grad``。

后一半用 PyTorch 自己的 ``torch.distributed`` 与 ``DistributedDataParallel``（DDP）：
:func:`ddp_gradients`、:func:`distributed_all_reduce` 和 :func:`all_reduce_seconds` 与 ``torchrun`` 类似，启动几个
Python 进程（``python -m dlbook.parallel``），用 Gloo 后端在本机的 CPU 上通信。
多块 GPU 上的做法相同，只是后端换成 ``"nccl"``、每个进程用自己的 ``cuda:<rank>``；
本模块只实现、也只测试了 CPU 上的 Gloo。

>>> X, y = torch.arange(10.0).reshape(5, 2), torch.arange(5)
>>> [len(ys) for _, ys in split_batch(X, y, 2)]
[3, 2]
>>> [t.tolist() for t in ring_all_reduce([torch.ones(3), 2 * torch.ones(3)])]
[[3.0, 3.0, 3.0], [3.0, 3.0, 3.0]]
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "all_reduce_seconds",
    "data_parallel_grads",
    "ddp_gradients",
    "distributed_all_reduce",
    "replicate",
    "ring_all_reduce",
    "ring_traffic",
    "split_batch",
]

LossFn = Callable[[Tensor, Tensor], Tensor]


# ---------------------------------------------------------------------------
# 从零实现（一个进程）
# ---------------------------------------------------------------------------


def split_batch(X: Tensor, y: Tensor, parts: int) -> list[tuple[Tensor, Tensor]]:
    """把 ``(X, y)`` 沿第 0 维切成 ``parts`` 份；除不尽时前几份各多一个样本（``torch.tensor_split`` 的规则）。"""
    if parts < 1:
        raise ValueError(f"parts 至少为 1，而不是 {parts}")
    if len(X) != len(y):
        raise ValueError(f"X 有 {len(X)} 个样本，y 却有 {len(y)} 个")
    if len(X) < parts:
        raise ValueError(f"{len(X)} 个样本分不成 {parts} 份：每份至少要有一个样本")
    return list(zip(torch.tensor_split(X, parts), torch.tensor_split(y, parts)))


def replicate(model: nn.Module, devices: Sequence[torch.device | str]) -> list[nn.Module]:
    """在每个设备上放一份 ``model`` 的深拷贝：参数、缓冲区都相同，但彼此独立。"""
    if not devices:
        raise ValueError("devices 不能为空")
    return [copy.deepcopy(model).to(device) for device in devices]


def ring_traffic(numel: int, nodes: int) -> float:
    """环形 all-reduce 里每个节点发送的元素个数：``2(k-1)/k · numel``。

    节点越多，这个数越接近 ``2 · numel``，而不是随节点数增长：环形算法因此适合很多块 GPU。

    >>> ring_traffic(1000, 2), ring_traffic(1000, 8)
    (1000.0, 1750.0)
    """
    if nodes < 1:
        raise ValueError(f"nodes 至少为 1，而不是 {nodes}")
    return 2 * (nodes - 1) / nodes * numel


def ring_all_reduce(tensors: Sequence[Tensor], *, sent: list[int] | None = None) -> list[Tensor]:
    """环形 all-reduce 的模拟：``tensors[i]`` 是第 ``i`` 个节点上的张量，返回每个节点最后得到的总和。

    每个张量展平后切成 ``k`` 块。第一阶段（归约-散发）走 ``k-1`` 轮：每一轮，节点 ``i`` 把第
    ``(i - r) mod k`` 块的部分和发给下一个节点 ``i+1``，对方把它加到自己的那一块上；
    ``k-1`` 轮之后，节点 ``i`` 手里的第 ``(i+1) mod k`` 块已经是全部 ``k`` 份之和。
    第二阶段（全收集）再走 ``k-1`` 轮，把这些完整的块沿环传一圈，覆盖各节点上的旧值。
    同一轮里所有节点同时收发，所以发出的是这一轮开始时的值。

    传入列表 ``sent`` 时，在里面记下每个节点发送的元素个数（用来与 :func:`ring_traffic` 对照）。
    输入张量不变；每个结果都在它所在节点的设备上。
    """
    k = len(tensors)
    if k == 0:
        raise ValueError("tensors 不能为空")
    shape = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != shape:
            raise ValueError(f"第 {i} 个张量的形状是 {tuple(t.shape)}，与第 0 个的 {tuple(shape)} 不同")
    chunks = [list(torch.tensor_split(t.detach().flatten().clone(), k)) for t in tensors]
    counts = [0] * k
    for r in range(k - 1):  # 归约-散发
        payloads = [(i, (i - r) % k, chunks[i][(i - r) % k].clone()) for i in range(k)]
        for i, c, data in payloads:
            dst = (i + 1) % k
            chunks[dst][c] += data.to(chunks[dst][c].device)
            counts[i] += data.numel()
    for r in range(k - 1):  # 全收集
        payloads = [(i, (i + 1 - r) % k, chunks[i][(i + 1 - r) % k].clone()) for i in range(k)]
        for i, c, data in payloads:
            dst = (i + 1) % k
            chunks[dst][c] = data.to(chunks[dst][c].device)
            counts[i] += data.numel()
    if sent is not None:
        sent[:] = counts
    return [torch.cat(parts).reshape(shape) for parts in chunks]


def data_parallel_grads(
    replicas: Sequence[nn.Module], X: Tensor, y: Tensor, loss_fn: LossFn
) -> float:
    """数据并行的一步（不含更新）：第 ``i`` 份副本算第 ``i`` 份数据的梯度，环形 all-reduce 求和后写回每份副本。

    ``loss_fn`` 要对一份数据取平均（如 ``nn.CrossEntropyLoss()``）。每份的损失先乘上
    “这份的样本数 / 总样本数”，于是各份梯度之和正好是整个小批量上平均损失的梯度，份大小不等时也成立
    （DDP 直接对各进程的梯度取平均，只在每份一样大时与整批相同）。返回整个小批量上的平均损失。
    之后每份副本用同样的梯度做同样的更新，参数就一直相同。
    """
    if not replicas:
        raise ValueError("replicas 不能为空")
    total, loss_sum = len(X), 0.0
    for replica, (Xs, ys) in zip(replicas, split_batch(X, y, len(replicas))):
        device = next(replica.parameters()).device
        replica.zero_grad(set_to_none=True)
        loss = loss_fn(replica(Xs.to(device)), ys.to(device)) * (len(Xs) / total)
        loss.backward()
        loss_sum += loss.item()
    params = [list(r.parameters()) for r in replicas]
    for j in range(len(params[0])):
        if all(p[j].grad is None for p in params):
            continue  # 没有参与前向的参数：与单个模型一样保持 None，优化器就跳过它
        grads = [
            p[j].grad if p[j].grad is not None else torch.zeros_like(p[j]) for p in params
        ]
        for p, g in zip(params, ring_all_reduce(grads)):
            p[j].grad = g
    return loss_sum


# ---------------------------------------------------------------------------
# torch.distributed：几个进程，Gloo 后端
# ---------------------------------------------------------------------------


def _check_picklable_elsewhere(obj: object, what: str) -> None:
    module = type(obj).__module__
    if module == "__main__" or module.startswith("__main__."):
        raise ValueError(
            f"{what} 的类 {type(obj).__name__} 定义在 __main__ 里，别的进程导入不到它："
            "请把它放进一个可以导入的模块（例如 dlbook.models），或用 nn.Sequential 搭"
        )


def _launch(job: dict[str, Any], world_size: int, *, timeout: float) -> list[dict[str, Any]]:
    """启动 ``world_size`` 个进程执行 ``job``（与 torchrun 类似，每个进程一份），返回每个进程写下的结果（按进程号排列）。

    进程号和进程数由命令行参数传给每个进程，进程之间通过临时目录里的一个文件（``file://``）约定怎样连接；
    torchrun 则用环境变量（``RANK``、``WORLD_SIZE``、``MASTER_ADDR``……），还能在进程失败时重启它们。"""
    if world_size < 1:
        raise ValueError(f"world_size 至少为 1，而不是 {world_size}")
    with tempfile.TemporaryDirectory(prefix="dlbook-ddp-") as tmp:
        workdir = Path(tmp)
        torch.save(job, workdir / "job.pt")
        env = _worker_env(job["threads"])
        logs = [open(workdir / f"log-{rank}.txt", "wb") for rank in range(world_size)]  # noqa: SIM115
        procs: list[subprocess.Popen] = []
        try:
            for rank, log in enumerate(logs):
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "dlbook.parallel", str(workdir), str(rank), str(world_size)],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=env,
                    )
                )
            failed = _wait_all(
                procs,
                deadline=time.monotonic() + timeout,
                logs=[workdir / f"log-{rank}.txt" for rank in range(world_size)],
            )
        finally:
            _kill_all(procs)  # 出错、超时或启动到一半出错时，还在运行的进程都要结束
            for log in logs:
                log.close()
        if failed == "timeout":
            raise TimeoutError(
                f"{world_size} 个进程 {timeout:g} 秒内没有做完（可能有进程卡在通信里），已全部结束"
            )
        if failed is not None:
            code = procs[failed].returncode
            output = (workdir / f"log-{failed}.txt").read_text(encoding="utf-8", errors="replace")
            tail = "\n".join(output.strip().splitlines()[-15:])
            raise RuntimeError(f"第 {failed} 号进程以退出码 {code} 结束：\n{tail}")
        return [
            torch.load(workdir / f"result-{rank}.pt", weights_only=True)
            for rank in range(world_size)
        ]


def _worker_env(threads: int) -> dict[str, str]:
    """子进程的环境变量：每个进程 ``threads`` 个线程；``PYTHONPATH`` 最前面是本进程导入的 dlbook 所在的目录，
    子进程就导入同一份 dlbook（即使它没有安装、只是从当前目录导入的）。"""
    package_root = str(Path(__file__).resolve().parents[1])
    paths = [package_root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": os.pathsep.join(paths)}


def _kill_all(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()


def _wait_all(
    procs: list[subprocess.Popen], *, deadline: float, logs: Sequence[Path] = ()
) -> int | str | None:
    """等到所有进程正常结束（返回 ``None``）、有一个出错（返回最先出错的那个的进程号）或超时（返回 ``"timeout"``）。
    后两种情况下其余进程还在运行（它们会一直等出错的那个通信），由调用者结束它们。"""
    while True:
        codes = [p.poll() for p in procs]
        bad = [rank for rank, code in enumerate(codes) if code not in (None, 0)]
        if len(bad) > 1:
            # 同一次查看时已有几个出错：别的进程常常只是因为对方断开才出错，报最早出错的那个。
            # 出错的进程写完回溯就退出：日志最后写入的先后就是出错的先后
            bad.sort(key=lambda rank: logs[rank].stat().st_mtime_ns if logs else rank)
        if bad:
            return bad[0]
        if all(code == 0 for code in codes):
            return None
        if time.monotonic() > deadline:
            return "timeout"
        time.sleep(0.02)


def ddp_gradients(
    model: nn.Module,
    X: Tensor,
    y: Tensor,
    loss_fn: nn.Module,
    *,
    world_size: int = 2,
    threads: int = 1,
    timeout: float = 300.0,
) -> dict[str, Tensor]:
    """用 ``DistributedDataParallel`` 在 ``world_size`` 个 CPU 进程里算一步梯度，返回 ``{参数名: 梯度}``。

    第 ``r`` 个进程拿到第 ``r`` 份数据（:func:`split_batch`），做前向和反向；
    DDP 在反向传播期间把梯度分桶：放进桶时先除以 ``world_size``，再对整个桶做求和的 all-reduce
    （除法在拷进桶时顺便做，省一遍扫描），于是每个进程得到同一份平均梯度；这里核对各进程的梯度逐位相同
    （不同就 ``RuntimeError``），返回第 0 号进程的那份。
    为了与整批的梯度相同，样本数必须能被 ``world_size`` 整除。
    ``model`` 和 ``loss_fn`` 要能被别的进程导入（不能是定义在 ``__main__`` 里的类）。
    """
    if world_size < 1:
        raise ValueError(f"world_size 至少为 1，而不是 {world_size}")
    if len(X) % world_size:
        raise ValueError(
            f"{len(X)} 个样本不能平均分给 {world_size} 个进程：DDP 对各进程的梯度取平均，份大小不等时"
            "结果与整批的梯度不同"
        )
    _check_picklable_elsewhere(model, "model")
    _check_picklable_elsewhere(loss_fn, "loss_fn")
    job = {"task": "grads", "model": copy.deepcopy(model).cpu(), "loss_fn": loss_fn, "X": X.cpu(), "y": y.cpu(),
           "threads": threads}
    results = _launch(job, world_size, timeout=timeout)
    _check_same_on_every_rank(results)
    return results[0]


def _check_same_on_every_rank(results: Sequence[dict[str, Tensor]]) -> None:
    """DDP 的承诺：all-reduce 之后每个进程的梯度逐位相同（于是各进程的参数也一直相同）。不相同就报错，说出第一处。"""
    first = results[0]
    for rank, other in enumerate(results[1:], start=1):
        if other.keys() != first.keys():
            raise RuntimeError(
                f"第 {rank} 号进程有梯度的参数与第 0 号不同：{sorted(other.keys() ^ first.keys())}"
            )
        for name, grad in first.items():
            if not torch.equal(other[name], grad):
                gap = (other[name] - grad).abs().max().item()
                raise RuntimeError(f"第 {rank} 号进程的 {name} 梯度与第 0 号不同（最多差 {gap:.1e}）")


def distributed_all_reduce(tensors: Sequence[Tensor], *, timeout: float = 300.0) -> list[Tensor]:
    """真的 all-reduce：启动 ``len(tensors)`` 个进程，第 ``i`` 个拿 ``tensors[i]``，
    用 ``torch.distributed.all_reduce``（Gloo）求和，返回每个进程得到的结果。
    它是 :func:`ring_all_reduce` 要模拟的那个函数，测试用它来对照。"""
    if not tensors:
        raise ValueError("tensors 不能为空")
    job = {"task": "sum", "tensors": [t.detach().cpu() for t in tensors], "threads": 1}
    return [r["sum"] for r in _launch(job, len(tensors), timeout=timeout)]


def all_reduce_seconds(
    numels: Sequence[int],
    *,
    world_size: int = 2,
    repeats: int = 5,
    threads: int = 1,
    timeout: float = 300.0,
) -> dict[int, float]:
    """用 Gloo 在 ``world_size`` 个进程之间对 ``numel`` 个 float32 做 all-reduce，每种大小一次要几秒。

    每种大小先预热几次，然后计时 ``repeats`` 次，返回最快的一次：几个进程挤在几个核心上时，
    操作系统的调度会让个别几次慢上好几倍。每次都从所有进程一起通过一道栅栏（barrier）开始，由 0 号进程计时。"""
    if repeats < 1:
        raise ValueError(f"repeats 至少为 1，而不是 {repeats}")
    if any(n < 1 for n in numels):
        raise ValueError(f"张量的元素个数至少为 1：{list(numels)}")
    job = {"task": "all_reduce", "numels": list(numels), "repeats": repeats, "threads": threads}
    result = _launch(job, world_size, timeout=timeout)[0]
    return {int(n): float(s) for n, s in zip(result["numels"].tolist(), result["seconds"].tolist())}


def _worker(workdir: Path, rank: int, world_size: int) -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    job = torch.load(workdir / "job.pt", weights_only=False)  # 自己刚写下的文件，里面有模型对象
    torch.set_num_threads(job["threads"])
    dist.init_process_group(
        "gloo", init_method=(workdir / "store").as_uri(), rank=rank, world_size=world_size
    )
    try:
        if job["task"] == "grads":
            ddp = DistributedDataParallel(job["model"])
            Xs, ys = split_batch(job["X"], job["y"], world_size)[rank]
            job["loss_fn"](ddp(Xs), ys).backward()
            result: dict[str, Any] = {
                name: p.grad.clone()
                for name, p in ddp.module.named_parameters()
                if p.grad is not None
            }
        elif job["task"] == "sum":
            t = job["tensors"][rank].clone()
            dist.all_reduce(t)
            result = {"sum": t}
        else:
            seconds = []
            for n in job["numels"]:
                t = torch.ones(n)
                for _ in range(3):
                    dist.all_reduce(t)  # 预热：第一次通信要建连接、分配缓冲区
                best = float("inf")
                for _ in range(job["repeats"]):
                    dist.barrier()  # 大家一起出发：量的是一次 all-reduce，不含等别的进程赶上来
                    start = time.perf_counter()
                    dist.all_reduce(t)
                    best = min(best, time.perf_counter() - start)
                seconds.append(best)
            result = {"numels": torch.tensor(job["numels"]), "seconds": torch.tensor(seconds)}
        torch.save(result, workdir / f"result-{rank}.pt")
        dist.barrier()
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    _worker(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
    # 结果已经写进文件，进程组也已销毁：跳过解释器的收尾，直接退出。Gloo 的 C++ 线程偶尔在收尾时
    # 才被销毁，此时若还没有 join，进程就以 SIGABRT 结束（"terminate called without an active
    # exception"）：忙碌的两核机器上 130 次里有 4 次，而这时该做的事都已做完。
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
