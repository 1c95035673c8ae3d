"""Quantizable ShuffleNetV2Unit: observable concatenation and ``fuse_model`` for eager-mode quantization."""

from __future__ import annotations

from typing import Callable

import torch
import torch.fx
from torch import Tensor, nn
from torch.ao.nn.quantized import FloatFunctional

from tvexp._api.tiers import prototype
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.channel_shuffle import ShuffleNetV2Unit, _channel_shuffle
from tvexp._layers.quantizable._fusion import fuse_sequential

__all__ = ["QuantizableShuffleNetV2Unit"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_channels_first")


@prototype(since="0.2.0")
class QuantizableShuffleNetV2Unit(ShuffleNetV2Unit):
    """:class:`~tvexp.prototype.ShuffleNetV2Unit` ready for eager-mode quantization, as torchvision's
    ``QuantizableInvertedResidual`` of ``quantization.shufflenetv2``.

    The concatenation of the two branches goes through ``cat``, a
    :class:`~torch.ao.nn.quantized.FloatFunctional`, so both inputs share one observed scale; the
    split and the channel shuffle are permutations that quantized tensors support directly. Same
    arguments and ``state_dict`` keys as the float unit, so a float checkpoint loads strictly.

    :meth:`fuse_model` fuses ``branch1``'s ``[0, 1]`` and ``[2, 3, 4]`` and ``branch2``'s ``[0, 1, 2]``,
    ``[3, 4]`` and ``[5, 6, 7]``, the groups torchvision fuses.

    Example:
        >>> from torch.ao.nn.intrinsic import ConvReLU2d
        >>> unit = QuantizableShuffleNetV2Unit(8, 16, stride=2).eval()
        >>> unit.fuse_model()
        >>> type(unit.branch2[0]) is ConvReLU2d, type(unit.branch2[1]).__name__
        (True, 'Identity')
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
        super().__init__(
            in_channels,
            out_channels,
            stride,
            norm_layer=norm_layer,
            activation_layer=activation_layer,
            device=device,
            dtype=dtype,
        )
        self.cat = FloatFunctional()

    def forward(self, x: Tensor) -> Tensor:
        x = checked_channels_first(x, "QuantizableShuffleNetV2Unit", self.in_channels, 4, False, True)
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = self.cat.cat([x1, self.branch2(x2)], 1)
        else:
            out = self.cat.cat([self.branch1(x), self.branch2(x)], 1)
        return _channel_shuffle(out, 2)

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fuses the conv-bn(-relu) runs of both branches in place (``is_qat=None``: follows training mode)."""
        if is_qat is None:
            is_qat = self.training
        fuse_sequential(self.branch1, is_qat)
        fuse_sequential(self.branch2, is_qat)
