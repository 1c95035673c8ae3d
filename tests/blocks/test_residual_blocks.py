"""Residual blocks: torchvision layouts, the traps they fix, validation and stochastic depth."""

from __future__ import annotations

from functools import partial

import pytest
import torch
from torch import nn

from tvexp.prototype import BasicBlock, Bottleneck, FusedMBConv, InvertedResidual, MBConv


def test_missing_downsample_is_built_with_torchvision_keys() -> None:
    block = BasicBlock(8, 16, 2)
    assert [key for key in block.state_dict() if key.startswith("downsample")][:2] == [
        "downsample.0.weight",
        "downsample.1.weight",
    ]
    assert block(torch.randn(1, 8, 8, 8)).shape == (1, 16, 4, 4)
    assert BasicBlock(8, 8).downsample is None


def test_basic_block_supports_dilation() -> None:
    block = BasicBlock(8, 8, dilation=2)
    assert block.conv1.dilation == (2, 2) and block.conv2.padding == (2, 2)
    assert block(torch.randn(1, 8, 7, 7)).shape == (1, 8, 7, 7)


def test_bottleneck_stride_placement() -> None:
    assert Bottleneck(16, 4, 2).conv2.stride == (2, 2)
    v1 = Bottleneck(16, 4, 2, stride_in_1x1=True)
    assert v1.conv1.stride == (2, 2) and v1.conv2.stride == (1, 1)


def test_optional_squeeze_excitation_adds_an_se_module() -> None:
    assert BasicBlock(16, 16).se is None
    block = Bottleneck(16, 4, se_ratio=1 / 16)
    assert block.se is not None and block.se.fc1.out_channels == 1


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: BasicBlock(8, 8, groups=2), "groups=2"),
        (lambda: BasicBlock(8, 8, stochastic_depth_prob=1.5), "stochastic_depth_prob"),
        (lambda: Bottleneck(8, 0), "planes"),
        (lambda: InvertedResidual(8, 8, layout="v4"), "layout"),
        (lambda: MBConv(8, 8, expand_ratio=0), "expand_ratio"),
    ],
)
def test_bad_arguments_fail_at_construction(build, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(
    "build",
    [
        lambda: BasicBlock(8, 8, norm_layer=nn.BatchNorm2d(8)),
        lambda: InvertedResidual(8, 8, activation_layer=nn.ReLU()),
        lambda: FusedMBConv(8, 8, norm_layer=nn.BatchNorm2d(8)),
    ],
)
def test_module_instance_as_builder_is_a_type_error(build) -> None:
    with pytest.raises(TypeError, match="pass the class"):
        build()


def test_inverted_residual_layouts_name_the_branch_like_torchvision() -> None:
    v2 = InvertedResidual(8, 8, 1, 6)
    v3 = InvertedResidual(8, 8, 1, 6, layout="mobilenet_v3")
    assert {key.split(".")[0] for key in v2.state_dict()} == {"conv"}
    assert {key.split(".")[0] for key in v3.state_dict()} == {"block"}
    assert "conv.2.weight" in v2.state_dict() and "block.2.0.weight" in v3.state_dict()
    assert v2.use_res_connect and not InvertedResidual(8, 16).use_res_connect


@pytest.mark.parametrize(
    "build",
    [
        partial(BasicBlock, 8, 8),
        partial(InvertedResidual, 8, 8, 1, 4),
        partial(MBConv, 8, 8),
        partial(FusedMBConv, 8, 8),
    ],
)
def test_stochastic_depth_drops_the_residual_branch_per_sample_in_training(build) -> None:
    block = build(stochastic_depth_prob=1.0).train()
    x = torch.randn(3, 8, 5, 5)
    with torch.no_grad():
        y = block(x)
    expected = torch.relu(x) if isinstance(block, BasicBlock) else x
    torch.testing.assert_close(y, expected)
    block.eval()
    with torch.no_grad():
        assert not torch.allclose(block(x), expected)


def test_blocks_accept_device_and_dtype() -> None:
    block = Bottleneck(8, 2, 2, dtype=torch.float64, device="cpu")
    assert {p.dtype for p in block.parameters()} == {torch.float64}
    assert block(torch.randn(1, 8, 4, 4, dtype=torch.float64)).dtype == torch.float64


@pytest.mark.parametrize("block", ["InvertedResidual", "MBConv", "FusedMBConv"])
def test_even_kernel_is_rejected_where_the_residual_addition_needs_the_size_kept(block: str) -> None:
    import tvexp.prototype as tvp

    cls = getattr(tvp, block)
    with pytest.raises(
        ValueError, match=r"kernel_size must be odd when the block adds its residual .* got kernel_size=4"
    ):
        cls(8, 8, kernel_size=4)
    # Without the residual connection an even kernel is the caller's choice, and it runs.
    downsampling = cls(8, 16, stride=2, kernel_size=4).eval()
    assert downsampling(torch.randn(1, 8, 8, 8)).shape == (1, 16, 4, 4)


def test_split_repeated_module_calls_needs_a_graph_module() -> None:
    from tvexp.prototype import split_repeated_module_calls

    with pytest.raises(
        TypeError,
        match=r"graph_module must be a torch.fx.GraphModule, e.g. torch.export.export\(model, args\)\.module\(\), got Linear",
    ):
        split_repeated_module_calls(nn.Linear(2, 2))  # type: ignore[arg-type]
