"""Video layers (convolution builders, video residual blocks, stems, TemporalSeparableConv): behaviour beyond
the parity fixtures."""

from __future__ import annotations

from functools import partial

import pytest
import torch
from torch import nn

from tvexp.prototype import (
    Conv2Plus1D,
    Conv3DNoTemporal,
    Conv3DSimple,
    R2Plus1DStem,
    R3DStem,
    TemporalSeparableConv,
    VideoBasicBlock,
    VideoBottleneck,
)

# ------------------------------------------------------------------------------- convolution builders


@pytest.mark.parametrize(
    ("builder", "expected"),
    [(Conv3DSimple, (2, 2, 2)), (Conv3DNoTemporal, (1, 2, 2)), (Conv2Plus1D, (2, 2, 2))],
)
def test_builders_report_torchvision_downsample_strides(builder: type[nn.Module], expected: tuple[int, ...]) -> None:
    assert builder.get_downsample_stride(2) == expected  # type: ignore[attr-defined]
    # The stride of the builder's own output agrees with the shortcut's.
    output = builder(4, 4, 5, 2)(torch.randn(1, 4, 4, 6, 6))
    assert output.shape[2:] == tuple(size // s for size, s in zip((4, 6, 6), expected))


def test_conv_2plus1d_default_midplanes_match_a_3x3x3_convolution_in_parameters() -> None:
    conv = Conv2Plus1D(64, 128)
    assert conv.midplanes == (64 * 128 * 27) // (64 * 9 + 3 * 128) == 230
    full = 64 * 128 * 27
    factorised = conv[0].weight.numel() + conv[3].weight.numel()
    assert full - 64 * 9 - 3 * 128 < factorised <= full
    assert [key for key in conv.state_dict() if key.endswith("weight")] == ["0.weight", "1.weight", "3.weight"]


def test_3d_builders_take_and_ignore_midplanes_in_torchvisions_positional_call() -> None:
    torch.manual_seed(0)
    with_midplanes = Conv3DSimple(4, 8, 17, 2)
    torch.manual_seed(0)
    without = Conv3DSimple(4, 8, None, 2)
    torch.testing.assert_close(with_midplanes.weight, without.weight)
    assert with_midplanes.stride == (2, 2, 2) and Conv3DNoTemporal(4, 8, 17, 2).stride == (1, 2, 2)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: Conv3DSimple(4, 8, stride=0), "stride"),
        (lambda: Conv3DNoTemporal(4, 8, midplanes=0), "midplanes"),
        (lambda: Conv2Plus1D(4, 8, padding=-1), "padding"),
        (lambda: Conv2Plus1D(4, 8, norm_layer=nn.BatchNorm3d(4)), "norm_layer"),
        (lambda: VideoBasicBlock(4, 8, "conv3d"), "conv_builder"),
        (lambda: VideoBottleneck(4, 0, Conv3DSimple), "planes"),
        (lambda: R2Plus1DStem(midplanes=2.5), "midplanes"),
        (lambda: TemporalSeparableConv(4, 8, 0), "kernel_size"),
    ],
)
def test_bad_arguments_are_rejected_naming_them(call: object, name: str) -> None:
    with pytest.raises((TypeError, ValueError), match=rf"\b{name}\b"):
        call()  # type: ignore[operator]


@pytest.mark.parametrize(
    "layer",
    [Conv3DSimple(4, 8), Conv2Plus1D(4, 8), VideoBasicBlock(4, 4, Conv3DSimple), R3DStem(4, 8)],
    ids=lambda layer: type(layer).__name__,
)
def test_a_4d_input_is_rejected_with_the_expected_layout(layer: nn.Module) -> None:
    with pytest.raises(ValueError, match=r"expects a 5-D input \(N, C, D, H, W\).*unsqueeze\(0\)"):
        layer(torch.randn(4, 3, 6, 6))


# ----------------------------------------------------------------------------------- residual blocks


def test_basic_block_passes_the_blocks_midplanes_to_both_builder_calls() -> None:
    # torchvision computes midplanes from the block's in_channels and planes, also for conv2 (planes -> planes).
    block = VideoBasicBlock(8, 16, Conv2Plus1D, 2)
    assert block.conv1[0].midplanes == block.conv2[0].midplanes == (8 * 16 * 27) // (8 * 9 + 3 * 16) == 28


