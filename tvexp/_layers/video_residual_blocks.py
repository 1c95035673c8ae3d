"""The residual blocks of video ResNets (R3D, MC3, R(2+1)D; Tran et al., arXiv:1711.11248), built around a
convolution builder."""

from __future__ import annotations

import functools
from typing import Any, Callable

import torch
import torch.fx
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import check_positive_int
from tvexp._layers._block_parts import Factory, check_downsample, reset_children
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.layer_builders import build_activation, build_layer, check_builder
from tvexp._layers.video_convolutions import parameter_matched_midplanes

__all__ = ["VideoBasicBlock", "VideoBottleneck"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_channels_first")


def _downsample_stride(conv_builder: Callable[..., nn.Module], stride: int) -> tuple[int, int, int]:
    """The shortcut's stride, from the builder's ``get_downsample_stride`` (looked up through partials)."""
    if stride == 1:
        return 1, 1, 1
    target: Any = conv_builder
    while isinstance(target, functools.partial) and not hasattr(target, "get_downsample_stride"):
        target = target.func
    get_stride = getattr(target, "get_downsample_stride", None)
    if not callable(get_stride):
        raise TypeError(
            f"conv_builder must define get_downsample_stride(stride) to build the shortcut projection of a "
            f"block with stride={stride}, got {conv_builder!r}; pass downsample= explicitly or use Conv3DSimple, "
            "Conv3DNoTemporal or Conv2Plus1D"
        )
    return tuple(get_stride(stride))


def _projection(
    in_channels: int,
    out_channels: int,
    stride: tuple[int, int, int],
    norm_layer: Callable[..., nn.Module],
    factory: Factory,
) -> nn.Sequential:
    """torchvision's video shortcut: ``downsample.0`` a 1x1x1 convolution, ``downsample.1`` the norm."""
    return nn.Sequential(
        nn.Conv3d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False, **factory),
        build_layer(norm_layer, "norm_layer", out_channels, **factory),
    )


def _check_arguments(
    in_channels: Any,
    planes: Any,
    conv_builder: Any,
    stride: Any,
    downsample: Any,
    norm_layer: Any,
    activation_layer: Any,
) -> tuple[int, int, int]:
    in_channels = check_positive_int(in_channels, "in_channels")
    planes = check_positive_int(planes, "planes")
    check_builder(conv_builder, "conv_builder", optional=False)
    stride = check_positive_int(stride, "stride")
    check_downsample(downsample)
    check_builder(norm_layer, "norm_layer")
    check_builder(activation_layer, "activation_layer", optional=False)
    return in_channels, planes, stride


