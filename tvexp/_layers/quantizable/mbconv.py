"""Quantizable MBConv and FusedMBConv: observable skip addition, SE multiplication and SiLU."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn
from torch.ao.nn.quantized import FloatFunctional

from tvexp._api.tiers import prototype
from tvexp._layers.mbconv import FusedMBConv, MBConv
from tvexp._layers.quantizable._fusion import fuse_nested
from tvexp._layers.quantizable.basic_block import prepare_block
from tvexp._layers.squeeze_excitation import SqueezeExcitation

__all__ = ["QuantizableFusedMBConv", "QuantizableMBConv"]


@prototype(since="0.1.0")
class QuantizableMBConv(MBConv):
    """:class:`~tvexp.prototype.MBConv` ready for eager-mode quantization (EfficientNet).

    torchvision has no quantizable EfficientNet block: its SiLU has no quantized kernel. Here every
    :class:`torch.nn.SiLU` is rewritten as ``x * sigmoid(x)`` with an observable multiplication
    (:class:`QuantizableSiLU`, exact in float), the squeeze-excitation becomes a
    :class:`QuantizableSqueezeExcitation` and the residual addition goes through ``skip_add``.
    Same arguments and ``state_dict`` keys as the float block.

    Example:
        >>> block = QuantizableMBConv(16, 16, expand_ratio=4, kernel_size=3, stride=1).eval()
        >>> block.fuse_model()
        >>> type(block.block[0][0]).__name__, type(block.block[0][2]).__name__
        ('Conv2d', 'QuantizableSiLU')
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        expand_ratio: float = 6.0,
        kernel_size: int = 3,
        stride: int = 1,
        se_ratio: float = 0.25,
        stochastic_depth_prob: float = 0.0,
        norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d,
        activation_layer: Callable[..., nn.Module] = nn.SiLU,
        se_layer: Callable[..., nn.Module] = SqueezeExcitation,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            expand_ratio=expand_ratio,
            kernel_size=kernel_size,
            stride=stride,
            se_ratio=se_ratio,
            stochastic_depth_prob=stochastic_depth_prob,
            norm_layer=norm_layer,
            activation_layer=activation_layer,
            se_layer=se_layer,
            device=device,
            dtype=dtype,
        )
        prepare_block(self)
        self.skip_add = FloatFunctional()

    def forward(self, x: Tensor) -> Tensor:
        result = self.block(x)
        if self.use_res_connect:
            result = self.skip_add.add(self.stochastic_depth(result), x)
        return result

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Folds each BatchNorm into its convolution in place (``is_qat=None``: follows ``training``)."""
        fuse_nested(self, is_qat)


@prototype(since="0.1.0")
class QuantizableFusedMBConv(FusedMBConv):
    """:class:`~tvexp.prototype.FusedMBConv` ready for eager-mode quantization (EfficientNetV2).

    As :class:`QuantizableMBConv`: SiLU rewritten with an observable multiplication, residual
    addition through ``skip_add``. Same arguments and ``state_dict`` keys as the float block.

    Example:
        >>> import torch
        >>> block = QuantizableFusedMBConv(16, 16, expand_ratio=4, kernel_size=3, stride=1)
        >>> block(torch.randn(2, 16, 8, 8)).shape
        torch.Size([2, 16, 8, 8])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        expand_ratio: float = 4.0,
        kernel_size: int = 3,
        stride: int = 1,
        stochastic_depth_prob: float = 0.0,
        norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d,
        activation_layer: Callable[..., nn.Module] = nn.SiLU,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            expand_ratio=expand_ratio,
            kernel_size=kernel_size,
            stride=stride,
            stochastic_depth_prob=stochastic_depth_prob,
            norm_layer=norm_layer,
            activation_layer=activation_layer,
            device=device,
            dtype=dtype,
        )
        prepare_block(self)
        self.skip_add = FloatFunctional()

    def forward(self, x: Tensor) -> Tensor:
        result = self.block(x)
        if self.use_res_connect:
            result = self.skip_add.add(self.stochastic_depth(result), x)
        return result

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Folds each BatchNorm into its convolution in place (``is_qat=None``: follows ``training``)."""
        fuse_nested(self, is_qat)
