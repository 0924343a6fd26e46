"""dlbook.layers 对照 PyTorch：MyLinear 对 nn.Linear，MySequential 对 nn.Sequential；
另外检查本章讲到的两种“训练不动”的错误写法确实训练不动，以及共享参数的梯度会累加。"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.testing import assert_close

from dlbook.layers import CenteredLayer, FixedHiddenMLP, MyLinear, MySequential

DTYPE = torch.float64


class DataLinear(nn.Module):
    """错误写法一（原课程的写法）：参数登记了，前向计算却用 ``.data``，梯度传不到参数上。"""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.randn(out_features))

    def forward(self, x: Tensor) -> Tensor:
        return x @ self.weight.data.T + self.bias.data


class PlainTensorLinear(nn.Module):
    """错误写法二：权重是普通张量，没有登记为 nn.Parameter，模块看不见它们。"""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = torch.randn(out_features, in_features, requires_grad=True)
        self.bias = torch.randn(out_features, requires_grad=True)

    def forward(self, x: Tensor) -> Tensor:
        return x @ self.weight.T + self.bias


def _pair(in_features: int, out_features: int, *, bias: bool = True) -> tuple[MyLinear, nn.Linear]:
    """一个 MyLinear 和一个权重相同的 nn.Linear（双精度）。"""
    ours = MyLinear(in_features, out_features, bias=bias).to(DTYPE)
    builtin = nn.Linear(in_features, out_features, bias=bias).to(DTYPE)
    ours.load_state_dict(builtin.state_dict())
    return ours, builtin


@pytest.mark.parametrize(
    ("in_features", "out_features", "bias", "batch_shape"),
    [(1, 1, True, (3,)), (5, 3, True, (4,)), (20, 256, True, (2,)), (7, 2, False, (5,)),
     (4, 6, True, (2, 3)), (3, 2, True, ())],
)
def test_my_linear_matches_nn_linear(in_features, out_features, bias, batch_shape) -> None:
    torch.manual_seed(in_features * 10 + out_features)
    ours, builtin = _pair(in_features, out_features, bias=bias)
    x = torch.randn(*batch_shape, in_features, dtype=DTYPE, requires_grad=True)
    x2 = x.detach().clone().requires_grad_()
    y, y2 = ours(x), builtin(x2)
    assert y.shape == y2.shape == (*batch_shape, out_features)
    assert_close(y, y2)
    g = torch.randn_like(y)
    (y * g).sum().backward()
    (y2 * g).sum().backward()
    assert_close(x.grad, x2.grad)
    assert_close(ours.weight.grad, builtin.weight.grad)
    if bias:
        assert_close(ours.bias.grad, builtin.bias.grad)
    else:
        assert ours.bias is None and builtin.bias is None


@pytest.mark.parametrize(("in_features", "out_features", "bias"), [(5, 3, True), (64, 8, False)])
def test_my_linear_initialises_like_nn_linear(in_features, out_features, bias) -> None:
    torch.manual_seed(123)
    builtin = nn.Linear(in_features, out_features, bias=bias)
    torch.manual_seed(123)
    ours = MyLinear(in_features, out_features, bias=bias)
    assert torch.equal(ours.weight, builtin.weight)
    if bias:
        assert torch.equal(ours.bias, builtin.bias)


def test_my_linear_init_range() -> None:
    torch.manual_seed(0)
    layer = MyLinear(100, 400)
    bound = 1 / 100**0.5
    assert layer.weight.abs().max() <= bound
    assert layer.weight.abs().max() > 0.95 * bound  # 40000 个样本，几乎取满整个区间
    assert abs(layer.weight.std().item() - bound / 3**0.5) < 0.01 * bound
    assert layer.bias.abs().max() <= bound


def test_my_linear_state_dict_is_interchangeable_with_nn_linear() -> None:
    ours = MyLinear(4, 3)
    builtin = nn.Linear(4, 3)
    assert list(ours.state_dict()) == list(builtin.state_dict()) == ["weight", "bias"]
    builtin.load_state_dict(ours.state_dict())  # 反方向也行
    assert torch.equal(builtin.weight, ours.weight)
    assert repr(ours) == "MyLinear(in_features=4, out_features=3, bias=True)"
    assert [n for n, _ in MyLinear(4, 3, bias=False).named_parameters()] == ["weight"]


def test_my_linear_trains() -> None:
    """一步 SGD 改变了参数；几百步之后学回了生成数据的线性函数。"""
    torch.manual_seed(0)
    true_w, true_b = torch.tensor([[2.0, -3.4]]), torch.tensor([4.2])
    X = torch.randn(256, 2)
    y = X @ true_w.T + true_b
    layer = MyLinear(2, 1)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    before = [p.detach().clone() for p in layer.parameters()]
    losses = []
    for _ in range(200):
        loss = F.mse_loss(layer(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if len(losses) == 1:
            assert all(not torch.equal(b, p) for b, p in zip(before, layer.parameters()))
    assert losses[-1] < 1e-6 < losses[0]
    assert_close(layer.weight.detach(), true_w, atol=1e-3, rtol=0)
    assert_close(layer.bias.detach(), true_b, atol=1e-3, rtol=0)


def test_data_linear_never_trains() -> None:
    """用 .data 的写法：parameters() 里有参数，但梯度是 None，优化器一步也不更新它们。"""
    torch.manual_seed(0)
    layer = DataLinear(3, 2)
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    x = torch.randn(4, 3, requires_grad=True)  # 输入要求梯度，backward 才不会报错
    before = [p.detach().clone() for p in layer.parameters()]
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    layer(x).square().sum().backward()
    assert x.grad is not None
    assert layer.weight.grad is None and layer.bias.grad is None
    optimizer.step()
    assert all(torch.equal(b, p) for b, p in zip(before, layer.parameters()))


def test_data_linear_without_grad_inputs_cannot_backward() -> None:
    layer = DataLinear(3, 2)
    out = layer(torch.randn(4, 3))
    assert not out.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        out.sum().backward()


def test_plain_tensor_linear_has_no_parameters() -> None:
    """普通张量属性：parameters() 为空，优化器拒绝空的参数列表，state_dict 也是空的。"""
    layer = PlainTensorLinear(3, 2)
    assert list(layer.parameters()) == []
    assert list(layer.state_dict()) == []
    with pytest.raises(ValueError, match="empty parameter list"):
        torch.optim.SGD(layer.parameters(), lr=0.1)
    layer.to(DTYPE)  # .to() 看不见它们：权重仍是 float32
    assert layer.weight.dtype == torch.float32


def test_centered_layer() -> None:
    layer = CenteredLayer()
    assert list(layer.parameters()) == []
    torch.manual_seed(0)
    # 每行加上不同的偏移：减去整个张量的均值与逐行减各自的均值，结果就不同
    x = (torch.randn(4, 8, dtype=DTYPE) + torch.arange(4, dtype=DTYPE)[:, None]).requires_grad_()
    y = layer(x)
    torch.testing.assert_close(y, x - x.mean())
    assert abs(y.mean().item()) < 1e-12
    # 输出对每个输入的梯度之和为 0：整体平移输入，输出不变
    y[0, 0].backward()
    assert abs(x.grad.sum().item()) < 1e-12
    net = nn.Sequential(nn.Linear(8, 128), CenteredLayer())
    assert abs(net(torch.rand(4, 8)).mean().item()) < 1e-6


def test_my_sequential_matches_nn_sequential() -> None:
    torch.manual_seed(0)
    layers = [nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10)]
    ours, builtin = MySequential(*layers), nn.Sequential(*layers)
    x = torch.rand(2, 20)
    assert torch.equal(ours(x), builtin(x))
    assert list(ours.state_dict()) == list(builtin.state_dict())
    assert len(ours) == len(builtin) == 3
    assert ours[0] is builtin[0] and ours[-1] is builtin[-1]
    assert sum(p.numel() for p in ours.parameters()) == 20 * 256 + 256 + 256 * 10 + 10
    with pytest.raises(IndexError, match="只有 3 个子模块"):
        ours[3]
    with pytest.raises(TypeError, match="nn.Module"):
        MySequential(nn.ReLU(), lambda x: x)  # type: ignore[arg-type]


def test_my_sequential_moves_with_to() -> None:
    net = MySequential(nn.Linear(3, 4), nn.ReLU(), MyLinear(4, 1)).to(DTYPE)
    assert all(p.dtype == DTYPE for p in net.parameters())
    net.to("meta")
    assert all(p.device.type == "meta" for p in net.parameters())


def test_fixed_hidden_mlp_constant_is_a_buffer() -> None:
    torch.manual_seed(0)
    net = FixedHiddenMLP(20)
    assert [n for n, _ in net.named_parameters()] == ["linear.weight", "linear.bias"]
    assert list(net.state_dict()) == ["rand_weight", "linear.weight", "linear.bias"]
    constant = net.rand_weight.clone()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    before = net.linear.weight.detach().clone()
    x = torch.rand(8, 20)
    out = net(x)
    assert out.shape == () and abs(out.item()) <= 1
    out.backward()
    optimizer.step()
    assert not torch.equal(before, net.linear.weight)  # 全连接层在学
    assert torch.equal(constant, net.rand_weight)  # 常数矩阵不动
    net.to(DTYPE)
    assert net.rand_weight.dtype == DTYPE  # 缓冲区随 .to() 一起转换
    net.to("meta")
    assert net.rand_weight.device.type == "meta"


@pytest.mark.parametrize("scale", [0.01, 1.0, 100.0])
def test_fixed_hidden_mlp_forward_follows_its_recipe(scale: float) -> None:
    # 全连接 → 乘常数矩阵、加 1、ReLU → 同一个全连接 → 减半直到绝对值之和 ≤ 1 → 求和
    torch.manual_seed(0)
    net = FixedHiddenMLP().to(DTYPE)
    assert (net.linear.in_features, net.linear.out_features) == (20, 20)
    x = scale * torch.randn(4, 20, dtype=DTYPE)
    W, b = net.linear.weight, net.linear.bias
    z = F.relu((x @ W.T + b) @ net.rand_weight + 1) @ W.T + b
    halvings = max(0, math.ceil(math.log2(z.abs().sum().item())))
    assert_close(net(x), z.sum() / 2**halvings)
    if scale == 100.0:
        assert halvings > 5  # 这个输入真的走了很多遍循环
    assert FixedHiddenMLP(1)(torch.rand(3, 1)).shape == ()  # 最小的合法宽度


def test_fixed_hidden_mlp_state_dict_round_trip() -> None:
    torch.manual_seed(0)
    net = FixedHiddenMLP(6)
    clone = FixedHiddenMLP(6)  # 另一个随机的常数矩阵
    assert not torch.equal(net.rand_weight, clone.rand_weight)
    clone.load_state_dict(net.state_dict())
    x = torch.rand(3, 6)
    assert torch.equal(net(x), clone(x))


def test_shared_layer_gradients_accumulate() -> None:
    """同一层用两次：它的梯度等于把两处换成两份独立拷贝后，两份梯度之和。"""
    torch.manual_seed(0)
    shared = nn.Linear(8, 8).to(DTYPE)
    head, tail = nn.Linear(4, 8).to(DTYPE), nn.Linear(8, 1).to(DTYPE)
    tied = nn.Sequential(head, nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), tail)
    assert sum(1 for _ in tied.parameters()) == 6  # 共享的参数只算一次
    x = torch.rand(5, 4, dtype=DTYPE)
    tied(x).sum().backward()

    first = nn.Linear(8, 8).to(DTYPE)
    second = nn.Linear(8, 8).to(DTYPE)
    first.load_state_dict(shared.state_dict())
    second.load_state_dict(shared.state_dict())
    untied = nn.Sequential(head, nn.ReLU(), first, nn.ReLU(), second, nn.ReLU(), tail)
    untied(x).sum().backward()
    assert_close(shared.weight.grad, first.weight.grad + second.weight.grad)
    assert_close(shared.bias.grad, first.bias.grad + second.bias.grad)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: MyLinear(0, 3), "in_features"),
        (lambda: MyLinear(3, -1), "out_features"),
        (lambda: MyLinear(2.5, 3), "in_features"),  # type: ignore[arg-type]
        (lambda: FixedHiddenMLP(0), "features"),
    ],
)
def test_invalid_arguments(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