def test_blocks_build_the_projection_with_the_builders_stride() -> None:
    block = VideoBasicBlock(8, 16, Conv3DNoTemporal, 2)
    assert block.downsample[0].stride == (1, 2, 2) and block.downsample[0].kernel_size == (1, 1, 1)
    assert block(torch.randn(1, 8, 3, 6, 6)).shape == (1, 16, 3, 3, 3)
    assert VideoBasicBlock(8, 8, Conv3DSimple).downsample is None
    bottleneck = VideoBottleneck(8, 4, Conv3DSimple)
    assert bottleneck.downsample is not None and bottleneck.downsample[0].stride == (1, 1, 1)


def test_a_partial_builder_is_followed_to_its_downsample_stride() -> None:
    builder = partial(Conv2Plus1D, activation_layer=nn.SiLU)
    block = VideoBasicBlock(4, 8, builder, 2)
    assert isinstance(block.conv1[0][2], nn.SiLU) and block.downsample[0].stride == (2, 2, 2)


def test_a_builder_without_downsample_stride_needs_an_explicit_shortcut() -> None:
    def plain(cin: int, cout: int, midplanes: int, stride: int = 1) -> nn.Module:
        return nn.Conv3d(cin, cout, 3, stride, 1, bias=False)

    with pytest.raises(TypeError, match="conv_builder must define get_downsample_stride"):
        VideoBasicBlock(4, 8, plain, 2)
    shortcut = nn.Sequential(nn.Conv3d(4, 8, 1, 2, bias=False), nn.BatchNorm3d(8))
    block = VideoBasicBlock(4, 8, plain, 2, shortcut)
    assert block.downsample is shortcut and block(torch.randn(1, 4, 4, 6, 6)).shape == (1, 8, 2, 3, 3)
    # Stride 1: no stride to ask for; the 1x1x1 projection only changes the width.
    assert VideoBasicBlock(4, 8, plain).downsample[0].stride == (1, 1, 1)


def test_blocks_place_parameters_with_builders_that_take_no_factory_keywords() -> None:
    def plain(cin: int, cout: int, midplanes: int, stride: int = 1) -> nn.Module:
        return Conv3DSimple(cin, cout, midplanes, stride)  # no device/dtype: moved with .to

    block = VideoBottleneck(8, 2, plain, dtype=torch.float64)
    assert {tensor.dtype for tensor in block.state_dict().values() if tensor.is_floating_point()} == {torch.float64}
    assert block(torch.randn(1, 8, 3, 4, 4, dtype=torch.float64)).dtype == torch.float64


def test_bottleneck_is_reduce_builder_expand_plus_shortcut() -> None:
    block = VideoBottleneck(16, 4, Conv3DSimple).eval()
    x = torch.randn(2, 16, 3, 5, 5)
    expected = torch.relu(block.conv3(block.conv2(block.conv1(x))) + x)
    torch.testing.assert_close(block(x), expected)
    assert block.out_channels == 16 and block.conv2[0].kernel_size == (3, 3, 3)


# ---------------------------------------------------------------------------------- stems, S3D's conv


def test_stems_default_to_torchvisions_fixed_stems() -> None:
    assert [key for key in R3DStem().state_dict() if key.endswith("weight")] == ["0.weight", "1.weight"]
    stem = R2Plus1DStem()
    assert stem[0].weight.shape == (45, 3, 1, 7, 7) and stem[3].weight.shape == (64, 45, 3, 1, 1)
    assert [key for key in stem.state_dict() if key.endswith("weight")] == [
        "0.weight",
        "1.weight",
        "3.weight",
        "4.weight",
    ]


def test_temporal_separable_conv_is_spatial_then_temporal_and_keeps_sizes_by_default() -> None:
    conv = TemporalSeparableConv(4, 8, 5).eval()
    assert conv.padding == 2
    assert conv[0][0].kernel_size == (1, 5, 5) and conv[1][0].kernel_size == (5, 1, 1)
    assert conv[0][0].bias is None and conv[1][0].bias is None
    x = torch.randn(1, 4, 6, 7, 7)
    torch.testing.assert_close(conv(x), conv[1](conv[0](x)))
    assert conv(x).shape == (1, 8, 6, 7, 7)
