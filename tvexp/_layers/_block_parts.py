"""Pieces shared by the residual and inverted-residual blocks: factory keywords, the ResNet convolutions
and shortcut projection, and checks that several blocks apply."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Callable, TypedDict

import torch
from torch import nn

from tvexp._layers.layer_builders import build_layer

__all__ = [
    "CONV_NORM_PAIRS_ATTRIBUTE",
    "Device",
    "Factory",
    "check_downsample",
    "check_odd_kernel_for_residual",
    "conv1x1",
    "conv3x3",
    "projection",
    "reset_children",
    "squeeze_channels",
]

Device = torch.device | str | None

# A block class lists here the (convolution, norm) child names whose norm its forward applies directly
# to that convolution's output, so conv-norm fusion can fold them without knowing the block's type.
CONV_NORM_PAIRS_ATTRIBUTE = "__tvexp_conv_norm_pairs__"


class Factory(TypedDict):
    """The factory keywords a block passes on to every layer it builds (``**factory``)."""

    device: torch.device | str | None
    dtype: torch.dtype | None


def conv3x3(
    in_channels: int,
    out_channels: int,
    stride: int,
    groups: int,
    dilation: int,
    device: torch.device | str | None,
    dtype: torch.dtype | None,
) -> nn.Conv2d:
    return nn.Conv2d(
        in_channels,
        out_channels,
        kernel_size=3,
        stride=stride,
        padding=dilation,
        groups=groups,
        bias=False,
        dilation=dilation,
        device=device,
        dtype=dtype,
    )


def conv1x1(
    in_channels: int, out_channels: int, stride: int, device: torch.device | str | None, dtype: torch.dtype | None
) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False, device=device, dtype=dtype)


def check_downsample(downsample: object) -> None:
    if downsample is not None and not isinstance(downsample, nn.Module):
        raise TypeError(f"downsample must be an nn.Module instance or None, got {downsample!r}")


def projection(
    in_channels: int,
    out_channels: int,
    stride: int,
    norm_layer: Callable[..., nn.Module],
    device: torch.device | str | None,
    dtype: torch.dtype | None,
) -> nn.Sequential:
    """torchvision's shortcut projection; its keys are ``downsample.0`` (conv) and ``downsample.1`` (norm)."""
    return nn.Sequential(
        conv1x1(in_channels, out_channels, stride, device, dtype),
        build_layer(norm_layer, "norm_layer", out_channels, device=device, dtype=dtype),
    )


def squeeze_channels(channels: int, se_ratio: float) -> int:
    return max(1, int(channels * se_ratio))


def reset_each(modules: Iterable[nn.Module]) -> None:
    """Calls ``reset_parameters()`` of each module that has one, in order (the module's own subtree only)."""
    for module in modules:
        reset = getattr(module, "reset_parameters", None)
        if callable(reset):
            reset()


def reset_children(module: nn.Module) -> None:
    for child in module.modules():
        if child is not module and hasattr(child, "reset_parameters"):
            child.reset_parameters()  # type: ignore[operator]


def check_odd_kernel_for_residual(kernel_size: int, stride: int, in_channels: int, out_channels: int) -> None:
    """An even kernel with the automatic padding shrinks the map at stride 1, so the skip addition would fail."""
    if stride == 1 and in_channels == out_channels and kernel_size % 2 == 0:
        raise ValueError(
            f"kernel_size must be odd when the block adds its residual connection (stride=1 and "
            f"in_channels == out_channels), got kernel_size={kernel_size}"
        )
