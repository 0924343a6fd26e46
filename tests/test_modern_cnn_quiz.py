"""“现代卷积神经网络”一章习题的答案：在真实的前向计算上核对，而不是只核对公式。"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlbook.batchnorm import BatchNorm
from dlbook.models import DenseBlock, DenseNet
from dlbook.models.densenet import transition_block


@pytest.mark.parametrize(
    ("in_channels", "num_convs", "growth_rate"),
    [(3, 3, 8), (1, 1, 1), (3, 1, 8), (5, 2, 10), (64, 4, 32), (7, 6, 3)],
)
def test_dense_block_output_channels(in_channels, num_convs, growth_rate):
    """稠密块的输出通道数是 in_channels + num_convs × growth_rate，高和宽不变。"""
    torch.manual_seed(0)
    block = DenseBlock(num_convs, in_channels, growth_rate)
    out = block(torch.rand(2, in_channels, 6, 5))
    expected = in_channels + num_convs * growth_rate
    assert out.shape == (2, expected, 6, 5)
    assert block.out_channels == expected
    # 第 i 层看到块的输入加上前面 i 层的输出
    seen = [layer[0].num_features for layer in block.layers]
    assert seen == [in_channels + i * growth_rate for i in range(num_convs)]


def test_dense_block_quiz_answer_is_27():
    """习题：3 个输入通道，3 个输出 8 个通道的卷积层，输出 3 + 3 × 8 = 27 个通道。"""
    out = DenseBlock(3, 3, 8)(torch.rand(1, 3, 4, 4))
    assert out.shape[1] == 27


def test_dense_block_keeps_its_input():
    """连结：块的输出的前 in_channels 个通道就是输入本身。"""
    x = torch.rand(2, 3, 4, 4)
    assert torch.equal(DenseBlock(2, 3, 4)(x)[:, :3], x)


def test_densenet_channel_walk():
    """DenseNet 默认设置的通道数：64 → 192 → 96 → 224 → 112 → 240 → 120 → 248。"""
    net = DenseNet()
    channels = []
    x = torch.rand(1, 64, 24, 24)
    with torch.no_grad():
        for module in net.blocks.eval():
            x = module(x)
            channels.append(x.shape[1])
    assert channels == [192, 96, 224, 112, 240, 120, 248]


def test_transition_block_1x1_conv_halves_channels_and_size():
    transition = transition_block(192, 96)
    conv = transition[2]
    assert isinstance(conv, nn.Conv2d) and conv.kernel_size == (1, 1)
    assert sum(p.numel() for p in conv.parameters()) == 192 * 96
    assert transition(torch.rand(1, 192, 24, 24)).shape == (1, 96, 12, 12)


@pytest.mark.parametrize("make", [lambda: nn.BatchNorm2d(6), lambda: BatchNorm(6, num_dims=4)],
                         ids=["nn.BatchNorm2d", "dlbook.BatchNorm"])
def test_batchnorm2d_6_counts(make):
    """nn.BatchNorm2d(6)：6 个 γ、6 个 β 是参数；6 个滑动均值、6 个滑动方差和一个计数器是缓冲区。"""
    bn = make()
    params = dict(bn.named_parameters())
    buffers = dict(bn.named_buffers())
    assert {k: tuple(v.shape) for k, v in params.items()} == {"weight": (6,), "bias": (6,)}
    assert {k: tuple(v.shape) for k, v in buffers.items()} == {
        "running_mean": (6,),
        "running_var": (6,),
        "num_batches_tracked": (),
    }
    assert sum(p.numel() for p in bn.parameters()) == 12
    assert all(p.requires_grad for p in bn.parameters())
    state = bn.state_dict()
    assert set(state) == set(params) | set(buffers)
    assert sum(state[k].numel() for k in ("running_mean", "running_var")) == 12
    # 6 是通道数：任何批量大小都行，通道数不对就报错
    assert bn(torch.rand(3, 6, 4, 4)).shape == (3, 6, 4, 4)
    # 两者各用自己的话说出“通道数不对”（PyTorch 说 running_mean 的元素数，dlbook 说 γ 的形状），不接受别的错误
    with pytest.raises((RuntimeError, ValueError), match=r"running_mean should contain 5 elements|gamma 的形状应当是 \(5,\)"):
        bn(torch.rand(3, 5, 4, 4))


def test_batchnorm_gamma_beta_are_learned():
    """γ、β 由优化器更新（参数）；momentum、eps 不在 state_dict 里（超参数）。"""
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(6)
    optimizer = torch.optim.SGD(bn.parameters(), lr=0.1)
    (bn(torch.randn(4, 6, 3, 3)) * torch.randn(4, 6, 3, 3)).sum().backward()
    optimizer.step()
    assert not torch.equal(bn.weight.detach(), torch.ones(6))
    assert not torch.equal(bn.bias.detach(), torch.zeros(6))
    assert "momentum" not in bn.state_dict() and "eps" not in bn.state_dict()
