"""The spatio-temporal convolutions of video ResNets: full 3-D, spatial-only and (2+1)-D (Tran et al.,
arXiv:1711.11248).

Each class is a *convolution builder*: the video residual blocks call it as
``builder(in_channels, out_channels, midplanes, stride)`` and ask its ``get_downsample_stride(stride)``
for the stride of the shortcut projection, as torchvision's ``VideoResNet`` does, so the classes can be
passed to torchvision's video blocks and ours alike.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.fx
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import check_non_negative_int, check_positive_int
from tvexp._layers._block_parts import reset_each
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.layer_builders import build_activation, build_layer, check_builder

__all__ = ["Conv2Plus1D", "Conv3DNoTemporal", "Conv3DSimple", "check_midplanes", "parameter_matched_midplanes"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_channels_first")


def parameter_matched_midplanes(in_channels: int, out_channels: int) -> int:
    """The width of a (2+1)-D convolution with as many parameters as a 3x3x3 one (torchvision's formula)."""
    return (in_channels * out_channels * 3 * 3 * 3) // (in_channels * 3 * 3 + 3 * out_channels)


def check_midplanes(midplanes: object) -> int | None:
    """``midplanes`` as a positive ``int``, or ``None`` (what the convolution builders accept)."""
    return None if midplanes is None else check_positive_int(midplanes, "midplanes")


@prototype(since="0.2.0")
class Conv3DSimple(nn.Conv3d):
    r"""A full 3x3x3 convolution without bias: R3D's convolution builder.

    From `A Closer Look at Spatiotemporal Convolutions for Action Recognition
    <https://arxiv.org/abs/1711.11248>`_. The same layer as torchvision's ``Conv3DSimple`` (an
    :class:`torch.nn.Conv3d`, ``state_dict`` key ``weight``), with the same positional arguments, so
    it can be passed as ``conv_builder`` to :class:`VideoBasicBlock` or to torchvision's video blocks.

    Args:
        in_channels: Channels of the input.
        out_channels: Channels of the output.
        midplanes: Ignored (``None`` or a positive int): the builders' common signature passes it.
        stride: Stride in time, height and width.
        padding: Zero padding in time, height and width.
        device: torch.device | str | None of the weight.
        dtype: Floating-point type of the weight.

    Shape:
        - Input: :math:`(N, C_{in}, D, H, W)`
        - Output: :math:`(N, C_{out}, D_{out}, H_{out}, W_{out})`, each size
          :math:`\lfloor (S + 2 \cdot padding - 3) / stride \rfloor + 1`.

    Example:
        >>> conv = Conv3DSimple(3, 8, stride=2)
        >>> conv(torch.randn(1, 3, 4, 8, 8)).shape
        torch.Size([1, 8, 2, 4, 4])
        >>> Conv3DSimple.get_downsample_stride(2)
        (2, 2, 2)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        midplanes: int | None = None,
        stride: int = 1,
        padding: int = 1,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        in_channels = check_positive_int(in_channels, "in_channels")
        out_channels = check_positive_int(out_channels, "out_channels")
        check_midplanes(midplanes)
        stride = check_positive_int(stride, "stride")
        padding = check_non_negative_int(padding, "padding")
        super().__init__(
            in_channels,
            out_channels,
            kernel_size=(3, 3, 3),
            stride=stride,
            padding=padding,
            bias=False,
            device=device,
            dtype=dtype,
        )

    @staticmethod
    def get_downsample_stride(stride: int) -> tuple[int, int, int]:
        """The stride of a shortcut projection beside this convolution: ``stride`` in every dimension."""
        return stride, stride, stride

    def forward(self, input: Tensor) -> Tensor:
        input = checked_channels_first(input, "Conv3DSimple", self.in_channels, 5, False, True)
        return self._conv_forward(input, self.weight, self.bias)


@prototype(since="0.2.0")
class Conv3DNoTemporal(nn.Conv3d):
    r"""A 1x3x3 convolution without bias, which mixes no frames: MC3's convolution builder.

    From `A Closer Look at Spatiotemporal Convolutions for Action Recognition
    <https://arxiv.org/abs/1711.11248>`_ (mixed convolutions: 3-D in the first stage, 2-D in time
    slices after it). The same layer as torchvision's ``Conv3DNoTemporal``: ``stride`` and
    ``padding`` apply to height and width only, and :meth:`get_downsample_stride` keeps time.

    Args:
        in_channels: Channels of the input.
        out_channels: Channels of the output.
        midplanes: Ignored (``None`` or a positive int): the builders' common signature passes it.
        stride: Stride in height and width (time keeps stride 1).
        padding: Zero padding in height and width (time has none).
        device: torch.device | str | None of the weight.
        dtype: Floating-point type of the weight.

    Shape:
        - Input: :math:`(N, C_{in}, D, H, W)`
        - Output: :math:`(N, C_{out}, D, H_{out}, W_{out})`, each spatial size
          :math:`\lfloor (S + 2 \cdot padding - 3) / stride \rfloor + 1`.

    Example:
        >>> conv = Conv3DNoTemporal(3, 8, stride=2)
        >>> conv(torch.randn(1, 3, 4, 8, 8)).shape
        torch.Size([1, 8, 4, 4, 4])
        >>> Conv3DNoTemporal.get_downsample_stride(2)
        (1, 2, 2)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        midplanes: int | None = None,
        stride: int = 1,
        padding: int = 1,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        in_channels = check_positive_int(in_channels, "in_channels")
        out_channels = check_positive_int(out_channels, "out_channels")
        check_midplanes(midplanes)
        stride = check_positive_int(stride, "stride")
        padding = check_non_negative_int(padding, "padding")
        super().__init__(
            in_channels,
            out_channels,
            kernel_size=(1, 3, 3),
            stride=(1, stride, stride),
            padding=(0, padding, padding),
            bias=False,
            device=device,
            dtype=dtype,
        )

    @staticmethod
    def get_downsample_stride(stride: int) -> tuple[int, int, int]:
        """The stride of a shortcut projection beside this convolution: ``(1, stride, stride)``."""
        return 1, stride, stride

    def forward(self, input: Tensor) -> Tensor:
        input = checked_channels_first(input, "Conv3DNoTemporal", self.in_channels, 5, False, True)
        return self._conv_forward(input, self.weight, self.bias)


@prototype(since="0.2.0")
class Conv2Plus1D(nn.Sequential):
    r"""A (2+1)-D convolution: spatial 1x3x3, norm, activation, then temporal 3x1x1 (R(2+1)D's builder).

    From `A Closer Look at Spatiotemporal Convolutions for Action Recognition
    <https://arxiv.org/abs/1711.11248>`_: a 3x3x3 convolution factorised into a spatial and a
    temporal one with ``midplanes`` channels between them, which adds a nonlinearity at the same
    parameter count when ``midplanes`` is
    ``(in_channels * out_channels * 27) // (in_channels * 9 + 3 * out_channels)`` (the default). The
    children are numbered as in torchvision's ``Conv2Plus1D``: ``0`` the spatial convolution, ``1``
    the norm, ``2`` the activation, ``3`` the temporal convolution, so its checkpoints load with
    ``strict=True``. Note that torchvision's video blocks pass a ``midplanes`` computed from the
    *block's* channels, also for their second convolution.

    Args:
        in_channels: Channels of the input.
        out_channels: Channels of the output.
        midplanes: Channels between the two convolutions; ``None`` means the parameter-matched width above.
        stride: Stride of the spatial convolution in height and width and of the temporal one in time.
        padding: Zero padding of the spatial convolution in height and width and of the temporal one in time.
        norm_layer: Builds the norm from ``midplanes``. ``None`` means :class:`torch.nn.BatchNorm3d`.
        activation_layer: Builds the activation (``inplace=True`` is passed when accepted).
        device: torch.device | str | None of the parameters and buffers.
        dtype: Floating-point type of the parameters and buffers.

    Shape:
        - Input: :math:`(N, C_{in}, D, H, W)`
        - Output: :math:`(N, C_{out}, D_{out}, H_{out}, W_{out})`, each size
          :math:`\lfloor (S + 2 \cdot padding - 3) / stride \rfloor + 1`.

    Example:
        >>> conv = Conv2Plus1D(16, 16, stride=2)
        >>> conv.midplanes
        36
        >>> conv(torch.randn(1, 16, 4, 8, 8)).shape
        torch.Size([1, 16, 2, 4, 4])
        >>> [key for key in conv.state_dict() if key.endswith("weight")]
        ['0.weight', '1.weight', '3.weight']
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        midplanes: int | None = None,
        stride: int = 1,
        padding: int = 1,
        *,
        norm_layer: Callable[..., nn.Module] | None = None,
        activation_layer: Callable[..., nn.Module] = nn.ReLU,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        in_channels = check_positive_int(in_channels, "in_channels")
        out_channels = check_positive_int(out_channels, "out_channels")
        checked_midplanes = check_midplanes(midplanes)
        stride = check_positive_int(stride, "stride")
        padding = check_non_negative_int(padding, "padding")
        check_builder(norm_layer, "norm_layer")
        check_builder(activation_layer, "activation_layer", optional=False)
        if checked_midplanes is None:
            checked_midplanes = parameter_matched_midplanes(in_channels, out_channels)
        norm = nn.BatchNorm3d if norm_layer is None else norm_layer
        super().__init__(
            nn.Conv3d(
                in_channels,
                checked_midplanes,
                kernel_size=(1, 3, 3),
                stride=(1, stride, stride),
                padding=(0, padding, padding),
                bias=False,
                device=device,
                dtype=dtype,
            ),
            build_layer(norm, "norm_layer", checked_midplanes, device=device, dtype=dtype),
            build_activation(activation_layer, "activation_layer", True, device=device, dtype=dtype),
            nn.Conv3d(
                checked_midplanes,
                out_channels,
                kernel_size=(3, 1, 1),
                stride=(stride, 1, 1),
                padding=(padding, 0, 0),
                bias=False,
                device=device,
                dtype=dtype,
            ),
        )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.midplanes = checked_midplanes
        self.stride = stride

    @staticmethod
    def get_downsample_stride(stride: int) -> tuple[int, int, int]:
        """The stride of a shortcut projection beside this convolution: ``stride`` in every dimension."""
        return stride, stride, stride

    def forward(self, input: Tensor) -> Tensor:
        input = checked_channels_first(input, "Conv2Plus1D", self.in_channels, 5, False, True)
        for module in self:
            input = module(input)
        return input

    def reset_parameters(self) -> None:
        """Re-initialises both convolutions, the norm and a parametric activation."""
        reset_each(self.children())

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, midplanes={self.midplanes}, stride={self.stride}"
