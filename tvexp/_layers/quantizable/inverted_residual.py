"""Quantizable InvertedResidual: observable skip addition and ``fuse_model`` for eager-mode quantization."""

from __future__ import annotations

from typing import Callable, Literal

import torch
import torch.fx
from torch import Tensor, nn
from torch.ao.nn.quantized import FloatFunctional

from tvexp._api.tiers import prototype
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.inverted_residual import InvertedResidual
from tvexp._layers.quantizable._fusion import fuse_nested
from tvexp._layers.quantizable.basic_block import prepare_block

__all__ = ["QuantizableInvertedResidual"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_channels_first")


@prototype(since="0.1.0")
class QuantizableInvertedResidual(InvertedResidual):
    """:class:`~tvexp.prototype.InvertedResidual` ready for eager-mode quantization (MobileNetV2/V3, MNASNet).

    The residual addition goes through ``skip_add``, a :class:`~torch.ao.nn.quantized.FloatFunctional`;
    a squeeze-excitation built from :class:`~tvexp.stable.SqueezeExcitation` becomes a
    :class:`QuantizableSqueezeExcitation`; :class:`torch.nn.SiLU` is rewritten as ``x * sigmoid(x)``.
    Same arguments and ``state_dict`` keys as the float block, for all three layouts. Unlike torchvision's
    quantizable MobileNetV2, ReLU6 is kept (torchvision replaces it with ReLU, which changes the
    float function); it is quantized as its own module instead of being fused.

    :meth:`fuse_model` fuses each conv-bn(-ReLU) stage and the SE's ``fc1`` with a ReLU.

    Example:
        >>> import torch
        >>> block = QuantizableInvertedResidual(16, 16, expand_ratio=4, activation_layer=torch.nn.ReLU).eval()
        >>> block.fuse_model()
        >>> [type(stage[0]).__name__ for stage in block.conv[:2]], type(block.conv[2]).__name__
        (['ConvReLU2d', 'ConvReLU2d'], 'Conv2d')
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        expand_ratio: float = 1.0,
        norm_layer: Callable[..., nn.Module] | None = None,
        *,
        expanded_channels: int | None = None,
        kernel_size: int = 3,
        dilation: int = 1,
        activation_layer: Callable[..., nn.Module] = nn.ReLU6,
        se_layer: Callable[..., nn.Module] | None = None,
        squeeze_channels: int | None = None,
        stochastic_depth_prob: float = 0.0,
        layout: Literal["mobilenet_v2", "mobilenet_v3", "mnasnet"] = "mobilenet_v2",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            stride,
            expand_ratio,
            norm_layer,
            expanded_channels=expanded_channels,
            kernel_size=kernel_size,
            dilation=dilation,
            activation_layer=activation_layer,
            se_layer=se_layer,
            squeeze_channels=squeeze_channels,
            stochastic_depth_prob=stochastic_depth_prob,
            layout=layout,
            device=device,
            dtype=dtype,
        )
        prepare_block(self)
        self.skip_add = FloatFunctional()

    def forward(self, x: Tensor) -> Tensor:
        if self.layers is not None:
            x = checked_channels_first(x, "QuantizableInvertedResidual", self.in_channels, 4, False, True)
            result = self.layers(x)
        elif self.conv is not None:
            result = self.conv(x)
        elif self.block is not None:
            result = self.block(x)
        else:
            result = x
        if self.use_res_connect:
            result = self.skip_add.add(self.stochastic_depth(result), x)
        return result

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fuses the conv-bn(-relu) groups in place (``is_qat=None``: QAT fusion in training mode)."""
        fuse_nested(self, is_qat)
