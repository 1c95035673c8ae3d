"""Linear -> normalization -> activation -> dropout: the fully connected sibling of the conv-norm-activation blocks."""

from __future__ import annotations

from typing import Callable

import torch
import torch.fx
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import check_optional_bool, check_positive_int, check_probability
from tvexp._layers._block_parts import reset_each
from tvexp._layers._input_checks import checked_features
from tvexp._layers.layer_builders import build_activation, build_layer, check_builder

__all__ = ["LinearNormActivation"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_features")


@prototype(since="0.1.0")
class LinearNormActivation(nn.Sequential):
    """A linear layer followed by an optional norm, an optional activation and an optional dropout.

    The "LinearDropoutAct" block proposed in pytorch/vision#4333, with the conventions of
    :class:`~tvexp.stable.Conv2dNormActivation`: the parts are an ``nn.Sequential`` numbered in
    order, ``0`` = :class:`torch.nn.Linear`, ``1`` = norm, ``2`` = activation, ``3`` =
    :class:`torch.nn.Dropout` when all are present; a part that is left out is skipped and the
    following indices close up (``LinearNormActivation(8, 4)`` has ``0`` = linear, ``1`` = ReLU).
    Unlike :class:`~tvexp.stable.MLP`, no ``Dropout`` is added when ``dropout=0.0``.

    Args:
        in_channels: Features of the input (its last dimension).
        out_channels: Features of the output.
        norm_layer: Builds the norm as ``norm_layer(out_channels)``; ``None`` leaves it out.
        activation_layer: Builds the activation; ``None`` leaves it out.
        inplace: Passed as ``inplace=`` to the activation when not ``None`` and accepted by it.
        bias: Whether the linear layer has a bias; ``None`` means "only without a norm layer",
            as in the convolution blocks.
        dropout: Dropout probability after the activation; ``0.0`` adds no dropout layer.
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(*, C_{in})`
        - Output: :math:`(*, C_{out})`

    Example:
        >>> block = LinearNormActivation(16, 32, norm_layer=torch.nn.LayerNorm, dropout=0.1)
        >>> [type(m).__name__ for m in block]
        ['Linear', 'LayerNorm', 'ReLU', 'Dropout']
        >>> block(torch.randn(2, 16)).shape
        torch.Size([2, 32])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        norm_layer: Callable[..., nn.Module] | None = None,
        activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
        inplace: bool | None = True,
        bias: bool | None = None,
        dropout: float = 0.0,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        in_channels = check_positive_int(in_channels, "in_channels")
        out_channels = check_positive_int(out_channels, "out_channels")
        check_builder(norm_layer, "norm_layer")
        check_builder(activation_layer, "activation_layer")
        dropout = check_probability(dropout, "dropout")
        inplace = check_optional_bool(inplace, "inplace")
        bias = check_optional_bool(bias, "bias")
        if bias is None:
            bias = norm_layer is None
        layers: list[nn.Module] = [nn.Linear(in_channels, out_channels, bias=bias, device=device, dtype=dtype)]
        if norm_layer is not None:
            layers.append(build_layer(norm_layer, "norm_layer", out_channels, device=device, dtype=dtype))
        if activation_layer is not None:
            layers.append(build_activation(activation_layer, "activation_layer", inplace, device=device, dtype=dtype))
        if dropout > 0.0:
            layers.append(nn.Dropout(dropout))
        super().__init__(*layers)
        self.in_channels = in_channels
        self.out_channels = out_channels

    def forward(self, input: Tensor) -> Tensor:
        input = checked_features(input, "LinearNormActivation", self.in_channels)
        for module in self:
            input = module(input)
        return input

    def reset_parameters(self) -> None:
        """Re-initialises the linear layer, the norm and any parametric activation."""
        reset_each(self.children())
