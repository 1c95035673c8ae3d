"""Bottleneck: the 1x1-3x3-1x1 residual block of ResNet-50 and deeper, ResNeXt and Wide ResNet (arXiv:1512.03385)."""

from __future__ import annotations

from typing import Callable

import torch
import torch.fx
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import check_bool, check_positive_int, check_probability
from tvexp._layers._block_parts import (
    check_downsample,
    conv1x1,
    conv3x3,
    projection,
    reset_children,
    squeeze_channels,
)
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.layer_builders import build_activation, build_layer, check_builder
from tvexp._layers.squeeze_excitation import SqueezeExcitation
from tvexp._layers.stochastic_depth import StochasticDepth

__all__ = ["Bottleneck"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_channels_first")


@prototype(since="0.1.0")
class Bottleneck(nn.Module):
    r"""ResNet's bottleneck residual block: 1x1 reduce, 3x3, 1x1 expand (by ``expansion = 4``), plus a shortcut.

    From `Deep Residual Learning for Image Recognition <https://arxiv.org/abs/1512.03385>`_, with
    the stride on the 3x3 convolution ("ResNet v1.5", torchvision's choice) unless
    ``stride_in_1x1=True`` (the paper's v1). ``groups`` and ``base_width`` give ResNeXt
    (`arXiv:1611.05431 <https://arxiv.org/abs/1611.05431>`_) and Wide ResNet blocks: the inner
    width is ``int(planes * base_width / 64) * groups``. Submodule names and positional arguments
    follow torchvision's ``Bottleneck``, so networks assembled from these blocks load torchvision
    ResNet-50/101/152, ResNeXt and Wide ResNet checkpoints with ``strict=True``.

    As in :class:`BasicBlock`, a missing ``downsample`` is built (``Sequential(conv1x1, norm)``)
    when the shortcut must change shape, where torchvision fails at the first forward.

    Args:
        in_channels: Channels of the input.
        planes: Base width; the output has ``planes * 4`` channels.
        stride: Stride of the 3x3 convolution (or of the first 1x1 with ``stride_in_1x1``) and of
            the projection shortcut.
        downsample: The shortcut module; ``None`` means identity, or the default projection when
            the shape changes.
        groups: Groups of the 3x3 convolution.
        base_width: Width per group, relative to 64.
        dilation: Dilation (and padding) of the 3x3 convolution.
        norm_layer: Builds each norm from a channel count. ``None`` means :class:`torch.nn.BatchNorm2d`.
        activation_layer: Builds the activation (``inplace=True`` is passed when accepted).
        stride_in_1x1: Put the stride on the first 1x1 convolution (ResNet v1) instead of the 3x3.
        se_ratio: When positive, a :class:`SqueezeExcitation` named ``se`` with
            ``max(1, int(planes * 4 * se_ratio))`` squeeze channels rescales the residual branch
            before the addition. Default 0: no ``se`` (torchvision's layout).
        stochastic_depth_prob: Probability of dropping the residual branch per sample in training.
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, C_{in}, H, W)`
        - Output: :math:`(N, 4 \cdot planes, \lceil H / stride \rceil, \lceil W / stride \rceil)`

    Example:
        >>> block = Bottleneck(64, 16)
        >>> block(torch.randn(2, 64, 8, 8)).shape
        torch.Size([2, 64, 8, 8])
        >>> Bottleneck(64, 32, stride=2, groups=8, base_width=8)(torch.randn(1, 64, 8, 8)).shape
        torch.Size([1, 128, 4, 4])
    """

    expansion: int = 4
    __tvexp_conv_norm_pairs__ = (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3"))

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
        in_channels = check_positive_int(in_channels, "in_channels")
        planes = check_positive_int(planes, "planes")
        stride = check_positive_int(stride, "stride")
        groups = check_positive_int(groups, "groups")
        base_width = check_positive_int(base_width, "base_width")
        dilation = check_positive_int(dilation, "dilation")
        stride_in_1x1 = check_bool(stride_in_1x1, "stride_in_1x1")
        width = int(planes * (base_width / 64.0)) * groups
        if width < groups:
            raise ValueError(
                f"planes * base_width / 64 must be at least 1, got planes={planes} and base_width={base_width}"
            )
        check_downsample(downsample)
        check_builder(norm_layer, "norm_layer")
        check_builder(activation_layer, "activation_layer", optional=False)
        se_ratio = check_probability(se_ratio, "se_ratio")
        stochastic_depth_prob = check_probability(stochastic_depth_prob, "stochastic_depth_prob")
        super().__init__()
        norm = nn.BatchNorm2d if norm_layer is None else norm_layer
        self.in_channels = in_channels
        self.out_channels = planes * self.expansion
        self.stride = stride
        self.groups = groups
        self.dilation = dilation
        self.conv1 = conv1x1(in_channels, width, stride if stride_in_1x1 else 1, device, dtype)
        self.bn1 = build_layer(norm, "norm_layer", width, device=device, dtype=dtype)
        self.conv2 = conv3x3(width, width, 1 if stride_in_1x1 else stride, groups, dilation, device, dtype)
        self.bn2 = build_layer(norm, "norm_layer", width, device=device, dtype=dtype)
        self.conv3 = conv1x1(width, self.out_channels, 1, device, dtype)
        self.bn3 = build_layer(norm, "norm_layer", self.out_channels, device=device, dtype=dtype)
        self.relu = build_activation(activation_layer, "activation_layer", True, device=device, dtype=dtype)
        self.se = (
            SqueezeExcitation(
                self.out_channels, squeeze_channels(self.out_channels, se_ratio), device=device, dtype=dtype
            )
            if se_ratio > 0
            else None
        )
        if downsample is None and (stride != 1 or in_channels != self.out_channels):
            downsample = projection(in_channels, self.out_channels, stride, norm, device, dtype)
        self.downsample = downsample
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    def reset_parameters(self) -> None:
        """Re-initialises every submodule that has parameters or buffers (PyTorch's default init)."""
        reset_children(self)

    def forward(self, x: Tensor) -> Tensor:
        x = checked_channels_first(x, "Bottleneck", self.in_channels, 4, False, True)
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.se is not None:
            out = self.se(out)
        out = self.stochastic_depth(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, stride={self.stride}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.dilation != 1:
            text += f", dilation={self.dilation}"
        return text
