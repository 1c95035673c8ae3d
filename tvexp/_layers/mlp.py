"""The multi-layer perceptron of vision transformers and classifier heads (Linear -> norm -> activation -> dropout stacks)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable

import torch
import torch.fx
from torch import Tensor, nn

from tvexp._api.tiers import stable
from tvexp._api.validation import (
    check_bool,
    check_optional_bool,
    check_positive_int,
    check_probability,
    is_integer,
)
from tvexp._layers._block_parts import reset_each
from tvexp._layers._input_checks import checked_features
from tvexp._layers.layer_builders import build_activation, build_layer, check_builder

__all__ = ["MLP"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_features")


def check_hidden_channels(hidden_channels: Any) -> list[int]:
    """The hidden widths as a list, or a clear error (shared with the linear blocks)."""
    if isinstance(hidden_channels, (str, bytes)) or not isinstance(hidden_channels, Sequence):
        raise TypeError(
            f"hidden_channels must be a non-empty list of positive ints (one per linear layer), got {hidden_channels!r}"
        )
    if len(hidden_channels) == 0:
        raise ValueError("hidden_channels must be a non-empty list of positive ints (one per linear layer), got []")
    for width in hidden_channels:
        if not is_integer(width):
            raise TypeError(f"hidden_channels must contain positive ints, got {list(hidden_channels)!r}")
        if int(width) <= 0:
            raise ValueError(f"hidden_channels must contain positive ints, got {list(hidden_channels)!r}")
    return [int(width) for width in hidden_channels]


@stable(since="0.1.0")
class MLP(nn.Sequential):
    """A stack of linear layers with a norm, an activation and dropout after every hidden layer.

    The feed-forward block of `An Image is Worth 16x16 Words <https://arxiv.org/abs/2010.11929>`_
    and the Swin/MaxViT heads. For each width in ``hidden_channels[:-1]`` it appends ``Linear``,
    the norm (if any), the activation (if any) and ``Dropout``; the last width gets ``Linear`` and
    ``Dropout`` only. Drop-in compatible with ``torchvision.ops.MLP``: same arguments and children
    (``0``, ``1``, ... in that order), so the ``state_dict`` keys match; a ``Dropout`` is present
    even when ``dropout=0.0``, because the keys depend on the positions.

    Args:
        in_channels: Features of the input (its last dimension).
        hidden_channels: Output width of each linear layer, in order; the last one is the output width.
        norm_layer: Builds the norm after each hidden linear layer as ``norm_layer(width)``;
            ``None`` leaves it out.
        activation_layer: Builds the activation after each hidden norm; ``None`` leaves it out
            (torchvision fails on ``None``).
        inplace: Passed as ``inplace=`` to the activation (when it accepts it) and to the dropout
            layers, unless ``None``.
        bias: Whether the linear layers have a bias.
        dropout: Dropout probability after every linear layer.
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(*, C_{in})`, floating point; another width or dtype raises a ``ValueError``
          (also a ``RuntimeError``, torch's type) naming the expected input.
        - Output: :math:`(*, C_{out})` with :math:`C_{out}` = ``hidden_channels[-1]``.

    Example:
        >>> mlp = MLP(16, [64, 8], activation_layer=torch.nn.GELU, dropout=0.1)
        >>> mlp(torch.randn(2, 5, 16)).shape
        torch.Size([2, 5, 8])
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: list[int],
        norm_layer: Callable[..., nn.Module] | None = None,
        activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
        inplace: bool | None = None,
        bias: bool = True,
        dropout: float = 0.0,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        in_channels = check_positive_int(in_channels, "in_channels")
        widths = check_hidden_channels(hidden_channels)
        check_builder(norm_layer, "norm_layer")
        check_builder(activation_layer, "activation_layer")
        dropout = check_probability(dropout, "dropout")
        inplace = check_optional_bool(inplace, "inplace")
        bias = check_bool(bias, "bias")
        dropout_kwargs = {} if inplace is None else {"inplace": inplace}

        layers: list[nn.Module] = []
        width_in = in_channels
        for width in widths[:-1]:
            layers.append(nn.Linear(width_in, width, bias=bias, device=device, dtype=dtype))
            if norm_layer is not None:
                layers.append(build_layer(norm_layer, "norm_layer", width, device=device, dtype=dtype))
            if activation_layer is not None:
                layers.append(
                    build_activation(activation_layer, "activation_layer", inplace, device=device, dtype=dtype)
                )
            layers.append(nn.Dropout(dropout, **dropout_kwargs))
            width_in = width
        layers.append(nn.Linear(width_in, widths[-1], bias=bias, device=device, dtype=dtype))
        layers.append(nn.Dropout(dropout, **dropout_kwargs))
        super().__init__(*layers)

    def forward(self, input: Tensor) -> Tensor:
        # The first child is the first nn.Linear; its width is the expected number of input features.
        input = checked_features(input, "MLP", self[0].in_features)  # type: ignore[arg-type]
        for module in self:
            input = module(input)
        return input

    def reset_parameters(self) -> None:
        """Re-initialises the linear layers, the norms and any parametric activation."""
        reset_each(self.children())
