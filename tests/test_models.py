"""一个参数化的模型测试，覆盖 dlbook.models.MODELS 里的每个模型。

新模型只要登记进 ``MODELS``、带上 ``input_shape`` 类属性，并在下面的
``EXPECTED_NUM_PARAMS`` 里写下独立算出的参数量，就自动接受同样的检查。
能处理不同输入尺寸的模型还要带上 ``min_input_size``：为了测试快，它们多数检查用
边长 ``max(min_input_size, 32)`` 的小图，只有一个测试用完整的 ``input_shape``。
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlbook.counting import layer_shapes
from dlbook.models import (
    MODELS,
    VGG,
    DenseBlock,
    DenseNet,
    GoogLeNet,
    Inception,
    LeNet,
    LeNetBN,
    ResNet,
    Residual,
    SpeedNet,
    vgg11,
)


def _conv_params(c_in: int, c_out: int, k: int, *, bias: bool = True) -> int:
    return (k * k * c_in + bias) * c_out  # 每个输出通道：k×k×c_in 个权重 + 1 个偏置（若有）


def _linear_params(n_in: int, n_out: int, *, bias: bool = True) -> int:
    return (n_in + bias) * n_out


def _bn_params(c: int) -> int:
    return 2 * c  # 每个通道（特征）一个 γ、一个 β；滑动均值和方差是缓冲区，不算


def _nin_block_params(c_in: int, c_out: int, k: int) -> int:
    return _conv_params(c_in, c_out, k) + 2 * _conv_params(c_out, c_out, 1)


def _inception_params(c_in: int, c1: int, c2: tuple[int, int], c3: tuple[int, int], c4: int) -> int:
    return (
        _conv_params(c_in, c1, 1)
        + _conv_params(c_in, c2[0], 1)
        + _conv_params(c2[0], c2[1], 3)
        + _conv_params(c_in, c3[0], 1)
        + _conv_params(c3[0], c3[1], 5)
        + _conv_params(c_in, c4, 1)
    )


def _residual_params(c_in: int, c_out: int) -> int:
    # 两个不带偏置的 3×3 卷积各接 BN；形状改变时捷径上还有 1×1 卷积 + BN
    params = _conv_params(c_in, c_out, 3, bias=False) + _bn_params(c_out)
    params += _conv_params(c_out, c_out, 3, bias=False) + _bn_params(c_out)
    if c_in != c_out:
        params += _conv_params(c_in, c_out, 1, bias=False) + _bn_params(c_out)
    return params


def _dense_block_params(num_convs: int, c_in: int, growth: int) -> int:
    return sum(
        _bn_params(c_in + i * growth) + _conv_params(c_in + i * growth, growth, 3, bias=False)
        for i in range(num_convs)
    )


def _transition_params(c_in: int, c_out: int) -> int:
    return _bn_params(c_in) + _conv_params(c_in, c_out, 1, bias=False)


def _conv_group_params(c_in: int, c_out: int) -> int:
    # SpeedNet 的卷积组：两个不带偏置的 3×3 卷积各接 BN（汇聚与 GELU 没有参数）
    return _conv_params(c_in, c_out, 3, bias=False) + _conv_params(c_out, c_out, 3, bias=False) + 2 * _bn_params(c_out)


_RESNET18_STEM = _conv_params(1, 64, 7, bias=False) + _bn_params(64)
_DENSENET_STEM = _RESNET18_STEM

# 按层的公式手算，不调用模型本身
EXPECTED_NUM_PARAMS: dict[str, int] = {
    "lenet": _conv_params(1, 6, 5)
    + _conv_params(6, 16, 5)
    + _linear_params(16 * 5 * 5, 120)
    + _linear_params(120, 84)
    + _linear_params(84, 10),
    # 紧跟 BN 的卷积层与全连接层不带偏置
    "lenet_bn": _conv_params(1, 6, 5, bias=False)
    + _bn_params(6)
    + _conv_params(6, 16, 5, bias=False)
    + _bn_params(16)
    + _linear_params(16 * 5 * 5, 120, bias=False)
    + _bn_params(120)
    + _linear_params(120, 84, bias=False)
    + _bn_params(84)
    + _linear_params(84, 10),
    "alexnet": _conv_params(1, 96, 11)
    + _conv_params(96, 256, 5)
    + _conv_params(256, 384, 3)
    + _conv_params(384, 384, 3)
    + _conv_params(384, 256, 3)
    + _linear_params(256 * 5 * 5, 4096)
    + _linear_params(4096, 4096)
    + _linear_params(4096, 10),
    # 通道数除以 4 的 VGG-11：块 (1, 16)、(1, 32)、(2, 64)、(2, 128)、(2, 128)
    "vgg11": _conv_params(1, 16, 3)
    + _conv_params(16, 32, 3)
    + _conv_params(32, 64, 3)
    + _conv_params(64, 64, 3)
    + _conv_params(64, 128, 3)
    + 3 * _conv_params(128, 128, 3)
    + _linear_params(128 * 7 * 7, 4096)
    + _linear_params(4096, 4096)
    + _linear_params(4096, 10),
    "nin": _nin_block_params(1, 96, 11)
    + _nin_block_params(96, 256, 5)
    + _nin_block_params(256, 384, 3)
    + _nin_block_params(384, 10, 3),
    "googlenet": _conv_params(1, 64, 7)
    + _conv_params(64, 64, 1)
    + _conv_params(64, 192, 3)
    + _inception_params(192, 64, (96, 128), (16, 32), 32)
    + _inception_params(256, 128, (128, 192), (32, 96), 64)
    + _inception_params(480, 192, (96, 208), (16, 48), 64)
    + _inception_params(512, 160, (112, 224), (24, 64), 64)
    + _inception_params(512, 128, (128, 256), (24, 64), 64)
    + _inception_params(512, 112, (144, 288), (32, 64), 64)
    + _inception_params(528, 256, (160, 320), (32, 128), 128)
    + _inception_params(832, 256, (160, 320), (32, 128), 128)
    + _inception_params(832, 384, (192, 384), (48, 128), 128)
    + _linear_params(1024, 10),
    "resnet18": _RESNET18_STEM
    + 2 * _residual_params(64, 64)
    + _residual_params(64, 128)
    + _residual_params(128, 128)
    + _residual_params(128, 256)
    + _residual_params(256, 256)
    + _residual_params(256, 512)
    + _residual_params(512, 512)
    + _linear_params(512, 10),
    # 通道数：64 → 192 → 96 → 224 → 112 → 240 → 120 → 248
    "densenet": _DENSENET_STEM
    + _dense_block_params(4, 64, 32)
    + _transition_params(192, 96)
    + _dense_block_params(4, 96, 32)
    + _transition_params(224, 112)
    + _dense_block_params(4, 112, 32)
    + _transition_params(240, 120)
    + _dense_block_params(4, 120, 32)
    + _bn_params(248)
    + _linear_params(248, 10),
    # 通道数 16 → 32 → 64 → 128，全局最大汇聚后接不带偏置的全连接层
    "speednet": _conv_params(1, 16, 3, bias=False)
    + _bn_params(16)
    + _conv_group_params(16, 32)
    + _conv_group_params(32, 64)
    + _conv_group_params(64, 128)
    + _linear_params(128, 10, bias=False),
}

NAMES = sorted(MODELS)
# 能处理不同输入尺寸、因而有 min_input_size 的模型（LeNet 的全连接层要求 28×28 左右的输入）
RESIZABLE = [name for name in NAMES if hasattr(MODELS[name], "min_input_size")]


def _make(name: str) -> nn.Module:
    torch.manual_seed(0)
    return MODELS[name]()


def _input(name: str, batch_size: int, *, full_size: bool = False) -> torch.Tensor:
    """随机输入。能处理小图的模型默认用小图（边长 max(min_input_size, 32)），测试才快。"""
    channels, height, width = MODELS[name].input_shape  # type: ignore[attr-defined]
    min_size = getattr(MODELS[name], "min_input_size", None)
    if min_size is not None and not full_size:
        height = width = max(min_size, 32)
    shape = (batch_size, channels, height, width)
    return torch.randn(shape, generator=torch.Generator().manual_seed(1))


def test_lenet_expected_count_by_hand() -> None:
    assert EXPECTED_NUM_PARAMS["lenet"] == 61706


@pytest.mark.parametrize("name", NAMES)
def test_has_input_shape(name: str) -> None:
    shape = getattr(MODELS[name], "input_shape", None)
    assert isinstance(shape, tuple) and all(isinstance(n, int) and n > 0 for n in shape)


# 《动手学深度学习》在 Fashion-MNIST 上训练各模型时的输入（resize 的边长）；速通的 SpeedNet 用原图
D2L_INPUT_SHAPES = {
    "lenet": (1, 28, 28), "lenet_bn": (1, 28, 28), "speednet": (1, 28, 28),
    "alexnet": (1, 224, 224), "vgg11": (1, 224, 224), "nin": (1, 224, 224),
    "googlenet": (1, 96, 96), "resnet18": (1, 96, 96), "densenet": (1, 96, 96),
}  # fmt: skip


def test_input_shapes_are_the_recipes_input_sizes() -> None:
    # LeNet 在 29×29 上也跑得通，VGG 在 225×225 上也跑得通：只有这张表能发现 input_shape 写错了
    assert {name: MODELS[name].input_shape for name in NAMES} == D2L_INPUT_SHAPES  # type: ignore[attr-defined]


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
def test_batch_size_one_at_input_shape(name: str) -> None:
    # 唯一一个用完整 input_shape（AlexNet、VGG、NiN 是 224×224）的测试
    model = _make(name).eval()
    with torch.no_grad():
        assert model(_input(name, 1, full_size=True)).shape == (1, 10)


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


def test_resizable_models() -> None:
    assert RESIZABLE == ["alexnet", "densenet", "googlenet", "nin", "resnet18", "speednet", "vgg11"]


@pytest.mark.parametrize("name", RESIZABLE)
def test_min_input_size(name: str) -> None:
    cls = MODELS[name]
    size: int = cls.min_input_size  # type: ignore[attr-defined]
    model = _make(name)  # 训练模式：批量归一化在批量 2、1×1 的特征图上也要能算
    assert model(torch.randn(2, 1, size, size)).shape == (2, 10)
    if size > 1:
        with pytest.raises(RuntimeError):
            model(torch.randn(2, 1, size - 1, size - 1))


@pytest.mark.parametrize("name", RESIZABLE)
def test_in_channels(name: str) -> None:
    torch.manual_seed(0)
    model = MODELS[name](num_classes=4, in_channels=3).eval()
    size = max(MODELS[name].min_input_size, 32)  # type: ignore[attr-defined]
    with torch.no_grad():
        assert model(torch.randn(1, 3, size, size)).shape == (1, 4)


# forward 注释里写明的各阶段输出形状（不含批量维），对应 input_shape 的输入
RESNET18_SHAPES = [
    ("conv1", (64, 48, 48)),
    ("bn1", (64, 48, 48)),
    ("relu", (64, 48, 48)),
    ("maxpool", (64, 24, 24)),
    ("layer1", (64, 24, 24)),
    ("layer2", (128, 12, 12)),
    ("layer3", (256, 6, 6)),
    ("layer4", (512, 3, 3)),
    ("avgpool", (512, 1, 1)),
    ("fc", (10,)),
]
GOOGLENET_SHAPES = [
    ("b1", (64, 24, 24)),
    ("b2", (192, 12, 12)),
    ("b3", (480, 6, 6)),
    ("b4", (832, 3, 3)),
    ("b5", (1024, 3, 3)),
    ("avgpool", (1024, 1, 1)),
    ("fc", (10,)),
]
DENSENET_SHAPES = [
    ("conv1", (64, 48, 48)),
    ("bn1", (64, 48, 48)),
    ("relu", (64, 48, 48)),
    ("maxpool", (64, 24, 24)),
    ("blocks", (248, 3, 3)),
    ("bn2", (248, 3, 3)),
    ("relu", (248, 3, 3)),
    ("avgpool", (248, 1, 1)),
    ("fc", (10,)),
]
DENSENET_BLOCK_SHAPES = [
    ("blocks.0", (192, 24, 24)),
    ("blocks.1", (96, 12, 12)),
    ("blocks.2", (224, 12, 12)),
    ("blocks.3", (112, 6, 6)),
    ("blocks.4", (240, 6, 6)),
    ("blocks.5", (120, 3, 3)),
    ("blocks.6", (248, 3, 3)),
]
SPEEDNET_SHAPES = [
    ("conv1", (16, 28, 28)),
    ("bn1", (16, 28, 28)),
    ("act", (16, 28, 28)),
    ("group1", (32, 14, 14)),
    ("group2", (64, 7, 7)),
    ("group3", (128, 3, 3)),
    ("pool", (128,)),
    ("fc", (10,)),
]
ALEXNET_FEATURE_SHAPES = [  # features 里每个卷积、汇聚层之后
    (96, 54, 54),
    (96, 26, 26),
    (256, 26, 26),
    (256, 12, 12),
    (384, 12, 12),
    (384, 12, 12),
    (256, 12, 12),
    (256, 5, 5),
]


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
# LeNetBN：每个卷积层、隐藏全连接层之后多一个 BN（bn3、bn4 跟在 fc1、fc2 后面）
LENET_BN_SHAPES = [
    ("conv1", (6, 28, 28)),
    ("bn1", (6, 28, 28)),
    ("act", (6, 28, 28)),
    ("pool1", (6, 14, 14)),
    ("conv2", (16, 10, 10)),
    ("bn2", (16, 10, 10)),
    ("act", (16, 10, 10)),
    ("pool2", (16, 5, 5)),
    ("fc1", (120,)),
    ("bn3", (120,)),
    ("act", (120,)),
    ("fc2", (84,)),
    ("bn4", (84,)),
    ("act", (84,)),
    ("fc3", (10,)),
]


@pytest.mark.parametrize(
    ("model_cls", "expected"),
    [
        (LeNet, LENET_SHAPES),
        (LeNetBN, LENET_BN_SHAPES),
        (ResNet, RESNET18_SHAPES),
        (GoogLeNet, GOOGLENET_SHAPES),
        (DenseNet, DENSENET_SHAPES),
        (SpeedNet, SPEEDNET_SHAPES),
    ],
)
def test_stage_shapes_at_input_shape(
    model_cls: type[nn.Module], expected: list[tuple[str, tuple[int, ...]]]
) -> None:
    model = model_cls()
    x = torch.zeros(1, *model_cls.input_shape)  # type: ignore[attr-defined]
    assert layer_shapes(model, x) == [(n, (1, *s)) for n, s in expected]


def test_densenet_block_shapes() -> None:
    shapes = layer_shapes(DenseNet(), (1, 1, 96, 96), depth=2)
    assert [s for s in shapes if s[0].startswith("blocks.")] == [
        (n, (1, *s)) for n, s in DENSENET_BLOCK_SHAPES
    ]


NIN_FEATURE_SHAPES = [  # features 里每个 NiN 块、汇聚层、暂退层之后（224×224 的输入）
    (96, 54, 54),
    (96, 26, 26),
    (256, 26, 26),
    (256, 12, 12),
    (384, 12, 12),
    (384, 5, 5),
    (384, 5, 5),
    (10, 5, 5),
]


def test_nin_feature_shapes() -> None:
    shapes = layer_shapes(MODELS["nin"](), (1, 1, 224, 224), depth=2)
    assert [s for n, s in shapes if n.startswith("features.")] == [(1, *s) for s in NIN_FEATURE_SHAPES]


def test_alexnet_feature_shapes() -> None:
    model = MODELS["alexnet"]()
    shapes = layer_shapes(model, (1, 1, 224, 224), depth=2)
    convs_and_pools = [
        shape
        for name, shape in shapes
        if isinstance(model.get_submodule(name), nn.Conv2d | nn.MaxPool2d)
    ]
    assert convs_and_pools == [(1, *s) for s in ALEXNET_FEATURE_SHAPES]
    assert ("avgpool", (1, 256, 5, 5)) in shapes  # 224×224 时自适应汇聚什么也不做


def test_resnet_cifar_stem_keeps_resolution() -> None:
    model = ResNet(stem="cifar")
    shapes = dict(layer_shapes(model, (1, 1, 28, 28)))
    assert shapes["layer1"] == (1, 64, 28, 28)
    assert shapes["layer2"] == (1, 128, 14, 14)
    assert shapes["layer3"] == (1, 256, 7, 7)
    assert shapes["layer4"] == (1, 512, 4, 4)
    # 开头的卷积由 7×7 变成 3×3，参数量随之减少
    stem_diff = _conv_params(1, 64, 7, bias=False) - _conv_params(1, 64, 3, bias=False)
    num_params = sum(p.numel() for p in model.parameters())
    assert num_params == EXPECTED_NUM_PARAMS["resnet18"] - stem_diff


def test_resnet_rejects_bad_options() -> None:
    with pytest.raises(ValueError, match="stem"):
        ResNet(stem="tiny")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="use_1x1conv"):
        Residual(64, 128)
    with pytest.raises(ValueError, match="use_1x1conv"):
        Residual(64, 64, stride=2)
    for layers in [(2, 2, 2), (2, 2, 2, 2, 2), (2, 2, 0, 2)]:
        with pytest.raises(ValueError, match="layers 应当是 4 个正整数"):
            ResNet(layers=layers)
    for layers in [(3, 4, 6, 3), (1, 1, 1, 1)]:  # ResNet-34；每个阶段一个块也可以（最小的合法设置）
        model = ResNet(layers=layers)
        assert tuple(len(getattr(model, f"layer{i}")) for i in range(1, 5)) == layers


def test_residual_shortcut_is_identity_without_1x1conv() -> None:
    block = Residual(4, 4).eval()
    for m in (block.conv1, block.conv2):
        nn.init.zeros_(m.weight)  # F(x) = 0，只剩捷径：relu(x)
    x = torch.randn(2, 4, 5, 5)
    with torch.no_grad():
        torch.testing.assert_close(block(x), torch.relu(x))


@pytest.mark.parametrize(("in_channels", "out_channels", "stride"), [(4, 4, 1), (4, 8, 2), (4, 8, 1)])
@pytest.mark.parametrize("training", [True, False])
def test_residual_block_matches_torchvision_basic_block(in_channels, out_channels, stride, training) -> None:
    # 与 torchvision 的 BasicBlock 逐个参数对应（键名相同），同样的参数给出同样的输出，训练与评估模式都是
    from torchvision.models.resnet import BasicBlock

    torch.manual_seed(0)
    projection = in_channels != out_channels or stride != 1
    ours = Residual(in_channels, out_channels, use_1x1conv=projection, stride=stride)
    downsample = None
    if projection:
        downsample = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
        )
    theirs = BasicBlock(in_channels, out_channels, stride=stride, downsample=downsample)
    for m in ours.modules():  # 批量归一化的 γ、β 和滑动统计量也不取默认值，免得巧合相等
        if isinstance(m, nn.BatchNorm2d):
            for tensor in (m.weight, m.bias, m.running_mean):
                nn.init.normal_(tensor)
            m.running_var.uniform_(0.5, 2.0)
    theirs.load_state_dict(ours.state_dict())
    ours.train(training), theirs.train(training)
    x = torch.randn(3, in_channels, 7, 7)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))


@pytest.mark.parametrize(
    ("num_convs", "in_channels", "growth_rate", "expected"),
    [
        (2, 3, 10, 23),  # 《动手学深度学习》的例子
        (3, 3, 8, 27),  # 种子笔记的习题：3 个输出 8 通道的卷积层，输入 3 通道
        (4, 64, 32, 192),  # DenseNet 的第一个稠密块
        (1, 5, 7, 12),
        (0, 6, 32, 6),  # 没有卷积层时原样输出
    ],
)
def test_dense_block_channels(
    num_convs: int, in_channels: int, growth_rate: int, expected: int
) -> None:
    block = DenseBlock(num_convs, in_channels, growth_rate)
    x = torch.randn(2, in_channels, 6, 6)
    out = block(x)
    assert block.out_channels == expected == in_channels + num_convs * growth_rate
    assert out.shape == (2, expected, 6, 6)
    torch.testing.assert_close(out[:, :in_channels], x)  # 输入原样保留在输出的前几个通道


def test_inception_out_channels() -> None:
    block = Inception(192, 64, (96, 128), (16, 32), 32)
    assert block.out_channels == 64 + 128 + 32 + 32
    assert block(torch.randn(1, 192, 7, 7)).shape == (1, 256, 7, 7)


def test_vgg_width_divisor() -> None:
    model = VGG(((1, 8), (2, 16)), num_classes=5, width_divisor=2)
    assert [block[0].out_channels for block in model.features] == [4, 8]
    assert sum(isinstance(m, nn.Conv2d) for m in model.modules()) == 3
    assert model(torch.randn(1, 1, 4, 4)).shape == (1, 5)  # 2 个块：最小边长 4
    expected = (
        _conv_params(1, 4, 3)
        + _conv_params(4, 8, 3)
        + _conv_params(8, 8, 3)
        + _linear_params(8 * 7 * 7, 4096)
        + _linear_params(4096, 4096)
        + _linear_params(4096, 5)
    )
    assert sum(p.numel() for p in model.parameters()) == expected
    narrow = vgg11(width_divisor=4)
    assert sum(p.numel() for p in narrow.parameters()) == EXPECTED_NUM_PARAMS["vgg11"]
    with pytest.raises(ValueError, match="width_divisor"):
        VGG(((1, 8),), width_divisor=16)
    assert VGG(((1, 8),), width_divisor=8).features[0][0].out_channels == 1  # 恰好剩 1 个通道：可以
    assert VGG(((1, 8),)).features[0][0].out_channels == 8  # 默认不缩窄


def test_full_width_vgg11_is_the_papers() -> None:
    # 论文的 VGG-11（约 1.3 亿个参数）：在 meta 设备上构造，不真的分配 500 MB
    with torch.device("meta"):
        model = vgg11()
    channels = [64, 128, 256, 256, 512, 512, 512, 512]
    expected = sum(_conv_params(c_in, c_out, 3) for c_in, c_out in zip([1, *channels], channels)) + (
        _linear_params(512 * 7 * 7, 4096) + _linear_params(4096, 4096) + _linear_params(4096, 10)
    )
    assert sum(p.numel() for p in model.parameters()) == expected == 128_806_154
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [m.out_channels for m in convs] == channels


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: VGG(()), "至少要有一个块"),
        (lambda: VGG(((1, 8),), width_divisor=0), "width_divisor"),
        (lambda: VGG(((0, 8),)), "num_convs"),
    ],
)
def test_vgg_rejects_bad_architectures(make, message) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_lenet_bn_uses_pytorchs_batch_norm_unless_asked() -> None:
    from dlbook.batchnorm import BatchNorm

    assert isinstance(LeNetBN().bn1, nn.BatchNorm2d) and isinstance(LeNetBN().bn3, nn.BatchNorm1d)
    assert isinstance(LeNetBN(from_scratch=True).bn1, BatchNorm)


def test_speednet_global_max_pool_matches_adaptive_max_pool() -> None:
    # SpeedNet 的 GlobalMaxPool 用 amax：没有并列最大时，值与梯度都应与 nn.AdaptiveMaxPool2d(1) 相同
    torch.manual_seed(0)
    model = SpeedNet().eval()
    x = torch.randn(4, 1, 28, 28)
    features = model.group3(model.group2(model.group1(model.act(model.bn1(model.conv1(x))))))
    a = features.detach().requires_grad_()
    b = features.detach().requires_grad_()
    out_a = model.fc(model.pool(a))
    out_b = model.fc(torch.flatten(nn.AdaptiveMaxPool2d(1)(b), 1))
    torch.testing.assert_close(out_a, out_b, rtol=0, atol=0)
    torch.testing.assert_close(model(x), out_b, rtol=0, atol=0)
    out_a.square().sum().backward()
    out_b.square().sum().backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=0)
    assert (a.grad != 0).sum() == 4 * 128  # 每个样本、每个通道只有最大的那个位置有梯度


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: DenseNet(block_config=()), "至少要有一个稠密块"),
        (lambda: SpeedNet(widths=(16, 32, 64)), "widths 应为 4 个正整数"),
        (lambda: SpeedNet(widths=(16, 32, 0, 128)), "widths 应为 4 个正整数"),
    ],
)
def test_densenet_and_speednet_reject_bad_configurations(make, message) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_speednet_takes_any_positive_widths() -> None:
    model = SpeedNet(widths=(1, 1, 1, 1))  # 最窄的合法设置
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
