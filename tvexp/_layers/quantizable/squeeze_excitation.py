"""Quantizable SqueezeExcitation: the gate multiplication goes through an observable module."""

from __future__ import annotations

from typing import Callable

import torch
import torch.fx
from torch import Tensor, nn
from torch.ao.nn.quantized import FloatFunctional

from tvexp._api.tiers import prototype
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.quantizable._fusion import fusable_run, fuse_groups
from tvexp._layers.squeeze_excitation import SqueezeExcitation

__all__ = ["QuantizableSqueezeExcitation", "make_se_quantizable"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_channels_first")


@prototype(since="0.1.0")
class QuantizableSqueezeExcitation(SqueezeExcitation):
    """:class:`~tvexp.stable.SqueezeExcitation` whose multiplication can be observed and quantized.

    The gate is applied with ``skip_mul``, a :class:`~torch.ao.nn.quantized.FloatFunctional`, and the
    input is pooled with the ``avgpool`` child (quantized tensors support both). :meth:`fuse_model`
    fuses ``fc1`` with a :class:`~torch.nn.ReLU` ``activation``. Same arguments and ``state_dict``
    keys as the float block. Unlike torchvision's ``QuantizableSqueezeExcitation``, the
    ``scale_activation`` is not forced to ``Hardsigmoid``: ``Sigmoid`` has a quantized kernel too.

    Example:
        >>> se = QuantizableSqueezeExcitation(16, 4)
        >>> se(torch.randn(2, 16, 8, 8)).shape
        torch.Size([2, 16, 8, 8])
    """

    def __init__(
        self,
        input_channels: int,
        squeeze_channels: int,
        activation: Callable[..., nn.Module] = nn.ReLU,
        scale_activation: Callable[..., nn.Module] = nn.Sigmoid,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(input_channels, squeeze_channels, activation, scale_activation, device=device, dtype=dtype)
        self.skip_mul = FloatFunctional()

    def _scale(self, input: Tensor) -> Tensor:
        scale = self.avgpool(input)
        scale = self.fc1(scale)
        scale = self.activation(scale)
        scale = self.fc2(scale)
        return self.scale_activation(scale)

    def forward(self, input: Tensor) -> Tensor:
        # fc2 keeps its channel count through fusion and conversion (fc1 may become a fused module).
        input = checked_channels_first(input, "QuantizableSqueezeExcitation", self.fc2.out_channels, 4, True, True)
        return self.skip_mul.mul(self._scale(input), input)

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fuses ``fc1`` with a ReLU ``activation`` in place (``is_qat=None``: follows ``training``)."""
        if fusable_run([self.fc1, self.activation]) == 2:
            fuse_groups(self, [["fc1", "activation"]], is_qat)


def make_se_quantizable(module: nn.Module) -> None:
    """Turns every plain :class:`SqueezeExcitation` below ``module`` into the quantizable form, in place.

    The float blocks build their SE internally from ``se_layer``; changing the class keeps its
    children, parameters and activations and adds only the parameter-free ``skip_mul``.
    """
    for child in module.modules():
        if type(child) is SqueezeExcitation:
            child.__class__ = QuantizableSqueezeExcitation
            child.skip_mul = FloatFunctional()
