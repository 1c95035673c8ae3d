"""Conv-norm-activation blocks: torchvision's padding/bias rules, fixed traps, transposed variants."""

from __future__ import annotations

import functools

import pytest
import torch
from torch import nn

from tvexp.prototype import (
    ConvTranspose1dNormActivation,
    ConvTranspose2dNormActivation,
    ConvTranspose3dNormActivation,
)
from tvexp.stable import Conv1dNormActivation, Conv2dNormActivation, Conv3dNormActivation


@pytest.mark.parametrize("activation", [nn.GELU, nn.Tanh, nn.Sigmoid, functools.partial(nn.GELU, approximate="tanh")])
def test_activations_without_inplace_work_with_the_default_inplace_true(activation: type[nn.Module]) -> None:
    block = Conv2dNormActivation(3, 4, activation_layer=activation)
    assert block(torch.randn(1, 3, 5, 5)).shape == (1, 4, 5, 5)


def test_inplace_reaches_activations_that_accept_it() -> None:
    assert Conv2dNormActivation(3, 4)[2].inplace is True  # type: ignore[union-attr]
    assert Conv2dNormActivation(3, 4, inplace=False)[2].inplace is False  # type: ignore[union-attr]
    assert Conv2dNormActivation(3, 4, inplace=None)[2].inplace is False  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("kernel_size", "dilation", "padding"),
    [(3, 1, (1, 1)), (5, 2, (4, 4)), (4, 1, (1, 1)), ((3, 5), 2, (2, 4)), (3, (1, 2), (1, 2)), ((1, 3), 1, (0, 1))],
)
def test_default_padding_is_torchvisions_rule(kernel_size: object, dilation: object, padding: tuple[int, int]) -> None:
    conv = Conv2dNormActivation(2, 2, kernel_size, dilation=dilation)[0]  # type: ignore[arg-type]
    assert conv.padding == padding


def test_string_padding_is_passed_through_and_3d_tuple_kernels_pad_per_dimension() -> None:
    assert Conv2dNormActivation(2, 2, 4, padding="same")[0].padding == "same"
    assert Conv3dNormActivation(2, 2, (1, 3, 3))[0].padding == (0, 1, 1)


def test_bias_defaults_to_no_bias_with_a_norm_and_bias_without() -> None:
    assert Conv2dNormActivation(2, 3)[0].bias is None
    assert Conv2dNormActivation(2, 3, norm_layer=None)[0].bias is not None
    assert Conv2dNormActivation(2, 3, bias=True)[0].bias is not None


def test_children_are_numbered_conv_norm_activation_and_close_up() -> None:
    full = Conv2dNormActivation(2, 3)
    assert [type(m) for m in full] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]
    assert [type(m) for m in Conv2dNormActivation(2, 3, norm_layer=None)] == [nn.Conv2d, nn.ReLU]
    assert [type(m) for m in Conv3dNormActivation(2, 3, activation_layer=None)] == [nn.Conv3d, nn.BatchNorm3d]
    assert full.out_channels == 3 and full.in_channels == 2


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"groups": 3}, ValueError, "in_channels must be divisible by groups, got in_channels=4, groups=3"),
        ({"out_channels": 6, "groups": 4}, ValueError, "out_channels must be divisible by groups, got out_channels=6"),
        ({"in_channels": 0}, ValueError, "in_channels must be a positive int, got 0"),
        ({"out_channels": -2}, ValueError, "out_channels must be a positive int, got -2"),
        ({"groups": 0}, ValueError, "groups must be a positive int, got 0"),
        ({"in_channels": 4.0}, TypeError, "in_channels must be a positive int"),
        ({"kernel_size": 0}, ValueError, "kernel_size must be a positive int"),
        ({"stride": (1, 0)}, ValueError, "stride must be a positive int"),
        ({"norm_layer": nn.BatchNorm2d(8)}, TypeError, "norm_layer must be a class or a callable"),
        ({"activation_layer": nn.ReLU()}, TypeError, "activation_layer .* module instance ReLU()"),
    ],
)
def test_invalid_arguments_are_rejected_at_construction(kwargs: dict, error: type, message: str) -> None:
    arguments = {"in_channels": 4, "out_channels": 8, **kwargs}
    with pytest.raises(error, match=message):
        Conv2dNormActivation(**arguments)


def test_device_and_dtype_reach_every_part_including_parametric_activations() -> None:
    block = Conv2dNormActivation(2, 3, activation_layer=nn.PReLU, dtype=torch.float64, device="meta")
    assert {p.dtype for p in block.parameters()} == {torch.float64}
    assert all(t.is_meta for t in [*block.parameters(), *block.buffers()])


def test_conv1d_block_matches_its_parts() -> None:
    block = Conv1dNormActivation(3, 5, 3, stride=2).eval()
    x = torch.randn(2, 3, 9)
    expected = torch.relu(block[1](block[0](x)))
    torch.testing.assert_close(block(x), expected)
    assert block[0].padding == (1,) and isinstance(block[1], nn.BatchNorm1d)


