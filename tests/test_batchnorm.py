"""从零实现的批量归一化与 PyTorch 的 nn.BatchNorm1d / nn.BatchNorm2d 逐项对照。"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlbook.batchnorm import BatchNorm, batch_norm
from dlbook.models import LeNetBN

# (我们的层, PyTorch 的层, 输入形状)
CASES = [
    (2, nn.BatchNorm1d, (8, 5)),
    (4, nn.BatchNorm2d, (4, 3, 5, 6)),
]


def _pair(
    num_dims: int, torch_cls: type[nn.Module], num_features: int, **kwargs: float
) -> tuple[BatchNorm, nn.Module]:
    """一对参数相同的层：γ、β 取随机值（而不是 1 和 0），好让错误不被掩盖。"""
    ours = BatchNorm(num_features, num_dims, **kwargs).double()  # type: ignore[arg-type]
    theirs = torch_cls(num_features, **kwargs).double()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        ours.weight.copy_(torch.rand(num_features, generator=gen, dtype=torch.float64) + 0.5)
        ours.bias.copy_(torch.randn(num_features, generator=gen, dtype=torch.float64))
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def _batches(shape: tuple[int, ...], n: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    # 每批的均值、尺度不同，滑动平均才有东西可比
    return [3.0 * torch.randn(shape, generator=gen, dtype=torch.float64) + i for i in range(n)]


@pytest.mark.parametrize(("num_dims", "torch_cls", "shape"), CASES)
@pytest.mark.parametrize("momentum", [0.1, 0.3])
def test_matches_torch_train_then_eval(
    num_dims: int, torch_cls: type[nn.Module], shape: tuple[int, ...], momentum: float
) -> None:
    ours, theirs = _pair(num_dims, torch_cls, shape[1], momentum=momentum)
    for x in _batches(shape, 4):
        torch.testing.assert_close(ours(x), theirs(x))
        for key, value in theirs.state_dict().items():
            torch.testing.assert_close(ours.state_dict()[key], value, msg=key)
    assert int(ours.num_batches_tracked) == 4
    ours.eval()
    theirs.eval()
    x = _batches(shape, 5)[-1]
    torch.testing.assert_close(ours(x), theirs(x))
    assert int(ours.num_batches_tracked) == 4  # 预测不更新任何统计量


@pytest.mark.parametrize(("num_dims", "torch_cls", "shape"), CASES)
@pytest.mark.parametrize("training", [True, False])
def test_gradients_match_torch(
    num_dims: int, torch_cls: type[nn.Module], shape: tuple[int, ...], training: bool
) -> None:
    ours, theirs = _pair(num_dims, torch_cls, shape[1])
    for x in _batches(shape, 2):  # 先训练两步，让滑动平均离开初始值
        ours(x)
        theirs(x)
    ours.train(training)
    theirs.train(training)
    x = _batches(shape, 3)[-1]
    weight = torch.randn(shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    grads = []
    for layer in (ours, theirs):
        xi = x.clone().requires_grad_(True)
        (layer(xi) * weight).sum().backward()
        grads.append((xi.grad, layer.weight.grad, layer.bias.grad))
    for g_ours, g_theirs, what in zip(grads[0], grads[1], ("输入", "gamma", "beta")):
        torch.testing.assert_close(g_ours, g_theirs, msg=what)


@pytest.mark.parametrize(("num_dims", "torch_cls", "shape"), CASES)
def test_function_matches_functional(
    num_dims: int, torch_cls: type[nn.Module], shape: tuple[int, ...]
) -> None:
    c = shape[1]
    x = _batches(shape, 1)[0]
    gamma, beta = torch.rand(c, dtype=torch.float64), torch.randn(c, dtype=torch.float64)
    ours_stats = [torch.randn(c, dtype=torch.float64), torch.rand(c, dtype=torch.float64) + 1]
    their_stats = [t.clone() for t in ours_stats]
    for training in (True, False):
        out = batch_norm(x, gamma, beta, *ours_stats, training=training, momentum=0.2, eps=1e-3)
        expected = F.batch_norm(
            x, *their_stats, gamma, beta, training=training, momentum=0.2, eps=1e-3
        )
        torch.testing.assert_close(out, expected)
        torch.testing.assert_close(ours_stats, their_stats)


@pytest.mark.parametrize(("num_dims", "torch_cls", "shape"), CASES)
def test_defaults_are_pytorchs(num_dims: int, torch_cls: type[nn.Module], shape: tuple[int, ...]) -> None:
    # 方差很小的一列：eps 的默认值在这里起作用，默认值差一点就对不上
    x = _batches(shape, 1)[0] * 1e-3
    c = shape[1]
    out = batch_norm(x, torch.ones(c, dtype=torch.float64), torch.zeros(c, dtype=torch.float64),
                     torch.zeros(c, dtype=torch.float64), torch.ones(c, dtype=torch.float64), training=True)
    torch.testing.assert_close(out, F.batch_norm(x, None, None, training=True))
    ours, theirs = BatchNorm(c, num_dims), torch_cls(c)  # type: ignore[arg-type]
    assert (ours.num_features, ours.momentum, ours.eps) == (theirs.num_features, theirs.momentum, theirs.eps)
    assert repr(ours) == f"BatchNorm({c}, num_dims={num_dims}, momentum=0.1, eps=1e-05)"


def test_normalises_each_channel_over_batch_and_space() -> None:
    scale = torch.tensor([1.0, 5.0, 0.1], dtype=torch.float64).view(1, 3, 1, 1)
    shift = torch.tensor([0.0, -2.0, 7.0], dtype=torch.float64).view(1, 3, 1, 1)
    x = torch.randn(8, 3, 4, 4, dtype=torch.float64) * scale + shift
    out = BatchNorm(3, 4, eps=0.0).double()(x)  # γ = 1、β = 0：只剩标准化
    zeros, ones = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    torch.testing.assert_close(out.mean(dim=(0, 2, 3)), zeros)
    torch.testing.assert_close(out.var(dim=(0, 2, 3), correction=0), ones)


@pytest.mark.parametrize(("num_dims", "torch_cls", "shape"), CASES)
def test_state_dict_both_ways(
    num_dims: int, torch_cls: type[nn.Module], shape: tuple[int, ...]
) -> None:
    c = shape[1]
    # 我们的层训练几步 → 载入 PyTorch 的层
    ours, _ = _pair(num_dims, torch_cls, c)
    for x in _batches(shape, 3):
        ours(x)
    theirs = torch_cls(c).double()
    theirs.load_state_dict(ours.state_dict())  # strict：键名与形状都必须一致
    x = _batches(shape, 4)[-1]
    torch.testing.assert_close(theirs.eval()(x), ours.eval()(x))
    # 反过来：PyTorch 的层训练几步 → 载入我们的层
    theirs = torch_cls(c).double()
    for x in _batches(shape, 3):
        theirs(x)
    ours = BatchNorm(c, num_dims).double()  # type: ignore[arg-type]
    ours.load_state_dict(theirs.state_dict())
    assert int(ours.num_batches_tracked) == 3
    torch.testing.assert_close(ours.eval()(x), theirs.eval()(x))


def test_batchnorm2d_6_counts() -> None:
    # nn.BatchNorm2d(6)：6 个通道，6 个 γ + 6 个 β 是参数，6 + 6 个滑动统计量是缓冲区
    for layer in (nn.BatchNorm2d(6), BatchNorm(6, 4)):
        params = dict(layer.named_parameters())
        assert {k: tuple(v.shape) for k, v in params.items()} == {"weight": (6,), "bias": (6,)}
        assert all(p.requires_grad for p in params.values())
        buffers = dict(layer.named_buffers())
        assert {k: tuple(v.shape) for k, v in buffers.items()} == {
            "running_mean": (6,),
            "running_var": (6,),
            "num_batches_tracked": (),
        }


def test_gamma_and_beta_are_learned() -> None:
    torch.manual_seed(0)
    layer = BatchNorm(3, 4)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    x = torch.randn(4, 3, 2, 2)
    target = torch.randn(4, 3, 2, 2)
    F.mse_loss(layer(x), target).backward()
    optimizer.step()
    assert not torch.equal(layer.weight.detach(), torch.ones(3))
    assert not torch.equal(layer.bias.detach(), torch.zeros(3))


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="num_dims"):
        BatchNorm(3, 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="3 维"):
        BatchNorm(3, 4)(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match="num_dims=2"):
        BatchNorm(3, 2)(torch.randn(2, 3, 4, 4))
    stats = (torch.ones(3), torch.zeros(3), torch.zeros(3), torch.ones(3))
    with pytest.raises(ValueError, match=r"2 维 \(N, C\) 或 4 维"):
        batch_norm(torch.randn(2, 3, 4), *stats, training=True)
    with pytest.raises(ValueError, match="gamma"):
        batch_norm(torch.randn(2, 4), *stats, training=True)  # 4 个特征，参数只有 3 个
    with pytest.raises(ValueError, match="至少要有 2 个值"):
        batch_norm(torch.randn(1, 3), *stats, training=True)
    # 预测时一个样本也可以
    assert batch_norm(torch.randn(1, 3), *stats, training=False).shape == (1, 3)


def test_lenet_bn_from_scratch_matches_torch() -> None:
    torch.manual_seed(0)
    theirs = LeNetBN().double()
    ours = LeNetBN(from_scratch=True).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    for x in _batches((6, 1, 28, 28), 3):
        torch.testing.assert_close(ours(x), theirs(x))
    for key, value in theirs.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[key], value, msg=key)
    x = _batches((2, 1, 28, 28), 1)[0]
    torch.testing.assert_close(ours.eval()(x), theirs.eval()(x))
