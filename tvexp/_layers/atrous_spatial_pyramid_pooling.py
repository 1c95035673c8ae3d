"""Atrous Spatial Pyramid Pooling: DeepLabV3's parallel dilated convolutions (Chen et al., arXiv:1706.05587)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Callable

import torch
import torch.fx
import torch.nn.functional as F
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import check_positive_int, check_probability
from tvexp._layers._block_parts import Factory, reset_children
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.conv_norm_activation import Conv2dNormActivation
from tvexp._layers.layer_builders import build_activation, build_layer, check_builder

__all__ = ["ASPP"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_channels_first")


def _check_atrous_rates(atrous_rates: object) -> tuple[int, ...]:
    if isinstance(atrous_rates, (str, bytes)) or not isinstance(atrous_rates, Sequence):
        raise TypeError(
            f"atrous_rates must be a sequence of positive ints (e.g. (12, 24, 36)), got {atrous_rates!r} of type "
            f"{type(atrous_rates).__name__}"
        )
    return tuple(check_positive_int(rate, f"atrous_rates[{index}]") for index, rate in enumerate(atrous_rates))


class _ImagePooling(nn.Sequential):
    """ASPP's image-level branch: global average pool, 1x1 conv-norm-activation, bilinear upsampling.

    An ``nn.Sequential`` so that its keys are torchvision's ``ASPPPooling`` (``1.weight``, ``2.*``).
    """

    def forward(self, x: Tensor) -> Tensor:
        size = x.shape[-2:]
        for module in self:
            x = module(x)
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


@prototype(since="0.2.0")
class ASPP(nn.Module):
    r"""Atrous Spatial Pyramid Pooling: parallel 1x1, dilated 3x3 and image-pooling branches, fused by a 1x1.

    From `Rethinking Atrous Convolution for Semantic Image Segmentation <https://arxiv.org/abs/1706.05587>`_
    (DeepLabV3): the input goes through a 1x1 conv-norm-activation, one 3x3 conv-norm-activation
    per rate in ``atrous_rates`` (dilation and padding equal to the rate) and an image-level branch
    (global average pool, 1x1 conv-norm-activation, bilinear upsampling to the input's size). The
    branches are concatenated and projected by a 1x1 conv-norm-activation followed by dropout.

    Submodule names follow torchvision's ``ASPP``: ``convs`` (``convs.0`` the 1x1 branch,
    ``convs.1`` ... the dilated ones, the last the pooling branch, whose keys are ``convs.N.1.weight``
    and ``convs.N.2.*``) and ``project`` (``project.0`` conv, ``project.1`` norm), so DeepLabV3
    checkpoints load with ``strict=True``.

    Args:
        in_channels: Channels of the input.
        atrous_rates: Dilation of each 3x3 branch (torchvision's DeepLabV3 uses ``(12, 24, 36)``).
        out_channels: Channels of every branch and of the output.
        dropout: Dropout probability after the projection, in training.
        norm_layer: Builds each norm from a channel count. Default: :class:`torch.nn.BatchNorm2d`.
        activation_layer: Builds the activations. Default: :class:`torch.nn.ReLU`.
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, C_{in}, H, W)`
        - Output: :math:`(N, out\_channels, H, W)`

    Example:
        >>> aspp = ASPP(32, (2, 4), out_channels=16)
        >>> aspp(torch.randn(2, 32, 9, 9)).shape
        torch.Size([2, 16, 9, 9])
        >>> len(aspp.convs)
        4
    """

    def __init__(
        self,
        in_channels: int,
        atrous_rates: Sequence[int],
        out_channels: int = 256,
        *,
        dropout: float = 0.5,
        norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d,
        activation_layer: Callable[..., nn.Module] = nn.ReLU,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        in_channels = check_positive_int(in_channels, "in_channels")
        rates = _check_atrous_rates(atrous_rates)
        out_channels = check_positive_int(out_channels, "out_channels")
        dropout = check_probability(dropout, "dropout")
        check_builder(norm_layer, "norm_layer", optional=False)
        check_builder(activation_layer, "activation_layer", optional=False)
        super().__init__()
        factory: Factory = {"device": device, "dtype": dtype}

        def conv_norm_activation(channels: int, kernel_size: int, dilation: int = 1) -> Conv2dNormActivation:
            return Conv2dNormActivation(
                channels,
                out_channels,
                kernel_size,
                dilation=dilation,
                norm_layer=norm_layer,
                activation_layer=activation_layer,
                bias=False,
                **factory,
            )

        self.in_channels = in_channels
        self.out_channels = out_channels
        self.atrous_rates = rates
        branches: list[nn.Module] = [conv_norm_activation(in_channels, 1)]
        branches += [conv_norm_activation(in_channels, 3, rate) for rate in rates]
        branches.append(_ImagePooling(nn.AdaptiveAvgPool2d(1), *conv_norm_activation(in_channels, 1)))
        self.convs = nn.ModuleList(branches)
        self.project = nn.Sequential(
            nn.Conv2d(len(branches) * out_channels, out_channels, 1, bias=False, **factory),
            build_layer(norm_layer, "norm_layer", out_channels, **factory),
            build_activation(activation_layer, "activation_layer", True, **factory),
            nn.Dropout(dropout),
        )

    def reset_parameters(self) -> None:
        """Re-initialises every convolution and norm (PyTorch's default initialisation, as torchvision)."""
        reset_children(self)

    def forward(self, x: Tensor) -> Tensor:
        x = checked_channels_first(x, "ASPP", self.in_channels, 4, False, True)
        branches: list[Tensor] = []
        for branch in self.convs:
            branches.append(branch(x))
        return self.project(torch.cat(branches, dim=1))

    def extra_repr(self) -> str:
        return f"{self.in_channels}, atrous_rates={self.atrous_rates}, out_channels={self.out_channels}"
