"""RegNetBottleneck: the residual bottleneck block of RegNetX and RegNetY (arXiv:2003.13678)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable

import torch
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import check_non_negative, check_positive, check_positive_int
from tvexp._layers._block_parts import Factory, reset_children
from tvexp._layers.conv_norm_activation import Conv2dNormActivation
from tvexp._layers.layer_builders import build_activation, check_builder
from tvexp._layers.squeeze_excitation import SqueezeExcitation

__all__ = ["RegNetBottleneck"]


@prototype(since="0.2.0")
class RegNetBottleneck(nn.Module):
    r"""RegNet's residual bottleneck: 1x1, grouped 3x3 (optional squeeze-excitation), 1x1, plus a shortcut.

    From `Designing Network Design Spaces <https://arxiv.org/abs/2003.13678>`_ (the X block, and
    the Y block when ``se_ratio`` is given): ``activation(shortcut(x) + f(x))`` with
    ``f = c(se(b(a(x))))``. The bottleneck width is ``w_b = round(out_channels * bottleneck_multiplier)``
    and the 3x3 convolution has ``w_b // group_width`` groups. The squeeze-excitation width is
    ``round(se_ratio * in_channels)``: it comes from the block's *input* width, not from ``w_b``
    (the paper's and torchvision's rule). The shortcut is a 1x1 convolution and norm (``proj``)
    when the width or the resolution changes, else the identity.

    Submodule names and positional arguments follow torchvision's ``ResBottleneckBlock``
    (``proj.0/1``, ``f.a``, ``f.b``, ``f.se.fc1/fc2``, ``f.c``, each of ``a``, ``b``, ``c`` a
    :class:`~tvexp.stable.Conv2dNormActivation`), so networks assembled from these blocks load
    torchvision RegNet checkpoints with ``strict=True``, and the class can be passed as
    ``block_type`` to ``torchvision.models.RegNet``.

    Args:
        in_channels: Channels of the input.
        out_channels: Channels of the output.
        stride: Stride of the 3x3 convolution and of the projection shortcut.
        norm_layer: Builds each norm from a channel count. ``None`` means :class:`torch.nn.BatchNorm2d`.
        activation_layer: Builds the activations (``inplace=True`` is passed where accepted); the
            squeeze-excitation's inner activation is built from it without arguments.
        group_width: Channels per group of the 3x3 convolution; at most ``w_b``, and
            ``w_b // group_width`` must divide ``w_b``.
        bottleneck_multiplier: Ratio of the bottleneck width to ``out_channels`` (RegNet uses 1).
        se_ratio: ``None`` or 0 for no squeeze-excitation (RegNetX); a positive ratio of
            ``in_channels`` for its squeeze width (RegNetY uses 0.25).
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, C_{in}, H, W)`
        - Output: :math:`(N, C_{out}, \lceil H / stride \rceil, \lceil W / stride \rceil)`

    Example:
        >>> block = RegNetBottleneck(32, 64, stride=2, group_width=16, se_ratio=0.25)
        >>> block(torch.randn(2, 32, 8, 8)).shape
        torch.Size([2, 64, 4, 4])
        >>> block.f.se.fc1.out_channels  # round(0.25 * in_channels)
        8
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        norm_layer: Callable[..., nn.Module] | None = None,
        activation_layer: Callable[..., nn.Module] = nn.ReLU,
        group_width: int = 1,
        bottleneck_multiplier: float = 1.0,
        se_ratio: float | None = None,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        in_channels = check_positive_int(in_channels, "in_channels")
        out_channels = check_positive_int(out_channels, "out_channels")
        stride = check_positive_int(stride, "stride")
        group_width = check_positive_int(group_width, "group_width")
        bottleneck_multiplier = check_positive(bottleneck_multiplier, "bottleneck_multiplier")
        width = int(round(out_channels * bottleneck_multiplier))
        if width < 1:
            raise ValueError(
                f"round(out_channels * bottleneck_multiplier) must be at least 1, got out_channels={out_channels} "
                f"and bottleneck_multiplier={bottleneck_multiplier}"
            )
        groups = width // group_width
        if groups < 1 or width % groups:
            raise ValueError(
                f"group_width must be at most the bottleneck width round(out_channels * bottleneck_multiplier) = "
                f"{width} and give a group count that divides it, got group_width={group_width} (out_channels="
                f"{out_channels}, bottleneck_multiplier={bottleneck_multiplier})"
            )
        if se_ratio is not None:
            se_ratio = check_non_negative(se_ratio, "se_ratio")
            if se_ratio and int(round(se_ratio * in_channels)) < 1:
                raise ValueError(
                    f"round(se_ratio * in_channels) must be at least 1, got se_ratio={se_ratio} and "
                    f"in_channels={in_channels}"
                )
        check_builder(norm_layer, "norm_layer")
        check_builder(activation_layer, "activation_layer", optional=False)
        super().__init__()
        norm = nn.BatchNorm2d if norm_layer is None else norm_layer
        factory: Factory = {"device": device, "dtype": dtype}
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.groups = groups
        self.proj = (
            Conv2dNormActivation(
                in_channels, out_channels, 1, stride, norm_layer=norm, activation_layer=None, **factory
            )
            if in_channels != out_channels or stride != 1
            else None
        )
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["a"] = Conv2dNormActivation(
            in_channels, width, 1, norm_layer=norm, activation_layer=activation_layer, **factory
        )
        layers["b"] = Conv2dNormActivation(
            width, width, 3, stride, groups=groups, norm_layer=norm, activation_layer=activation_layer, **factory
        )
        if se_ratio:
            layers["se"] = SqueezeExcitation(
                width, int(round(se_ratio * in_channels)), activation=activation_layer, **factory
            )
        layers["c"] = Conv2dNormActivation(width, out_channels, 1, norm_layer=norm, activation_layer=None, **factory)
        self.f = nn.Sequential(layers)
        self.activation = build_activation(activation_layer, "activation_layer", True, **factory)

    def reset_parameters(self) -> None:
        """Re-initialises every submodule that has parameters or buffers (PyTorch's default init)."""
        reset_children(self)

    def forward(self, x: Tensor) -> Tensor:
        if self.proj is not None:
            out = self.proj(x) + self.f(x)
        else:
            out = x + self.f(x)
        return self.activation(out)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, stride={self.stride}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text
