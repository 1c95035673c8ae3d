"""BasicBlock: the two-convolution residual block of ResNet-18/34 (He et al., arXiv:1512.03385)."""

from __future__ import annotations

from typing import Callable

import torch
import torch.fx
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import check_positive_int, check_probability
from tvexp._layers._block_parts import check_downsample, conv3x3, projection, reset_children, squeeze_channels
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.layer_builders import build_activation, build_layer, check_builder
from tvexp._layers.squeeze_excitation import SqueezeExcitation
from tvexp._layers.stochastic_depth import StochasticDepth

__all__ = ["BasicBlock"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_channels_first")


@prototype(since="0.1.0")
class BasicBlock(nn.Module):
    r"""ResNet's basic residual block: two 3x3 convolutions and an identity or projection shortcut.

    From `Deep Residual Learning for Image Recognition <https://arxiv.org/abs/1512.03385>`_:
    ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``. Submodule names and the positional
    arguments follow torchvision's ``BasicBlock``, so a network assembled from these blocks loads
    torchvision ResNet-18/34 checkpoints with ``strict=True``, and the class can be passed as
    ``block`` to ``torchvision.models.ResNet``.

    Differences from torchvision: ``dilation > 1`` is supported (both 3x3 convolutions are
    dilated; torchvision raises ``NotImplementedError``); when ``downsample`` is ``None`` but the
    shortcut must change shape (``stride != 1`` or ``in_channels != planes``) the torchvision
    projection ``downsample = Sequential(conv1x1, norm)`` is built, where torchvision fails at the
    first forward. ``groups``/``base_width`` other than 1/64 are rejected at construction, as in
    torchvision (use :class:`Bottleneck` for grouped or wide blocks).

    Args:
        in_channels: Channels of the input.
        planes: Channels of both convolutions and of the output (``expansion`` is 1).
        stride: Stride of the first convolution and of the projection shortcut.
        downsample: The shortcut module; ``None`` means identity, or the default projection when
            the shape changes.
        groups: Must be 1 (kept for torchvision's signature).
        base_width: Must be 64 (kept for torchvision's signature).
        dilation: Dilation of both 3x3 convolutions (their padding equals it).
        norm_layer: Builds each norm from a channel count. ``None`` means :class:`torch.nn.BatchNorm2d`.
        activation_layer: Builds the activation (``inplace=True`` is passed when accepted).
        se_ratio: When positive, a :class:`SqueezeExcitation` named ``se`` with
            ``max(1, int(planes * se_ratio))`` squeeze channels rescales the residual branch before
            the addition (SE-ResNet uses ``1/16``). Default 0: no ``se`` (torchvision's layout).
        stochastic_depth_prob: Probability of dropping the residual branch per sample in training
            (``StochasticDepth(p, "row")``, named ``stochastic_depth``; it has no parameters).
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, C_{in}, H, W)`
        - Output: :math:`(N, planes, \lceil H / stride \rceil, \lceil W / stride \rceil)`

    Example:
        >>> block = BasicBlock(16, 32, stride=2)
        >>> block(torch.randn(2, 16, 8, 8)).shape
        torch.Size([2, 32, 4, 4])
        >>> sorted({key.split(".")[0] for key in block.state_dict()})
        ['bn1', 'bn2', 'conv1', 'conv2', 'downsample']
    """

    expansion: int = 1
    __tvexp_conv_norm_pairs__ = (("conv1", "bn1"), ("conv2", "bn2"))

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
        in_channels = check_positive_int(in_channels, "in_channels")
        planes = check_positive_int(planes, "planes")
        stride = check_positive_int(stride, "stride")
        dilation = check_positive_int(dilation, "dilation")
        groups = check_positive_int(groups, "groups")
        base_width = check_positive_int(base_width, "base_width")
        if groups != 1 or base_width != 64:
            raise ValueError(
                f"BasicBlock supports only groups=1 and base_width=64, got groups={groups!r} and "
                f"base_width={base_width!r}; use Bottleneck for grouped or wide blocks"
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
        self.dilation = dilation
        self.conv1 = conv3x3(in_channels, planes, stride, 1, dilation, device, dtype)
        self.bn1 = build_layer(norm, "norm_layer", planes, device=device, dtype=dtype)
        # One activation module used twice, as in torchvision (it has no state).
        self.relu = build_activation(activation_layer, "activation_layer", True, device=device, dtype=dtype)
        self.conv2 = conv3x3(planes, planes, 1, 1, dilation, device, dtype)
        self.bn2 = build_layer(norm, "norm_layer", planes, device=device, dtype=dtype)
        self.se = (
            SqueezeExcitation(planes, squeeze_channels(planes, se_ratio), device=device, dtype=dtype)
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
        x = checked_channels_first(x, "BasicBlock", self.in_channels, 4, False, True)
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.se is not None:
            out = self.se(out)
        out = self.stochastic_depth(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, stride={self.stride}"
        if self.dilation != 1:
            text += f", dilation={self.dilation}"
        return text