@prototype(since="0.2.0")
class VideoBasicBlock(nn.Module):
    r"""The two-convolution residual block of video ResNets, around a convolution builder.

    From `A Closer Look at Spatiotemporal Convolutions for Action Recognition
    <https://arxiv.org/abs/1711.11248>`_: ``relu(conv2(conv1(x)) + shortcut(x))`` where ``conv1`` is
    ``Sequential(builder, norm, activation)`` and ``conv2`` is ``Sequential(builder, norm)``. The
    builder decides the network: :class:`Conv3DSimple` (R3D), :class:`Conv3DNoTemporal` (MC3's later
    stages) or :class:`Conv2Plus1D` (R(2+1)D). Both builder calls get torchvision's
    ``midplanes = (in_channels * planes * 27) // (in_channels * 9 + 3 * planes)``. Submodule names
    (``conv1.0``, ``conv1.1``, ``conv2.0``, ``conv2.1``, ``downsample``) and the positional
    arguments follow torchvision's video ``BasicBlock``, so networks assembled from these blocks load
    torchvision's ``r3d_18``, ``mc3_18`` and ``r2plus1d_18`` checkpoints with ``strict=True``, and
    the class can be passed as ``block`` to ``torchvision.models.video.VideoResNet``.

    This is a separate class from the image :class:`BasicBlock`: the builder is its third positional
    argument, where the image block has its stride. Difference from torchvision: when
    ``downsample`` is ``None`` but the shortcut must change shape (``stride != 1`` or
    ``in_channels != planes``), torchvision's projection ``Sequential(Conv3d 1x1x1, norm)`` is built,
    with the stride ``conv_builder.get_downsample_stride(stride)``, where torchvision fails at the
    first forward.

    Args:
        in_channels: Channels of the input.
        planes: Channels of both convolutions and of the output (``expansion`` is 1).
        conv_builder: Builds each convolution as ``conv_builder(in, out, midplanes, stride)``; a
            class such as :class:`Conv3DSimple` or a ``functools.partial`` of one.
        stride: Stride of the first convolution (the builder decides in which dimensions).
        downsample: The shortcut module; ``None`` means identity, or the default projection when
            the shape changes.
        norm_layer: Builds each norm from a channel count. ``None`` means :class:`torch.nn.BatchNorm3d`.
        activation_layer: Builds the activations (``inplace=True`` is passed when accepted).
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, C_{in}, D, H, W)`
        - Output: :math:`(N, planes, D_{out}, H_{out}, W_{out})`, as the convolution builder strides.

    Example:
        >>> from tvexp.prototype import Conv2Plus1D
        >>> block = VideoBasicBlock(8, 16, Conv2Plus1D, stride=2)
        >>> block(torch.randn(1, 8, 4, 8, 8)).shape
        torch.Size([1, 16, 2, 4, 4])
        >>> sorted({key.rsplit(".", 1)[0] for key in block.state_dict()})[:4]
        ['conv1.0.0', 'conv1.0.1', 'conv1.0.3', 'conv1.1']
    """

    expansion: int = 1

    def __init__(
        self,
        in_channels: int,
        planes: int,
        conv_builder: Callable[..., nn.Module],
        stride: int = 1,
        downsample: nn.Module | None = None,
        *,
        norm_layer: Callable[..., nn.Module] | None = None,
        activation_layer: Callable[..., nn.Module] = nn.ReLU,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        in_channels, planes, stride = _check_arguments(
            in_channels, planes, conv_builder, stride, downsample, norm_layer, activation_layer
        )
        norm = nn.BatchNorm3d if norm_layer is None else norm_layer
        project = downsample is None and (stride != 1 or in_channels != planes * self.expansion)
        shortcut_stride = _downsample_stride(conv_builder, stride) if project else (1, 1, 1)
        super().__init__()
        factory: Factory = {"device": device, "dtype": dtype}
        midplanes = parameter_matched_midplanes(in_channels, planes)
        self.in_channels = in_channels
        self.out_channels = planes * self.expansion
        self.stride = stride
        self.conv1 = nn.Sequential(
            build_layer(conv_builder, "conv_builder", in_channels, planes, midplanes, stride, **factory),
            build_layer(norm, "norm_layer", planes, **factory),
            build_activation(activation_layer, "activation_layer", True, **factory),
        )
        self.conv2 = nn.Sequential(
            build_layer(conv_builder, "conv_builder", planes, planes, midplanes, **factory),
            build_layer(norm, "norm_layer", planes, **factory),
        )
        self.relu = build_activation(activation_layer, "activation_layer", True, **factory)
        if project:
            downsample = _projection(in_channels, self.out_channels, shortcut_stride, norm, factory)
        self.downsample = downsample

    def reset_parameters(self) -> None:
        """Re-initialises every submodule that has parameters or buffers (PyTorch's default init)."""
        reset_children(self)

    def forward(self, x: Tensor) -> Tensor:
        x = checked_channels_first(x, "VideoBasicBlock", self.in_channels, 5, False, True)
        identity = x
        out = self.conv2(self.conv1(x))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"


@prototype(since="0.2.0")
class VideoBottleneck(nn.Module):
    r"""The 1x1x1-builder-1x1x1 residual block of video ResNets (``expansion = 4``).

    The bottleneck form of :class:`VideoBasicBlock`: ``conv1`` reduces to ``planes`` channels with a
    1x1x1 convolution, ``conv2`` is the builder's convolution (with the stride and torchvision's
    ``midplanes = (in_channels * planes * 27) // (in_channels * 9 + 3 * planes)``), ``conv3`` expands
    to ``4 * planes`` with a 1x1x1 convolution, each followed by a norm (and, but for ``conv3``, an
    activation). Submodule names follow torchvision's video ``Bottleneck`` (``conv1.0`` ...
    ``conv3.1``, ``downsample``), so its checkpoints load with ``strict=True``; as in
    :class:`VideoBasicBlock`, a missing ``downsample`` is built when the shortcut changes shape.

    Args:
        in_channels: Channels of the input.
        planes: Base width; the output has ``planes * 4`` channels.
        conv_builder: Builds the middle convolution as ``conv_builder(planes, planes, midplanes, stride)``.
        stride: Stride of the middle convolution (the builder decides in which dimensions).
        downsample: The shortcut module; ``None`` means identity, or the default projection when
            the shape changes.
        norm_layer: Builds each norm from a channel count. ``None`` means :class:`torch.nn.BatchNorm3d`.
        activation_layer: Builds the activations (``inplace=True`` is passed when accepted).
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, C_{in}, D, H, W)`
        - Output: :math:`(N, 4 \cdot planes, D_{out}, H_{out}, W_{out})`, as the convolution builder strides.

    Example:
        >>> from tvexp.prototype import Conv3DNoTemporal
        >>> block = VideoBottleneck(16, 8, Conv3DNoTemporal, stride=2)
        >>> block(torch.randn(1, 16, 4, 8, 8)).shape
        torch.Size([1, 32, 4, 4, 4])
        >>> block.downsample[0].stride
        (1, 2, 2)
    """

    expansion: int = 4

    def __init__(
        self,
        in_channels: int,
        planes: int,
        conv_builder: Callable[..., nn.Module],
        stride: int = 1,
        downsample: nn.Module | None = None,
        *,
        norm_layer: Callable[..., nn.Module] | None = None,
        activation_layer: Callable[..., nn.Module] = nn.ReLU,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        in_channels, planes, stride = _check_arguments(
            in_channels, planes, conv_builder, stride, downsample, norm_layer, activation_layer
        )
        norm = nn.BatchNorm3d if norm_layer is None else norm_layer
        project = downsample is None and (stride != 1 or in_channels != planes * self.expansion)
        shortcut_stride = _downsample_stride(conv_builder, stride) if project else (1, 1, 1)
        super().__init__()
        factory: Factory = {"device": device, "dtype": dtype}
        midplanes = parameter_matched_midplanes(in_channels, planes)
        self.in_channels = in_channels
        self.out_channels = planes * self.expansion
        self.stride = stride
        self.conv1 = nn.Sequential(
            nn.Conv3d(in_channels, planes, kernel_size=1, bias=False, **factory),
            build_layer(norm, "norm_layer", planes, **factory),
            build_activation(activation_layer, "activation_layer", True, **factory),
        )
        self.conv2 = nn.Sequential(
            build_layer(conv_builder, "conv_builder", planes, planes, midplanes, stride, **factory),
            build_layer(norm, "norm_layer", planes, **factory),
            build_activation(activation_layer, "activation_layer", True, **factory),
        )
        self.conv3 = nn.Sequential(
            nn.Conv3d(planes, self.out_channels, kernel_size=1, bias=False, **factory),
            build_layer(norm, "norm_layer", self.out_channels, **factory),
        )
        self.relu = build_activation(activation_layer, "activation_layer", True, **factory)
        if project:
            downsample = _projection(in_channels, self.out_channels, shortcut_stride, norm, factory)
        self.downsample = downsample

    def reset_parameters(self) -> None:
        """Re-initialises every submodule that has parameters or buffers (PyTorch's default init)."""
        reset_children(self)

    def forward(self, x: Tensor) -> Tensor:
        x = checked_channels_first(x, "VideoBottleneck", self.in_channels, 5, False, True)
        identity = x
        out = self.conv3(self.conv2(self.conv1(x)))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"
