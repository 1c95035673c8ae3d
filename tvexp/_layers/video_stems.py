"""The stems of video ResNets: R3D's 3x7x7 convolution and R(2+1)D's factorised one (Tran et al., arXiv:1711.11248)."""

from __future__ import annotations

from typing import Callable

import torch
import torch.fx
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import check_positive_int
from tvexp._layers._block_parts import reset_each
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.layer_builders import build_activation, build_layer, check_builder

__all__ = ["R2Plus1DStem", "R3DStem"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_channels_first")


class _VideoStem(nn.Sequential):
    """Shared forward (no tier): the input check, then the numbered children in order."""

    def __init__(self, in_channels: int, out_channels: int, *layers: nn.Module) -> None:
        super().__init__(*layers)
        self.in_channels = in_channels
        self.out_channels = out_channels

    def forward(self, input: Tensor) -> Tensor:
        name = "the video stem" if torch.jit.is_scripting() else type(self).__name__
        input = checked_channels_first(input, name, self.in_channels, 5, False, True)
        for module in self:
            input = module(input)
        return input

    def reset_parameters(self) -> None:
        """Re-initialises the convolutions, the norms and any parametric activation."""
        reset_each(self.children())


@prototype(since="0.2.0")
class R3DStem(_VideoStem):
    r"""The stem of R3D and MC3: a 3x7x7 convolution (stride 1x2x2), norm and activation.

    From `A Closer Look at Spatiotemporal Convolutions for Action Recognition
    <https://arxiv.org/abs/1711.11248>`_. The children are numbered as in torchvision's video
    ``BasicStem`` (``0`` the convolution, without bias; ``1`` the norm; ``2`` the activation), so its
    checkpoints load with ``strict=True``; with the defaults it is that stem, which takes no arguments.

    Args:
        in_channels: Channels of the input clip.
        out_channels: Channels of the output.
        norm_layer: Builds the norm from ``out_channels``. ``None`` means :class:`torch.nn.BatchNorm3d`.
        activation_layer: Builds the activation (``inplace=True`` is passed when accepted).
        device: torch.device | str | None of the parameters and buffers.
        dtype: Floating-point type of the parameters and buffers.

    Shape:
        - Input: :math:`(N, C_{in}, D, H, W)`
        - Output: :math:`(N, C_{out}, D, \lfloor (H - 1) / 2 \rfloor + 1, \lfloor (W - 1) / 2 \rfloor + 1)`

    Example:
        >>> stem = R3DStem()
        >>> stem(torch.randn(1, 3, 4, 32, 32)).shape
        torch.Size([1, 64, 4, 16, 16])
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 64,
        *,
        norm_layer: Callable[..., nn.Module] | None = None,
        activation_layer: Callable[..., nn.Module] = nn.ReLU,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        in_channels = check_positive_int(in_channels, "in_channels")
        out_channels = check_positive_int(out_channels, "out_channels")
        check_builder(norm_layer, "norm_layer")
        check_builder(activation_layer, "activation_layer", optional=False)
        norm = nn.BatchNorm3d if norm_layer is None else norm_layer
        super().__init__(
            in_channels,
            out_channels,
            nn.Conv3d(
                in_channels,
                out_channels,
                kernel_size=(3, 7, 7),
                stride=(1, 2, 2),
                padding=(1, 3, 3),
                bias=False,
                device=device,
                dtype=dtype,
            ),
            build_layer(norm, "norm_layer", out_channels, device=device, dtype=dtype),
            build_activation(activation_layer, "activation_layer", True, device=device, dtype=dtype),
        )

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}"


@prototype(since="0.2.0")
class R2Plus1DStem(_VideoStem):
    r"""The stem of R(2+1)D: a 1x7x7 convolution (stride 1x2x2) to ``midplanes``, then a 3x1x1 one.

    From `A Closer Look at Spatiotemporal Convolutions for Action Recognition
    <https://arxiv.org/abs/1711.11248>`_: ``conv, norm, act, conv, norm, act`` numbered ``0`` to ``5``
    as in torchvision's ``R2Plus1dStem`` (convolutions without bias), so its checkpoints load with
    ``strict=True``; with the defaults (``midplanes=45``, torchvision's fixed width) it is that stem.

    Args:
        in_channels: Channels of the input clip.
        out_channels: Channels of the output.
        midplanes: Channels between the spatial and the temporal convolution.
        norm_layer: Builds both norms from a channel count. ``None`` means :class:`torch.nn.BatchNorm3d`.
        activation_layer: Builds both activations (``inplace=True`` is passed when accepted).
        device: torch.device | str | None of the parameters and buffers.
        dtype: Floating-point type of the parameters and buffers.

    Shape:
        - Input: :math:`(N, C_{in}, D, H, W)`
        - Output: :math:`(N, C_{out}, D, \lfloor (H - 1) / 2 \rfloor + 1, \lfloor (W - 1) / 2 \rfloor + 1)`

    Example:
        >>> stem = R2Plus1DStem()
        >>> stem(torch.randn(1, 3, 4, 32, 32)).shape
        torch.Size([1, 64, 4, 16, 16])
        >>> [key for key in stem.state_dict() if key.endswith("weight")]
        ['0.weight', '1.weight', '3.weight', '4.weight']
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 64,
        midplanes: int = 45,
        *,
        norm_layer: Callable[..., nn.Module] | None = None,
        activation_layer: Callable[..., nn.Module] = nn.ReLU,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        in_channels = check_positive_int(in_channels, "in_channels")
        out_channels = check_positive_int(out_channels, "out_channels")
        midplanes = check_positive_int(midplanes, "midplanes")
        check_builder(norm_layer, "norm_layer")
        check_builder(activation_layer, "activation_layer", optional=False)
        norm = nn.BatchNorm3d if norm_layer is None else norm_layer
        super().__init__(
            in_channels,
            out_channels,
            nn.Conv3d(
                in_channels,
                midplanes,
                kernel_size=(1, 7, 7),
                stride=(1, 2, 2),
                padding=(0, 3, 3),
                bias=False,
                device=device,
                dtype=dtype,
            ),
            build_layer(norm, "norm_layer", midplanes, device=device, dtype=dtype),
            build_activation(activation_layer, "activation_layer", True, device=device, dtype=dtype),
            nn.Conv3d(
                midplanes,
                out_channels,
                kernel_size=(3, 1, 1),
                stride=(1, 1, 1),
                padding=(1, 0, 0),
                bias=False,
                device=device,
                dtype=dtype,
            ),
            build_layer(norm, "norm_layer", out_channels, device=device, dtype=dtype),
            build_activation(activation_layer, "activation_layer", True, device=device, dtype=dtype),
        )
        self.midplanes = midplanes

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, midplanes={self.midplanes}"
