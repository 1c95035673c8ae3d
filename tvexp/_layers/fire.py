"""Fire: SqueezeNet's squeeze-and-expand module (Iandola et al., arXiv:1602.07360)."""

from __future__ import annotations

from typing import Callable

import torch
import torch.fx
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import check_positive_int
from tvexp._layers._block_parts import Factory, reset_children
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.layer_builders import build_activation, check_builder

__all__ = ["Fire"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_channels_first")


@prototype(since="0.2.0")
class Fire(nn.Module):
    r"""SqueezeNet's Fire module: a 1x1 squeeze, then parallel 1x1 and 3x3 expands, concatenated.

    From `SqueezeNet <https://arxiv.org/abs/1602.07360>`_:
    ``cat(act(expand1x1(s)), act(expand3x3(s)))`` with ``s = act(squeeze(x))``. The convolutions
    have biases and no norm. Submodule names (``squeeze``, ``expand1x1``, ``expand3x3`` and their
    ``*_activation``) and positional arguments follow torchvision's ``Fire``, so SqueezeNet
    checkpoints load with ``strict=True``.

    Args:
        in_channels: Channels of the input.
        squeeze_channels: Channels of the squeeze convolution.
        expand1x1_channels: Channels of the 1x1 expand convolution.
        expand3x3_channels: Channels of the 3x3 expand convolution.
        activation_layer: Builds the three activations (``inplace=True`` is passed where accepted).
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, C_{in}, H, W)`
        - Output: :math:`(N, expand1x1\_channels + expand3x3\_channels, H, W)`

    Example:
        >>> fire = Fire(96, 16, 64, 64)
        >>> fire(torch.randn(2, 96, 13, 13)).shape
        torch.Size([2, 128, 13, 13])
    """

    def __init__(
        self,
        in_channels: int,
        squeeze_channels: int,
        expand1x1_channels: int,
        expand3x3_channels: int,
        *,
        activation_layer: Callable[..., nn.Module] = nn.ReLU,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        in_channels = check_positive_int(in_channels, "in_channels")
        squeeze_channels = check_positive_int(squeeze_channels, "squeeze_channels")
        expand1x1_channels = check_positive_int(expand1x1_channels, "expand1x1_channels")
        expand3x3_channels = check_positive_int(expand3x3_channels, "expand3x3_channels")
        check_builder(activation_layer, "activation_layer", optional=False)
        super().__init__()
        factory: Factory = {"device": device, "dtype": dtype}
        self.in_channels = in_channels
        self.out_channels = expand1x1_channels + expand3x3_channels
        self.squeeze = nn.Conv2d(in_channels, squeeze_channels, kernel_size=1, **factory)
        self.squeeze_activation = build_activation(activation_layer, "activation_layer", True, **factory)
        self.expand1x1 = nn.Conv2d(squeeze_channels, expand1x1_channels, kernel_size=1, **factory)
        self.expand1x1_activation = build_activation(activation_layer, "activation_layer", True, **factory)
        self.expand3x3 = nn.Conv2d(squeeze_channels, expand3x3_channels, kernel_size=3, padding=1, **factory)
        self.expand3x3_activation = build_activation(activation_layer, "activation_layer", True, **factory)

    def reset_parameters(self) -> None:
        """Re-initialises the three convolutions (and any parametric activation)."""
        reset_children(self)

    def forward(self, x: Tensor) -> Tensor:
        # Unbatched inputs are rejected: the concatenation along dimension 1 would join heights, not channels.
        x = checked_channels_first(x, "Fire", self.in_channels, 4, False, True)
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat(
            [self.expand1x1_activation(self.expand1x1(x)), self.expand3x3_activation(self.expand3x3(x))], 1
        )

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, squeeze={self.squeeze.out_channels}, expand1x1={self.expand1x1.out_channels}, "
            f"expand3x3={self.expand3x3.out_channels}"
        )
