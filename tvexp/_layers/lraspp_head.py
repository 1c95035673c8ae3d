"""The Lite R-ASPP segmentation head of MobileNetV3 (Howard et al., arXiv:1905.02244)."""

from __future__ import annotations

from typing import Callable

import torch
import torch.fx
import torch.nn.functional as F
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import InvalidInputError, check_positive_int
from tvexp._layers._block_parts import Factory, reset_children
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.layer_builders import build_activation, build_layer, check_builder

__all__ = ["LRASPPHead"]

# Leaves for torch.fx: the input checks read the traced inputs' shapes.
torch.fx.wrap("checked_channels_first")
torch.fx.wrap("_checked_level")


def _checked_level(features: dict[str, Tensor], key: str) -> Tensor:
    if key not in features:
        raise InvalidInputError(
            f"LRASPPHead expects a dict input with keys 'low' and 'high', got keys {list(features)}"
        )
    return features[key]


@prototype(since="0.2.0")
class LRASPPHead(nn.Module):
    r"""Lite R-ASPP: a gated 1x1 branch on coarse features plus a 1x1 classifier on finer features.

    From `Searching for MobileNetV3 <https://arxiv.org/abs/1905.02244>`_ (section 6.4):

    .. math::
        y = \operatorname{low\_classifier}(L) + \operatorname{high\_classifier}\big(
            \operatorname{up}(\operatorname{cbr}(H) \cdot \operatorname{scale}(H))\big)

    where ``cbr`` is a 1x1 conv-norm-activation, ``scale`` a global average pool, a 1x1 convolution
    and a sigmoid gate, and ``up`` resizes bilinearly to the size of the low-level map :math:`L`.
    Submodule names (``cbr``, ``scale``, ``low_classifier``, ``high_classifier``) and positional
    arguments follow torchvision's ``LRASPPHead``, so LR-ASPP checkpoints load with ``strict=True``.

    Args:
        low_channels: Channels of the low-level (finer) features ``"low"``.
        high_channels: Channels of the high-level (coarser) features ``"high"``.
        num_classes: Channels of the output (one logit per class).
        inter_channels: Channels of the gated branch.
        norm_layer: Builds the norm of ``cbr``. Default: :class:`torch.nn.BatchNorm2d`.
        activation_layer: Builds the activation of ``cbr``. Default: :class:`torch.nn.ReLU`.
        gate_layer: Builds the gate of ``scale``. Default: :class:`torch.nn.Sigmoid`.
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: a dict with ``"low"`` :math:`(N, low\_channels, H_l, W_l)` and ``"high"``
          :math:`(N, high\_channels, H_h, W_h)`.
        - Output: :math:`(N, num\_classes, H_l, W_l)`

    Example:
        >>> head = LRASPPHead(40, 960, num_classes=21, inter_channels=128)
        >>> features = {"low": torch.randn(2, 40, 16, 16), "high": torch.randn(2, 960, 8, 8)}
        >>> head(features).shape
        torch.Size([2, 21, 16, 16])
    """

    def __init__(
        self,
        low_channels: int,
        high_channels: int,
        num_classes: int,
        inter_channels: int,
        *,
        norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d,
        activation_layer: Callable[..., nn.Module] = nn.ReLU,
        gate_layer: Callable[..., nn.Module] = nn.Sigmoid,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        low_channels = check_positive_int(low_channels, "low_channels")
        high_channels = check_positive_int(high_channels, "high_channels")
        num_classes = check_positive_int(num_classes, "num_classes")
        inter_channels = check_positive_int(inter_channels, "inter_channels")
        check_builder(norm_layer, "norm_layer", optional=False)
        check_builder(activation_layer, "activation_layer", optional=False)
        check_builder(gate_layer, "gate_layer", optional=False)
        super().__init__()
        factory: Factory = {"device": device, "dtype": dtype}
        self.low_channels = low_channels
        self.high_channels = high_channels
        self.cbr = nn.Sequential(
            nn.Conv2d(high_channels, inter_channels, 1, bias=False, **factory),
            build_layer(norm_layer, "norm_layer", inter_channels, **factory),
            build_activation(activation_layer, "activation_layer", True, **factory),
        )
        self.scale = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(high_channels, inter_channels, 1, bias=False, **factory),
            build_activation(gate_layer, "gate_layer", None, **factory),
        )
        self.low_classifier = nn.Conv2d(low_channels, num_classes, 1, **factory)
        self.high_classifier = nn.Conv2d(inter_channels, num_classes, 1, **factory)

    def reset_parameters(self) -> None:
        """Re-initialises every convolution and norm (PyTorch's default initialisation, as torchvision)."""
        reset_children(self)

    def forward(self, input: dict[str, Tensor]) -> Tensor:
        low = checked_channels_first(_checked_level(input, "low"), "LRASPPHead", self.low_channels, 4, False, True)
        high = checked_channels_first(_checked_level(input, "high"), "LRASPPHead", self.high_channels, 4, False, True)
        x = self.cbr(high) * self.scale(high)
        x = F.interpolate(x, size=low.shape[-2:], mode="bilinear", align_corners=False)
        return self.low_classifier(low) + self.high_classifier(x)

    def extra_repr(self) -> str:
        return (
            f"{self.low_channels}, {self.high_channels}, num_classes={self.low_classifier.out_channels}, "
            f"inter_channels={self.high_classifier.in_channels}"
        )
