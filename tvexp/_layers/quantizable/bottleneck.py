"""Quantizable Bottleneck: observable skip addition and ``fuse_model`` for eager-mode quantization."""

from __future__ import annotations

from typing import Callable

import torch
import torch.fx
from torch import Tensor, nn
from torch.ao.nn.quantized import FloatFunctional

from tvexp._api.tiers import prototype
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.bottleneck import Bottleneck
from tvexp._layers.quantizable._fusion import fusable_run, fuse_groups, fuse_nested, stateless_copy
from tvexp._layers.quantizable.basic_block import prepare_block, residual_activation

__all__ = ["QuantizableBottleneck"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_channels_first")


@prototype(since="0.1.0")
class QuantizableBottleneck(Bottleneck):
    """:class:`~tvexp.prototype.Bottleneck` ready for eager-mode quantization, as torchvision's
    ``QuantizableBottleneck``.

    The float block calls one ``relu`` three times; here the second call uses its own copy ``relu2``
    (each call site of a quantized activation needs its own module) and the addition with the final
    ReLU goes through ``skip_add_relu``, a :class:`~torch.ao.nn.quantized.FloatFunctional`. Other
    activations get a copy ``activation_after_add``. SE and SiLU are handled as in
    :class:`QuantizableBasicBlock`. Same arguments and ``state_dict`` keys as the float block.

    :meth:`fuse_model` fuses ``[conv1, bn1, relu]``, ``[conv2, bn2, relu2]``, ``[conv3, bn3]`` and
    ``downsample``'s ``[0, 1]``.

    Example:
        >>> block = QuantizableBottleneck(64, 16).eval()
        >>> block.fuse_model()
        >>> [type(block.get_submodule(name)).__name__ for name in ("conv1", "conv2", "conv3")]
        ['ConvReLU2d', 'ConvReLU2d', 'Conv2d']
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
        stride_in_1x1: bool = False,
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
            stride_in_1x1=stride_in_1x1,
            se_ratio=se_ratio,
            stochastic_depth_prob=stochastic_depth_prob,
            device=device,
            dtype=dtype,
        )
        prepare_block(self)
        self.relu2 = stateless_copy(self.relu)
        self.skip_add_relu = FloatFunctional()
        self.activation_after_add = residual_activation(self.relu)

    def forward(self, x: Tensor) -> Tensor:
        x = checked_channels_first(x, "QuantizableBottleneck", self.in_channels, 4, False, True)
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.se is not None:
            out = self.se(out)
        out = self.stochastic_depth(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        if self.activation_after_add is None:
            return self.skip_add_relu.add_relu(out, identity)
        return self.activation_after_add(self.skip_add_relu.add(out, identity))

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fuses the conv-bn(-relu) groups in place (``is_qat=None``: QAT fusion in training mode)."""
        groups = []
        for names in (["conv1", "bn1", "relu"], ["conv2", "bn2", "relu2"], ["conv3", "bn3"]):
            groups.append(names[: fusable_run([self.get_submodule(name) for name in names])])
        fuse_groups(self, groups, is_qat)
        fuse_nested(self, is_qat)
