"""一个参数化的模型测试，覆盖 dlbook.models.MODELS 里的每个模型。

新模型只要登记进 ``MODELS``、带上 ``input_shape`` 类属性，并在下面的
``EXPECTED_NUM_PARAMS`` 里写下独立算出的参数量，就自动接受同样的检查。
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlbook.models import MODELS, LeNet


def _conv_params(c_in: int, c_out: int, k: int) -> int:
    return (k * k * c_in + 1) * c_out  # 每个输出通道：k×k×c_in 个权重 + 1 个偏置


def _linear_params(n_in: int, n_out: int) -> int:
    return (n_in + 1) * n_out


# 按层的公式手算，不调用模型本身
EXPECTED_NUM_PARAMS: dict[str, int] = {
    "lenet": _conv_params(1, 6, 5)
    + _conv_params(6, 16, 5)
    + _linear_params(16 * 5 * 5, 120)
    + _linear_params(120, 84)
    + _linear_params(84, 10),
}

NAMES = sorted(MODELS)


def _make(name: str) -> nn.Module:
    torch.manual_seed(0)
    return MODELS[name]()


def _input(name: str, batch_size: int) -> torch.Tensor:
    shape = MODELS[name].input_shape  # type: ignore[attr-defined]
    return torch.randn(batch_size, *shape, generator=torch.Generator().manual_seed(1))


def test_lenet_expected_count_by_hand() -> None:
    assert EXPECTED_NUM_PARAMS["lenet"] == 61706


@pytest.mark.parametrize("name", NAMES)
def test_has_input_shape(name: str) -> None:
    shape = getattr(MODELS[name], "input_shape", None)
    assert isinstance(shape, tuple) and all(isinstance(n, int) and n > 0 for n in shape)


@pytest.mark.parametrize("name", NAMES)
def test_forward_shape(name: str) -> None:
    model = _make(name)
    assert model(_input(name, 2)).shape == (2, 10)


@pytest.mark.parametrize("name", NAMES)
def test_num_classes(name: str) -> None:
    torch.manual_seed(0)
    model = MODELS[name](num_classes=3)
    assert model(_input(name, 2)).shape == (2, 3)


@pytest.mark.parametrize("name", NAMES)
def test_backward_gives_finite_grads(name: str) -> None:
    model = _make(name)
    out = model(_input(name, 2))
    nn.functional.cross_entropy(out, torch.tensor([0, 1])).backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{name}.{pname} 没有梯度"
        assert torch.isfinite(p.grad).all(), f"{name}.{pname} 的梯度不是有限值"


@pytest.mark.parametrize("name", NAMES)
def test_num_params(name: str) -> None:
    if name not in EXPECTED_NUM_PARAMS:
        pytest.fail(f"请在 EXPECTED_NUM_PARAMS 里写下 {name!r} 按层公式算出的参数量")
    model = _make(name)
    assert sum(p.numel() for p in model.parameters()) == EXPECTED_NUM_PARAMS[name]


@pytest.mark.parametrize("name", NAMES)
def test_batch_size_one(name: str) -> None:
    model = _make(name).eval()
    with torch.no_grad():
        assert model(_input(name, 1)).shape == (1, 10)


@pytest.mark.parametrize("name", NAMES)
def test_eval_is_deterministic(name: str) -> None:
    model = _make(name).eval()
    x = _input(name, 2)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(x), rtol=0, atol=0)


# LeNet 的文档（forward 里的注释）写明的每一层输出形状，按调用顺序
LENET_SHAPES = [
    ("conv1", (6, 28, 28)),
    ("act", (6, 28, 28)),
    ("pool1", (6, 14, 14)),
    ("conv2", (16, 10, 10)),
    ("act", (16, 10, 10)),
    ("pool2", (16, 5, 5)),
    ("fc1", (120,)),
    ("act", (120,)),
    ("fc2", (84,)),
    ("act", (84,)),
    ("fc3", (10,)),
]


@pytest.mark.parametrize(("activation", "pool"), [(nn.Sigmoid, "avg"), (nn.ReLU, "max")])
def test_lenet_layer_shapes(activation: type[nn.Module], pool: str) -> None:
    model = LeNet(activation=activation, pool=pool)  # type: ignore[arg-type]
    seen: list[tuple[str, tuple[int, ...]]] = []
    for child_name, child in model.named_children():
        child.register_forward_hook(
            lambda _m, _i, out, child_name=child_name: seen.append((child_name, tuple(out.shape)))
        )
    model(torch.zeros(3, 1, 28, 28))
    assert seen == [(n, (3, *s)) for n, s in LENET_SHAPES]
    assert isinstance(model.act, activation)
    assert isinstance(model.pool1, nn.AvgPool2d if pool == "avg" else nn.MaxPool2d)


def test_lenet_rejects_unknown_pool() -> None:
    with pytest.raises(ValueError, match="pool"):
        LeNet(pool="min")  # type: ignore[arg-type]
