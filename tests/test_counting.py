"""参数量、FLOPs 与形状遍历：与手算的公式对照。"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from dlbook.conv import conv_output_size
from dlbook.counting import count_flops, layer_shapes, num_params, summary
from dlbook.text import text_width
from dlbook.models import LeNet
from tests.test_models import LENET_SHAPES


def _conv_flops(
    n: int, c_in: int, c_out: int, k: int, size: int, *, stride: int = 1, padding: int = 0
) -> int:
    out = conv_output_size(size, k, padding=padding, stride=stride)
    return 2 * n * c_in * k * k * c_out * out * out  # 每个输出元素 c_in·k·k 次乘加，每次乘加 2 FLOPs


@pytest.mark.parametrize(
    ("n", "c_in", "c_out", "k", "size", "stride", "padding"),
    [
        (1, 1, 1, 3, 5, 1, 0),
        (2, 3, 8, 3, 16, 1, 1),
        (1, 1, 96, 11, 224, 4, 1),  # AlexNet 的第一个卷积层
        (3, 16, 4, 5, 9, 2, 2),
    ],
)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_flops(
    n: int, c_in: int, c_out: int, k: int, size: int, stride: int, padding: int, bias: bool
) -> None:
    conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding, bias=bias)
    expected = _conv_flops(n, c_in, c_out, k, size, stride=stride, padding=padding)
    assert count_flops(conv, (n, c_in, size, size)) == expected  # 偏置不计


@pytest.mark.parametrize(
    ("shape", "n_in", "n_out"), [((1, 3), 3, 4), ((5, 400), 400, 120), ((2, 7, 6), 6, 9)]
)
def test_linear_flops(shape: tuple[int, ...], n_in: int, n_out: int) -> None:
    rows = 1
    for dim in shape[:-1]:
        rows *= dim
    assert count_flops(nn.Linear(n_in, n_out), shape) == 2 * rows * n_in * n_out


def test_lenet_flops_by_hand() -> None:
    expected = (
        _conv_flops(1, 1, 6, 5, 28, padding=2)
        + _conv_flops(1, 6, 16, 5, 14)
        + 2 * (400 * 120 + 120 * 84 + 84 * 10)  # 汇聚、激活都不计
    )
    assert expected == 833040
    assert count_flops(LeNet(), (1, 1, 28, 28)) == expected
    assert count_flops(LeNet(), torch.zeros(4, 1, 28, 28)) == 4 * expected


def test_count_flops_restores_mode_and_leaves_running_stats_alone() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout(0.5))
    model.train()
    model[2].eval()  # 各子模块原来的模式都要恢复，而不是一律设成 train
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert count_flops(model, torch.randn(1, 1, 4, 4)) == _conv_flops(1, 1, 2, 3, 4)
    assert [m.training for m in model.modules()] == [True, True, True, False]
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, before[key], msg=key)


def test_num_params_by_hand() -> None:
    model = nn.Sequential(
        nn.Linear(10, 5), nn.ReLU(), nn.Linear(5, 2, bias=False), nn.BatchNorm1d(2)
    )
    assert num_params(model) == (10 * 5 + 5) + 5 * 2 + 2 * 2  # BN 的滑动统计量是缓冲区，不算
    assert num_params(LeNet()) == 61706


def test_shared_and_tied_params_counted_once() -> None:
    shared = nn.Linear(4, 4)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert num_params(model) == 4 * 4 + 4

    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(7, 3)
            self.out = nn.Linear(3, 7, bias=False)
            self.out.weight = self.embed.weight  # 输入、输出词嵌入绑定

        def forward(self, x: Tensor) -> Tensor:
            return self.out(self.embed(x))

    assert num_params(Tied()) == 7 * 3


def test_num_params_trainable_only() -> None:
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    model[0].requires_grad_(False)
    assert num_params(model) == 2 + 1
    assert num_params(model, trainable_only=False) == (3 * 2 + 2) + (2 + 1)


def test_num_params_rejects_lazy() -> None:
    with pytest.raises(ValueError, match="前向传播"):
        num_params(nn.LazyLinear(3))


@pytest.mark.parametrize(("activation", "pool"), [(nn.Sigmoid, "avg"), (nn.ReLU, "max")])
def test_layer_shapes_on_lenet(activation: type[nn.Module], pool: str) -> None:
    model = LeNet(activation=activation, pool=pool)  # type: ignore[arg-type]
    assert layer_shapes(model, (3, 1, 28, 28)) == [(n, (3, *s)) for n, s in LENET_SHAPES]
    for m in model.modules():
        assert not m._forward_hooks  # 钩子用完即删


def test_layer_shapes_depth() -> None:
    model = nn.Sequential(
        nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 3),
    )
    x = torch.zeros(2, 1, 8, 8)
    assert layer_shapes(model, x) == [("0", (2, 4, 4, 4)), ("1", (2, 64)), ("2", (2, 3))]
    assert layer_shapes(model, x, depth=2) == [
        ("0.0", (2, 4, 8, 8)),
        ("0.1", (2, 4, 8, 8)),
        ("0.2", (2, 4, 4, 4)),
        ("1", (2, 64)),
        ("2", (2, 3)),
    ]
    assert layer_shapes(model, x, depth=5) == layer_shapes(model, x, depth=2)
    with pytest.raises(ValueError, match="depth"):
        layer_shapes(model, x, depth=0)


def test_layer_shapes_runs_in_eval_mode() -> None:
    # 训练模式下，1 个样本、1×1 的特征图无法做批量归一化；形状遍历应当照样能用
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    assert layer_shapes(model, (1, 1, 3, 3)) == [("0", (1, 2, 1, 1)), ("1", (1, 2, 1, 1))]
    assert model.training


def test_layer_shapes_depth_counts_levels() -> None:
    # 三层嵌套：depth 是几就展开到第几层，不多不少
    inner = nn.Sequential(nn.Linear(3, 5), nn.ReLU())
    model = nn.Sequential(nn.Sequential(inner, nn.Linear(5, 4)), nn.Linear(4, 2))
    x = torch.zeros(2, 3)
    assert [name for name, _ in layer_shapes(model, x, depth=1)] == ["0", "1"]
    assert [name for name, _ in layer_shapes(model, x, depth=2)] == ["0.0", "0.1", "1"]
    assert [name for name, _ in layer_shapes(model, x, depth=3)] == ["0.0.0", "0.0.1", "0.1", "1"]


def test_layer_shapes_rejects_non_tensor_output() -> None:
    model = nn.Sequential(nn.LSTM(3, 4, batch_first=True))
    with pytest.raises(TypeError, match="不是张量"):
        layer_shapes(model, (1, 2, 3))


def test_summary_table() -> None:
    text = summary(LeNet(), (1, 1, 28, 28))
    lines = text.splitlines()
    assert lines[0].split() == ["层", "类型", "输出形状", "参数量"]
    assert lines[1].split() == ["conv1", "Conv2d", "(1,", "6,", "28,", "28)", "156"]
    assert lines[-2:] == ["参数总量：61,706", "FLOPs：833,040"]
    assert len(lines) == 1 + len(LENET_SHAPES) + 2
    # 各列按显示宽度（汉字占两列）对齐：每一行的“类型”列从同一列开始
    starts = {text_width(line[: line.index(line.split()[1])]) for line in lines[1:-2]}
    assert starts == {text_width(lines[0][: lines[0].index("类型")])}


def test_summary_default_depth_is_one_level() -> None:
    model = nn.Sequential(nn.Sequential(nn.Linear(3, 4), nn.ReLU()), nn.Linear(4, 2))
    assert summary(model, (2, 3)) == summary(model, (2, 3), depth=1)
    assert summary(model, (2, 3)) != summary(model, (2, 3), depth=2)


@pytest.mark.parametrize("shape", [(0, 3), (2, -1), (2, 3.0), (2, True)])
def test_input_shape_must_be_positive_integers(shape) -> None:
    with pytest.raises(ValueError, match="正整数"):
        summary(nn.Linear(3, 2), shape)


def test_summary_counts_frozen_parameters_and_says_how_many_train() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    model[0].requires_grad_(False)
    lines = summary(model, (2, 3)).splitlines()
    assert lines[1].split()[-1] == "16"  # 冻结的层照样列出它的参数量
    assert lines[-3:-1] == ["参数总量：26", "其中可训练：10"]
    assert not any("可训练" in line for line in summary(nn.Linear(3, 4), (2, 3)).splitlines())
