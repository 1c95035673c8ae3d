"""Channel shuffle and the ShuffleNetV2 unit (Ma et al., arXiv:1807.11164)."""

from __future__ import annotations

from typing import Callable

import torch
import torch.fx
import torch.nn.functional as F
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import check_positive_int
from tvexp._layers._block_parts import Factory, reset_children
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.layer_builders import build_activation, build_layer, check_builder

__all__ = ["ShuffleNetV2Unit", "channel_shuffle"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_channels_first")


def _channel_shuffle(input: Tensor, groups: int) -> Tensor:
    torch._assert(input.dim() >= 3, "channel_shuffle expects an input of shape (N, C, *), with at least 3 dims")
    torch._assert(input.shape[1] % groups == 0, "channel_shuffle needs the channel count divisible by groups")
    # The native kernel keeps channels_last, works with torch.export, FX and TorchScript, and is
    # exactly torchvision's view -> transpose -> contiguous -> view permutation.
    return F.channel_shuffle(input, groups)


@prototype(since="0.2.0")
def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    r"""Interleaves the channels of ``groups`` equal channel groups (ShuffleNet's channel shuffle).

    Output channel ``j * groups + g`` is input channel ``g * (C / groups) + j``: with two groups,
    ``[a0, a1, b0, b1]`` becomes ``[a0, b0, a1, b1]``. The same permutation as torchvision's
    ``shufflenetv2.channel_shuffle`` (which needs a contiguous 4-d input); this works on any
    ``(N, C, *)`` input and keeps the channels_last memory format.

    Args:
        input: Tensor of shape :math:`(N, C, *)`.
        groups: Number of groups; must divide :math:`C`.

    Shape:
        - Input: :math:`(N, C, *)`
        - Output: the same shape.

    Example:
        >>> from tvexp.prototype.functional import channel_shuffle
        >>> channel_shuffle(torch.arange(4.0).view(1, 4, 1, 1), 2).flatten().tolist()
        [0.0, 2.0, 1.0, 3.0]
    """
    check_positive_int(groups, "groups")
    if input.dim() < 3:
        raise ValueError(f"channel_shuffle expects an input of shape (N, C, *), got shape {tuple(input.shape)}")
    if input.shape[1] % groups:
        raise ValueError(f"groups={groups} must divide the channel count, got input shape {tuple(input.shape)}")
    return _channel_shuffle(input, groups)


def _depthwise(channels: int, stride: int, factory: Factory) -> nn.Conv2d:
    return nn.Conv2d(channels, channels, 3, stride, 1, groups=channels, bias=False, **factory)


@prototype(since="0.2.0")
class ShuffleNetV2Unit(nn.Module):
    r"""ShuffleNetV2's building unit: two branches, concatenated, then a channel shuffle.

    From `ShuffleNet V2 <https://arxiv.org/abs/1807.11164>`_ (Fig. 3c/d). With ``stride == 1`` the
    input is split in two halves: the first passes through unchanged, the second through
    ``branch2`` (1x1, norm, act, depthwise 3x3, norm, 1x1, norm, act). With ``stride > 1`` both
    branches see the whole input: ``branch1`` is depthwise 3x3 (strided), norm, 1x1, norm, act.
    The concatenation is then shuffled with two groups (:func:`~tvexp.prototype.functional.channel_shuffle`).

    Submodule names (``branch1``, an empty Sequential at stride 1, and ``branch2``) and positional
    arguments follow torchvision's ``shufflenetv2.InvertedResidual``, so ShuffleNetV2 checkpoints
    load with ``strict=True``.

    Args:
        in_channels: Channels of the input; must equal ``out_channels`` when ``stride == 1``.
        out_channels: Channels of the output; even (each branch gives half).
        stride: Stride of the depthwise convolutions: 1, 2 or 3 (as torchvision allows).
        norm_layer: Builds each norm from a channel count. ``None`` means :class:`torch.nn.BatchNorm2d`.
        activation_layer: Builds the activations (``inplace=True`` is passed where accepted).
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, C_{in}, H, W)`
        - Output: :math:`(N, C_{out}, \lceil H / stride \rceil, \lceil W / stride \rceil)`

    Example:
        >>> unit = ShuffleNetV2Unit(24, 48, stride=2)
        >>> unit(torch.randn(2, 24, 8, 8)).shape
        torch.Size([2, 48, 4, 4])
        >>> ShuffleNetV2Unit(48, 48)(torch.randn(2, 48, 4, 4)).shape
        torch.Size([2, 48, 4, 4])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        *,
        norm_layer: Callable[..., nn.Module] | None = None,
        activation_layer: Callable[..., nn.Module] = nn.ReLU,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        in_channels = check_positive_int(in_channels, "in_channels")
        out_channels = check_positive_int(out_channels, "out_channels")
        stride = check_positive_int(stride, "stride")
        if stride > 3:
            raise ValueError(f"stride must be 1, 2 or 3, got {stride}")
        if out_channels % 2:
            raise ValueError(f"out_channels must be even (each branch gives half), got {out_channels}")
        if stride == 1 and in_channels != out_channels:
            raise ValueError(
                f"in_channels must equal out_channels when stride == 1 (the input is split in two halves), "
                f"got in_channels={in_channels}, out_channels={out_channels}"
            )
        check_builder(norm_layer, "norm_layer")
        check_builder(activation_layer, "activation_layer", optional=False)
        super().__init__()
        norm = nn.BatchNorm2d if norm_layer is None else norm_layer
        factory: Factory = {"device": device, "dtype": dtype}
        branch = out_channels // 2
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride

        def bn(channels: int) -> nn.Module:
            return build_layer(norm, "norm_layer", channels, **factory)

        def act() -> nn.Module:
            return build_activation(activation_layer, "activation_layer", True, **factory)

        if stride > 1:
            self.branch1 = nn.Sequential(
                _depthwise(in_channels, stride, factory),
                bn(in_channels),
                nn.Conv2d(in_channels, branch, 1, bias=False, **factory),
                bn(branch),
                act(),
            )
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(in_channels if stride > 1 else branch, branch, 1, bias=False, **factory),
            bn(branch),
            act(),
            _depthwise(branch, stride, factory),
            bn(branch),
            nn.Conv2d(branch, branch, 1, bias=False, **factory),
            bn(branch),
            act(),
        )

    def reset_parameters(self) -> None:
        """Re-initialises every submodule that has parameters or buffers (PyTorch's default init)."""
        reset_children(self)

    def forward(self, x: Tensor) -> Tensor:
        # Unbatched inputs are rejected: the split at stride 1 would cut the height instead of the channels.
        x = checked_channels_first(x, "ShuffleNetV2Unit", self.in_channels, 4, False, True)
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return _channel_shuffle(out, 2)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"
