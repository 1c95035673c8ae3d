"""PreNormMBConv: MaxViT's mobile inverted bottleneck, with a norm before the expansion and a projected shortcut."""

from __future__ import annotations

from collections import OrderedDict
from functools import partial
from typing import Callable

import torch
import torch.fx
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import InvalidInputError, check_positive, check_positive_int, check_probability
from tvexp._layers._block_parts import Factory, reset_children
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.conv_norm_activation import Conv2dNormActivation
from tvexp._layers.layer_builders import build_layer, check_builder
from tvexp._layers.squeeze_excitation import SqueezeExcitation
from tvexp._layers.stochastic_depth import StochasticDepth

__all__ = ["PreNormMBConv", "checked_mbconv_input"]


def checked_mbconv_input(input: Tensor, in_channels: int, stride: int) -> Tensor:
    """``input`` if it is ``(N, in_channels, H, W)``, floating point, and (at stride 2, where the shortcut
    average-pools) not empty in ``H`` or ``W``."""
    input = checked_channels_first(input, "PreNormMBConv", in_channels, 4, False, True)
    if stride == 2 and (input.shape[2] == 0 or input.shape[3] == 0):
        raise InvalidInputError(
            f"PreNormMBConv with stride 2 average-pools its shortcut and needs a non-empty height and width, "
            f"got an input of shape {list(input.shape)}"
        )
    return input


# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_mbconv_input")


def _scaled_width(channels: int, ratio: float, name: str) -> int:
    width = int(channels * ratio)
    if width < 1:
        raise ValueError(
            f"{name} must give at least one channel: int(out_channels * {name}) = int({channels} * {ratio}) = {width}"
        )
    return width


@prototype(since="0.2.0")
class PreNormMBConv(nn.Module):
    r"""MaxViT's MBConv: norm, 1x1 expansion, depthwise 3x3, squeeze-excitation, 1x1 projection, plus a shortcut.

    From `MaxViT <https://arxiv.org/abs/2204.01697>`_:
    ``shortcut(x) + drop_path(conv_c(se(conv_b(conv_a(pre_norm(x))))))``, where ``conv_a`` (1x1) and
    ``conv_b`` (depthwise 3x3 with the stride) are convolution + norm + activation, the
    squeeze-excitation (:class:`~tvexp.stable.SqueezeExcitation` with :class:`torch.nn.SiLU` inside)
    and ``conv_c`` (1x1 with bias, no norm) follow. Unlike EfficientNet's :class:`MBConv`, the block
    starts with a norm, its widths derive from ``out_channels``, and the residual connection is always
    there: the shortcut is the identity, or (when the stride or the width changes) a 3x3 stride-2
    average pool (for ``stride=2``) followed by a 1x1 convolution with bias.

    Submodules follow torchvision's ``maxvit.MBConv``: ``layers.pre_norm``, ``layers.conv_a`` (``.0``
    conv, ``.1`` norm), ``layers.conv_b``, ``layers.squeeze_excitation`` (``fc1``, ``fc2``),
    ``layers.conv_c``, and ``proj`` (``proj.0`` convolution, or ``proj.1`` after the pool), so
    torchvision MaxViT checkpoints load with ``strict=True``. ``stochastic_depth`` has no parameters.

    Args:
        in_channels: Channels of the input.
        out_channels: Channels of the output.
        expand_ratio: Width of the expansion relative to ``out_channels`` (``int(out_channels * expand_ratio)``).
        se_ratio: Squeeze width relative to ``out_channels`` (``int(out_channels * se_ratio)``).
        stride: Stride of the depthwise convolution and the shortcut: 1 or 2.
        stochastic_depth_prob: Probability of dropping the residual branch per sample in training.
        norm_layer: Builds the norms from a channel count. ``None`` means MaxViT's
            ``nn.BatchNorm2d(C, eps=1e-3, momentum=0.01)``.
        activation_layer: Builds the activations of ``conv_a`` and ``conv_b``. Default: :class:`torch.nn.GELU`.
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, C_{in}, H, W)`, floating point (not empty in :math:`H`, :math:`W` at stride 2);
          another rank, channel count or dtype raises a ``ValueError`` (also a ``RuntimeError``, torch's
          type) naming the expected input.
        - Output: :math:`(N, C_{out}, \lceil H / stride \rceil, \lceil W / stride \rceil)`

    Example:
        >>> block = PreNormMBConv(16, 32, stride=2)
        >>> block(torch.randn(2, 16, 8, 8)).shape
        torch.Size([2, 32, 4, 4])
        >>> [name for name, _ in block.layers.named_children()]
        ['pre_norm', 'conv_a', 'conv_b', 'squeeze_excitation', 'conv_c']
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        expand_ratio: float = 4.0,
        se_ratio: float = 0.25,
        stride: int = 1,
        stochastic_depth_prob: float = 0.0,
        norm_layer: Callable[..., nn.Module] | None = None,
        activation_layer: Callable[..., nn.Module] = nn.GELU,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        in_channels = check_positive_int(in_channels, "in_channels")
        out_channels = check_positive_int(out_channels, "out_channels")
        expand_ratio = check_positive(expand_ratio, "expand_ratio")
        se_ratio = check_positive(se_ratio, "se_ratio")
        stride = check_positive_int(stride, "stride")
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2 (the shortcut pools 3x3 with stride 2), got {stride}")
        stochastic_depth_prob = check_probability(stochastic_depth_prob, "stochastic_depth_prob")
        check_builder(norm_layer, "norm_layer")
        check_builder(activation_layer, "activation_layer", optional=False)
        expanded = _scaled_width(out_channels, expand_ratio, "expand_ratio")
        squeezed = _scaled_width(out_channels, se_ratio, "se_ratio")
        super().__init__()
        norm = partial(nn.BatchNorm2d, eps=1e-3, momentum=0.01) if norm_layer is None else norm_layer
        factory: Factory = {"device": device, "dtype": dtype}
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.expand_ratio = expand_ratio
        self.stride = stride
        self.proj: nn.Module
        if stride != 1 or in_channels != out_channels:
            conv = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=True, **factory)
            pool = [nn.AvgPool2d(kernel_size=3, stride=stride, padding=1)] if stride == 2 else []
            self.proj = nn.Sequential(*pool, conv)
        else:
            self.proj = nn.Identity()
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        conv_norm_act = partial(Conv2dNormActivation, norm_layer=norm, activation_layer=activation_layer, inplace=None)
        self.layers = nn.Sequential(
            OrderedDict(
                [
                    ("pre_norm", build_layer(norm, "norm_layer", in_channels, **factory)),
                    ("conv_a", conv_norm_act(in_channels, expanded, kernel_size=1, padding=0, **factory)),
                    (
                        "conv_b",
                        conv_norm_act(expanded, expanded, kernel_size=3, stride=stride, groups=expanded, **factory),
                    ),
                    ("squeeze_excitation", SqueezeExcitation(expanded, squeezed, activation=nn.SiLU, **factory)),
                    ("conv_c", nn.Conv2d(expanded, out_channels, kernel_size=1, bias=True, **factory)),
                ]
            )
        )

    def forward(self, x: Tensor) -> Tensor:
        x = checked_mbconv_input(x, self.in_channels, self.stride)
        return self.proj(x) + self.stochastic_depth(self.layers(x))

    def reset_parameters(self) -> None:
        """Re-initialises every submodule that has parameters or buffers (PyTorch's default init)."""
        reset_children(self)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, expand_ratio={self.expand_ratio}, stride={self.stride}"
        if self.stochastic_depth.p:
            text += f", stochastic_depth_prob={self.stochastic_depth.p}"
        return text