@pytest.mark.parametrize("kernel_size", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("dilation", [1, 2])
def test_transposed_blocks_multiply_the_size_by_the_stride(kernel_size: int, stride: int, dilation: int) -> None:
    block = ConvTranspose2dNormActivation(2, 2, kernel_size, stride, dilation=dilation, norm_layer=None)
    expected = 5 * stride + (1 if stride == 1 and dilation * (kernel_size - 1) % 2 else 0)
    assert block(torch.randn(1, 2, 5, 5)).shape[-2:] == (expected, expected)


def test_transposed_blocks_1d_and_3d_and_their_layout() -> None:
    one = ConvTranspose1dNormActivation(4, 2, 4, 2)
    assert [type(m) for m in one] == [nn.ConvTranspose1d, nn.BatchNorm1d, nn.ReLU]
    assert one(torch.randn(2, 4, 6)).shape == (2, 2, 12)
    three = ConvTranspose3dNormActivation(4, 2, (1, 3, 3), (1, 2, 2), activation_layer=nn.GELU)
    assert [type(m) for m in three] == [nn.ConvTranspose3d, nn.BatchNorm3d, nn.GELU]
    assert three(torch.randn(2, 4, 3, 4, 5)).shape == (2, 2, 3, 8, 10)


def test_transposed_output_padding_explicit_values_and_validation() -> None:
    explicit = ConvTranspose2dNormActivation(2, 2, 3, 2, padding=1)
    assert explicit[0].output_padding == (0, 0)  # explicit padding: torch's default
    chosen = ConvTranspose2dNormActivation(2, 2, 3, 2, padding=1, output_padding=1)
    assert chosen(torch.randn(1, 2, 4, 4)).shape[-2:] == (8, 8)
    with pytest.raises(ValueError, match="output_padding must be smaller than stride or dilation"):
        ConvTranspose2dNormActivation(2, 2, 3, 2, output_padding=2)
    with pytest.raises(ValueError, match="padding must be an int or a tuple of ints for transposed"):
        ConvTranspose2dNormActivation(2, 2, 3, padding="same")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        ConvTranspose2dNormActivation(4, 6, groups=4)


def test_reset_parameters_after_meta_construction_gives_a_fresh_block() -> None:
    block = Conv2dNormActivation(2, 3, device="meta")
    block.to_empty(device="cpu")
    block.reset_parameters()
    torch.testing.assert_close(block[1].running_var, torch.ones(3))
    torch.testing.assert_close(block[1].weight, torch.ones(3))
    assert torch.isfinite(block[0].weight).all() and block[0].weight.abs().sum() > 0


@pytest.mark.parametrize(
    "block, kwargs, message",
    [
        (
            Conv2dNormActivation,
            {"kernel_size": (3, 3, 3)},
            r"kernel_size must be an int or a sequence of 2 ints, got \(3, 3, 3\)",
        ),
        (
            Conv1dNormActivation,
            {"kernel_size": (3, 3)},
            r"kernel_size must be an int or a sequence of 1 ints, got \(3, 3\)",
        ),
        (Conv2dNormActivation, {"kernel_size": (3,)}, r"kernel_size must be an int or a sequence of 2 ints"),
        (Conv2dNormActivation, {"stride": (1, 1, 1)}, r"stride must be an int or a sequence of 2 ints"),
        (Conv2dNormActivation, {"padding": (1, 1, 1)}, r"padding must be an int or a sequence of 2 ints"),
        (Conv3dNormActivation, {"dilation": (1, 1)}, r"dilation must be an int or a sequence of 3 ints"),
    ],
)
def test_tuple_sizes_of_the_wrong_dimensionality_are_rejected_at_construction(
    block: type[nn.Module], kwargs: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        block(4, 8, **kwargs)


@pytest.mark.parametrize(
    "kwargs, out_size",
    [
        ({"padding": (1,)}, 8),
        ({"stride": (2,)}, 4),
        ({"padding": 2, "dilation": (2,)}, 8),
        ({"kernel_size": [3, 3], "stride": (2,)}, 4),
        ({"kernel_size": (3, 5), "padding": "same"}, 8),
    ],
)
def test_call_forms_torchvision_runs_keep_working(kwargs: dict, out_size: int) -> None:
    # torch broadcasts a one-element stride/padding/dilation, so torchvision runs these.
    block = Conv2dNormActivation(4, 8, **kwargs)
    assert block(torch.randn(1, 4, 8, 8)).shape == (1, 8, out_size, out_size)


def test_non_floating_dtype_is_rejected_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match=r"dtype must be a floating-point torch.dtype .* got torch.int32"):
        Conv2dNormActivation(4, 8, dtype=torch.int32)
