"""Classification-family blocks: layouts, the rules they encode, validation at construction and legacy checkpoints."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

from tvexp import TvexpDeprecationWarning
from tvexp.prototype import (
    DenseBlock,
    DenseLayer,
    DenseTransition,
    Fire,
    InvertedResidual,
    NamedConv2dNormActivation,
    RegNetBottleneck,
    ShuffleNetV2Unit,
)
from tvexp.prototype.functional import channel_shuffle


def test_regnet_squeeze_width_comes_from_the_input_width() -> None:
    block = RegNetBottleneck(24, 48, 2, group_width=8, se_ratio=0.25)
    assert block.f.se.fc1.in_channels == 48 and block.f.se.fc1.out_channels == 6
    assert block.f.b[0].groups == 48 // 8
    assert list(block.f) == [block.f.a, block.f.b, block.f.se, block.f.c]
    assert RegNetBottleneck(16, 16).proj is None and RegNetBottleneck(16, 16, 2).proj is not None
    assert "se" not in dict(RegNetBottleneck(16, 16, se_ratio=0).f.named_children())


def test_regnet_bottleneck_multiplier_sets_the_inner_width() -> None:
    block = RegNetBottleneck(16, 32, group_width=8, bottleneck_multiplier=0.5)
    assert block.f.a[0].out_channels == 16 and block.f.c[0].out_channels == 32
    assert block(torch.randn(1, 16, 5, 5)).shape == (1, 32, 5, 5)


def test_dense_layer_accepts_a_tensor_or_a_list_of_features() -> None:
    torch.manual_seed(0)
    layer = DenseLayer(12, 4, bn_size=2).eval()
    a, b = torch.randn(2, 8, 5, 5), torch.randn(2, 4, 5, 5)
    torch.testing.assert_close(layer([a, b]), layer(torch.cat([a, b], 1)))


def test_memory_efficient_dense_layer_gives_the_same_values_and_gradients() -> None:
    torch.manual_seed(0)
    plain = DenseBlock(3, 8, 2, 4)
    efficient = DenseBlock(3, 8, 2, 4, memory_efficient=True)
    efficient.load_state_dict(plain.state_dict())
    x1 = torch.randn(2, 8, 6, 6, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_()
    y1, y2 = plain(x1), efficient(x2)
    torch.testing.assert_close(y1, y2)
    y1.square().sum().backward()
    y2.square().sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    for (name, p1), p2 in zip(plain.named_parameters(), efficient.parameters()):
        torch.testing.assert_close(p1.grad, p2.grad, msg=name)


def test_dense_layer_migrates_legacy_keys_with_one_warning_per_layer() -> None:
    layer = DenseLayer(8, 4)
    legacy = OrderedDict(
        (
            key.replace("norm1", "norm.1")
            .replace("norm2", "norm.2")
            .replace("conv1", "conv.1")
            .replace("conv2", "conv.2"),
            v,
        )
        for key, v in DenseLayer(8, 4).state_dict().items()
    )
    assert "norm.1.running_var" in legacy and "conv.2.weight" in legacy
    with pytest.warns(TvexpDeprecationWarning, match="re-save|save the model again") as record:
        layer.load_state_dict(legacy, strict=True)
    assert len([w for w in record if issubclass(w.category, TvexpDeprecationWarning)]) == 1
    torch.testing.assert_close(layer.conv2.weight, legacy["conv.2.weight"])


def test_dense_block_and_transition_keys_are_torchvisions() -> None:
    block = DenseBlock(2, 8, 2, 4)
    assert list(block) == ["denselayer1", "denselayer2"] and block.out_channels == 16
    assert [name for name, _ in DenseTransition(16, 8).named_children()] == ["norm", "relu", "conv", "pool"]


def test_fire_concatenates_both_expands() -> None:
    fire = Fire(16, 4, 6, 10)
    assert fire(torch.randn(1, 16, 5, 5)).shape == (1, 16, 5, 5) and fire.out_channels == 16
    assert sorted(fire.state_dict()) == sorted(
        f"{name}.{kind}" for name in ("squeeze", "expand1x1", "expand3x3") for kind in ("weight", "bias")
    )


def test_channel_shuffle_interleaves_groups_and_keeps_channels_last() -> None:
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert channel_shuffle(x, 3).flatten().tolist() == [0.0, 2.0, 4.0, 1.0, 3.0, 5.0]
    y = torch.randn(2, 8, 4, 4).contiguous(memory_format=torch.channels_last)
    out = channel_shuffle(y, 2)
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, channel_shuffle(y.contiguous(), 2))
    assert channel_shuffle(torch.randn(2, 6, 5), 2).shape == (2, 6, 5)


@pytest.mark.parametrize(
    "args, error, message",
    [
        ((torch.randn(1, 6, 2, 2), 4), ValueError, "groups=4 must divide"),
        ((torch.randn(6, 2), 2), ValueError, r"\(N, C, \*\)"),
        ((torch.randn(1, 6, 2, 2), 0), ValueError, "groups"),
        ((torch.randn(1, 6, 2, 2), 2.0), TypeError, "groups"),
    ],
)
def test_channel_shuffle_rejects_bad_arguments(args: tuple, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        channel_shuffle(*args)


def test_shufflenet_unit_branches() -> None:
    assert len(ShuffleNetV2Unit(16, 16).branch1) == 0
    unit = ShuffleNetV2Unit(8, 16, 2)
    assert len(unit.branch1) == 5 and len(unit.branch2) == 8
    assert unit.branch2[0].in_channels == 8 and ShuffleNetV2Unit(16, 16).branch2[0].in_channels == 8


def test_named_conv_layout_has_torchvision_basic_conv_keys_and_eps() -> None:
    block = NamedConv2dNormActivation(3, 8, (1, 7), padding=(0, 3))
    assert [name for name, _ in block.named_children()] == ["conv", "bn", "act"]
    assert block.bn.eps == 0.001 and block.conv.bias is None and block.conv.padding == (0, 3)
    assert [name for name, _ in NamedConv2dNormActivation(3, 8, norm_layer=None).named_children()] == ["conv", "act"]
    assert NamedConv2dNormActivation(3, 8, norm_layer=None).conv.bias is not None


def test_mnasnet_layout_is_flat_and_always_expands() -> None:
    block = InvertedResidual(8, 8, 1, 1, activation_layer=nn.ReLU, layout="mnasnet")
    assert len(block.layers) == 8 and block.conv is None and block.block is None
    assert block.layers[3].groups == 8 and block.use_res_connect
    assert sorted(block.state_dict())[0] == "layers.0.weight"


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: RegNetBottleneck(16, 32, group_width=64), ValueError, "group_width"),
        (lambda: RegNetBottleneck(16, 20, group_width=6), ValueError, "group_width"),
        (lambda: RegNetBottleneck(16, 32, bottleneck_multiplier=0), ValueError, "bottleneck_multiplier"),
        (lambda: RegNetBottleneck(16, 32, se_ratio=-0.25), ValueError, "se_ratio"),
        (lambda: RegNetBottleneck(2, 32, se_ratio=0.1), ValueError, "se_ratio"),
        (lambda: RegNetBottleneck(16, 32, norm_layer=nn.BatchNorm2d(32)), TypeError, "norm_layer"),
        (lambda: DenseLayer(16, 0), ValueError, "growth_rate"),
        (lambda: DenseLayer(16, 8, drop_rate=1.5), ValueError, "drop_rate"),
        (lambda: DenseLayer(16, 8, memory_efficient=1), TypeError, "memory_efficient"),
        (lambda: DenseBlock(0, 16), ValueError, "num_layers"),
        (lambda: DenseTransition(16, 8, activation_layer=None), TypeError, "activation_layer"),
        (lambda: Fire(16, 0, 8, 8), ValueError, "squeeze_channels"),
        (lambda: ShuffleNetV2Unit(16, 15, 2), ValueError, "even"),
        (lambda: ShuffleNetV2Unit(8, 16, 1), ValueError, "in_channels must equal out_channels"),
        (lambda: ShuffleNetV2Unit(8, 16, 4), ValueError, "stride"),
        (lambda: NamedConv2dNormActivation(6, 8, groups=4), ValueError, "divisible by groups"),
        (lambda: InvertedResidual(8, 8, layout="mnasnet", se_layer=nn.Identity), ValueError, "mnasnet"),
    ],
)
def test_bad_arguments_fail_at_construction(build, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        build()
