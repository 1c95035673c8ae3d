"""Squeeze-and-Excitation channel gating, from `Squeeze-and-Excitation Networks <https://arxiv.org/abs/1709.01507>`_."""

from __future__ import annotations

from typing import Callable

import torch
import torch.fx
from torch import Tensor, nn
from torch.nn.modules.module import _addindent

from tvexp._api.tiers import stable
from tvexp._api.validation import check_positive_int
from tvexp._layers._block_parts import reset_each
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.layer_builders import build_layer, check_builder

__all__ = ["SqueezeExcitation"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_channels_first")

# The order in which forward applies the children; registration order stays torchvision's
# (avgpool, fc1, fc2, activation, scale_activation) so parameters() and optimizer states line up.
_FORWARD_ORDER = ("avgpool", "fc1", "activation", "fc2", "scale_activation")


@stable(since="0.1.0")
class SqueezeExcitation(nn.Module):
    r"""Rescales each channel by a gate computed from the globally pooled input.

    From `Squeeze-and-Excitation Networks <https://arxiv.org/abs/1709.01507>`_ (Eq. 2-3), as used
    by MobileNetV3 and EfficientNet:

    .. math::
        y = x \cdot \sigma\!\left(W_2\,\delta(W_1\,\bar{x} + b_1) + b_2\right),
        \qquad \bar{x} = \operatorname{mean}_{H,W}(x)

    Drop-in compatible with ``torchvision.ops.SqueezeExcitation`` (same arguments and
    ``state_dict`` keys: ``fc1.weight``, ``fc1.bias``, ``fc2.weight``, ``fc2.bias``). The children
    are, in the order they are applied: ``avgpool``, ``fc1``, ``activation``, ``fc2``,
    ``scale_activation``; the ``repr`` lists them in that order.

    Args:
        input_channels: Channels ``C`` of the input.
        squeeze_channels: Width of the bottleneck :math:`W_1`; often ``input_channels // 4``
            (MobileNetV3) or a fraction of the block's input width (EfficientNet).
        activation: Builds :math:`\delta` (called without arguments). Default: :class:`torch.nn.ReLU`.
        scale_activation: Builds the gate :math:`\sigma` (called without arguments).
            Default: :class:`torch.nn.Sigmoid`.
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, C, H, W)` or :math:`(C, H, W)`
        - Output: the same shape as the input.

    Example:
        >>> se = SqueezeExcitation(64, 16)
        >>> se(torch.randn(2, 64, 8, 8)).shape
        torch.Size([2, 64, 8, 8])
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
        input_channels = check_positive_int(input_channels, "input_channels")
        squeeze_channels = check_positive_int(squeeze_channels, "squeeze_channels")
        check_builder(activation, "activation", optional=False)
        check_builder(scale_activation, "scale_activation", optional=False)
        super().__init__()
        # Pooling through the module (as torchvision does) keeps hooks and replacements working; on
        # CPU, adaptive_avg_pool2d's backward measured slightly faster than a mean's in both formats.
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1, device=device, dtype=dtype)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1, device=device, dtype=dtype)
        self.activation = build_layer(activation, "activation", device=device, dtype=dtype)
        self.scale_activation = build_layer(scale_activation, "scale_activation", device=device, dtype=dtype)

    def _scale(self, input: Tensor) -> Tensor:
        scale = self.avgpool(input)
        scale = self.fc1(scale)
        scale = self.activation(scale)
        scale = self.fc2(scale)
        return self.scale_activation(scale)

    def forward(self, input: Tensor) -> Tensor:
        input = checked_channels_first(input, "SqueezeExcitation", self.fc1.in_channels, 4, True, True)
        scale = self._scale(input)
        return scale * input

    def reset_parameters(self) -> None:
        """Re-initialises ``fc1``, ``fc2`` and any parametric activation."""
        reset_each(self.children())

    def extra_repr(self) -> str:
        return f"input_channels={self.fc1.in_channels}, squeeze_channels={self.fc1.out_channels}"

    def __repr__(self) -> str:
        # nn.Module lists children in registration order, which puts `activation` after `fc2`
        # (pytorch/vision#8209); list them in the order forward applies them instead.
        names = [name for name in _FORWARD_ORDER if name in self._modules]
        names += [name for name in self._modules if name not in names]
        lines = [f"({name}): {_addindent(repr(self._modules[name]), 2)}" for name in names]
        body = "".join(f"\n  {line}" for line in [self.extra_repr(), *lines])
        return f"{self._get_name()}({body}\n)"
