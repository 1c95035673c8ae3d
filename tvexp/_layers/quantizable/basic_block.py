"""Quantizable BasicBlock: observable skip addition and ``fuse_model`` for eager-mode quantization."""

from __future__ import annotations

from typing import Callable

import torch
import torch.fx
from torch import Tensor, nn
from torch.ao.nn.quantized import FloatFunctional

from tvexp._api.tiers import prototype
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.basic_block import BasicBlock
from tvexp._layers.quantizable._fusion import (
    check_stateless,
    fusable_run,
    fuse_groups,
    fuse_nested,
    stateless_copy,
    swap_silu,
)
from tvexp._layers.quantizable.squeeze_excitation import make_se_quantizable

__all__ = ["QuantizableBasicBlock", "residual_activation"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_channels_first")


def residual_activation(activation: nn.Module) -> nn.Module | None:
    """The module applied after the skip addition, or ``None`` when ``add_relu`` does it (ReLU).

    Also prepares the block: SiLU becomes :class:`QuantizableSiLU` and SE blocks become quantizable.
    """
    check_stateless(activation, "activation_layer")
    return None if type(activation) is nn.ReLU else stateless_copy(activation)


def prepare_block(block: nn.Module) -> None:
    swap_silu(block)
    make_se_quantizable(block)


@prototype(since="0.1.0")
class QuantizableBasicBlock(BasicBlock):
    """:class:`~tvexp.prototype.BasicBlock` ready for eager-mode quantization, as torchvision's
    ``QuantizableBasicBlock``.

    The skip addition and the ReLU after it go through ``add_relu``, a
    :class:`~torch.ao.nn.quantized.FloatFunctional`, so they can be observed and quantized; with
    another activation the addition goes through ``add_relu.add`` and the activation is a separate
    copy ``activation_after_add``, since a quantized activation module records the range of its own
    call site. The squeeze-excitation (``se_ratio > 0``) is a :class:`QuantizableSqueezeExcitation`;
    :class:`torch.nn.SiLU` is rewritten as ``x * sigmoid(x)``. Same arguments and ``state_dict`` keys
    as the float block, so a float checkpoint loads strictly. The activation must be parameter-free.

    :meth:`fuse_model` fuses ``[conv1, bn1, relu]``, ``[conv2, bn2]`` and ``downsample``'s ``[0, 1]``.

    Example:
        >>> block = QuantizableBasicBlock(16, 16).eval()
        >>> block.fuse_model()
        >>> type(block.conv1).__name__, type(block.conv2).__name__
        ('ConvReLU2d', 'Conv2d')
    """

    def __init__(
        self,
        in_channels: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
        norm_layer: Callable[..., nn.Module] | None = None,
        *,
        activation_layer: Callable[..., nn.Module] = nn.ReLU,
        se_ratio: float = 0.0,
        stochastic_depth_prob: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            in_channels,
            planes,
            stride,
            downsample,
            groups,
            base_width,
            dilation,
            norm_layer,
            activation_layer=activation_layer,
            se_ratio=se_ratio,
            stochastic_depth_prob=stochastic_depth_prob,
            device=device,
            dtype=dtype,
        )
        prepare_block(self)
        self.add_relu = FloatFunctional()
        self.activation_after_add = residual_activation(self.relu)

    def forward(self, x: Tensor) -> Tensor:
        x = checked_channels_first(x, "QuantizableBasicBlock", self.in_channels, 4, False, True)
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.se is not None:
            out = self.se(out)
        out = self.stochastic_depth(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        if self.activation_after_add is None:
            return self.add_relu.add_relu(out, identity)
        return self.activation_after_add(self.add_relu.add(out, identity))

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fuses the conv-bn(-relu) groups in place (``is_qat=None``: QAT fusion in training mode)."""
        first = ["conv1", "bn1", "relu"]
        fuse_groups(
            self,
            [
                first[: fusable_run([self.conv1, self.bn1, self.relu])],
                ["conv2", "bn2"][: fusable_run([self.conv2, self.bn2])],
            ],
            is_qat,
        )
        fuse_nested(self, is_qat)
