"""MBConv and FusedMBConv: EfficientNet's mobile inverted bottleneck blocks (arXiv:1905.11946, arXiv:2104.00298)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, NamedTuple

import torch
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import check_positive, check_positive_int, check_probability
from tvexp._layers._block_parts import Factory, check_odd_kernel_for_residual, reset_children
from tvexp._layers.channel_rounding import make_divisible_channels
from tvexp._layers.conv_norm_activation import Conv2dNormActivation
from tvexp._layers.layer_builders import build_layer, check_builder
from tvexp._layers.squeeze_excitation import SqueezeExcitation
from tvexp._layers.stochastic_depth import StochasticDepth

__all__ = ["FusedMBConv", "MBConv"]


class _Common(NamedTuple):
    in_channels: int
    out_channels: int
    expand_ratio: float
    kernel_size: int
    stride: int
    stochastic_depth_prob: float


def _check_common(
    in_channels: int,
    out_channels: int,
    expand_ratio: float,
    kernel_size: int,
    stride: int,
    stochastic_depth_prob: float,
    norm_layer: Callable[..., nn.Module],
    activation_layer: Callable[..., nn.Module],
) -> _Common:
    """The shared arguments, checked and converted to Python ints and floats."""
    checked = _Common(
        check_positive_int(in_channels, "in_channels"),
        check_positive_int(out_channels, "out_channels"),
        # Finite: an infinite ratio would fail later with an OverflowError that names nothing.
        check_positive(expand_ratio, "expand_ratio"),
        check_positive_int(kernel_size, "kernel_size"),
        check_positive_int(stride, "stride"),
        check_probability(stochastic_depth_prob, "stochastic_depth_prob"),
    )
    check_odd_kernel_for_residual(checked.kernel_size, checked.stride, checked.in_channels, checked.out_channels)
    check_builder(norm_layer, "norm_layer", optional=False)
    check_builder(activation_layer, "activation_layer", optional=False)
    return checked


class _ResidualStochasticDepth(nn.Module):
    """Shared forward (no tier): the residual branch is dropped per sample and added back where shapes allow."""

    if TYPE_CHECKING:  # set by the subclasses; class-level annotations would confuse TorchScript
        in_channels: int
        out_channels: int
        expand_ratio: float
        kernel_size: int
        stride: int
        use_res_connect: bool
        block: nn.Sequential
        stochastic_depth: StochasticDepth

    def forward(self, x: Tensor) -> Tensor:
        result = self.block(x)
        if self.use_res_connect:
            result = self.stochastic_depth(result) + x
        return result

    def reset_parameters(self) -> None:
        """Re-initialises every submodule that has parameters or buffers (PyTorch's default init)."""
        reset_children(self)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, expand_ratio={self.expand_ratio}, "
            f"kernel_size={self.kernel_size}, stride={self.stride}, "
            f"stochastic_depth_prob={self.stochastic_depth.p}"
        )


@prototype(since="0.1.0")
class MBConv(_ResidualStochasticDepth):
    r"""EfficientNet's mobile inverted bottleneck: 1x1 expansion, depthwise convolution, squeeze-excitation, 1x1 projection.

    From `EfficientNet <https://arxiv.org/abs/1905.11946>`_. The expanded width is
    ``make_divisible_channels(in_channels * expand_ratio, 8)`` and the expansion is left out when it equals
    ``in_channels``. The squeeze-excitation has ``max(1, int(in_channels * se_ratio))`` squeeze
    channels (torchvision: ``in_channels // 4``) and uses ``activation_layer`` inside. Stochastic
    depth and the residual addition apply when ``stride == 1`` and ``in_channels == out_channels``.
    Submodule names (``block``, ``stochastic_depth``) follow ``torchvision.models.efficientnet.MBConv``,
    so EfficientNet-B0..B7 and V2 checkpoints load with ``strict=True``.

    Args:
        in_channels: Channels of the input.
        out_channels: Channels of the output.
        expand_ratio: Expansion factor of the 1x1 expansion.
        kernel_size: Kernel size of the depthwise convolution.
        stride: Stride of the depthwise convolution.
        se_ratio: Squeeze width relative to ``in_channels``; 0 leaves the squeeze-excitation out
            (not a torchvision layout).
        stochastic_depth_prob: Probability of dropping the residual branch per sample in training.
        norm_layer: Builds each norm from a channel count.
        activation_layer: Builds the activations (EfficientNet: :class:`torch.nn.SiLU`).
        se_layer: Builds the squeeze-excitation as ``se_layer(channels, squeeze_channels, activation=activation_layer)``.
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, C_{in}, H, W)`
        - Output: :math:`(N, C_{out}, \lceil H / stride \rceil, \lceil W / stride \rceil)`

    Example:
        >>> block = MBConv(16, 16, expand_ratio=6, stochastic_depth_prob=0.1)
        >>> block(torch.randn(2, 16, 8, 8)).shape
        torch.Size([2, 16, 8, 8])
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
        in_channels, out_channels, expand_ratio, kernel_size, stride, stochastic_depth_prob = _check_common(
            in_channels,
            out_channels,
            expand_ratio,
            kernel_size,
            stride,
            stochastic_depth_prob,
            norm_layer,
            activation_layer,
        )
        se_ratio = check_probability(se_ratio, "se_ratio")
        check_builder(se_layer, "se_layer", optional=False)
        super().__init__()
        factory: Factory = {"device": device, "dtype": dtype}
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.expand_ratio = expand_ratio
        self.kernel_size = kernel_size
        self.stride = stride
        self.use_res_connect = stride == 1 and in_channels == out_channels
        expanded = make_divisible_channels(in_channels * expand_ratio, 8)
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(
                Conv2dNormActivation(
                    in_channels,
                    expanded,
                    kernel_size=1,
                    norm_layer=norm_layer,
                    activation_layer=activation_layer,
                    **factory,
                )
            )
        layers.append(
            Conv2dNormActivation(
                expanded,
                expanded,
                kernel_size=kernel_size,
                stride=stride,
                groups=expanded,
                norm_layer=norm_layer,
                activation_layer=activation_layer,
                **factory,
            )
        )
        if se_ratio > 0:
            layers.append(
                build_layer(
                    se_layer,
                    "se_layer",
                    expanded,
                    max(1, int(in_channels * se_ratio)),
                    activation=activation_layer,
                    **factory,
                )
            )
        layers.append(
            Conv2dNormActivation(
                expanded, out_channels, kernel_size=1, norm_layer=norm_layer, activation_layer=None, **factory
            )
        )
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")


@prototype(since="0.1.0")
class FusedMBConv(_ResidualStochasticDepth):
    r"""EfficientNetV2's fused MBConv: one full KxK convolution in place of the 1x1 expansion and depthwise pair.

    From `EfficientNetV2 <https://arxiv.org/abs/2104.00298>`_. With an expansion
    (``make_divisible_channels(in_channels * expand_ratio, 8) != in_channels``) the block is a KxK
    convolution to the expanded width followed by a 1x1 projection without activation; otherwise a
    single KxK convolution with activation. Stochastic depth and the residual addition apply when
    ``stride == 1`` and ``in_channels == out_channels``. Submodule names follow
    ``torchvision.models.efficientnet.FusedMBConv``.

    Args:
        in_channels: Channels of the input.
        out_channels: Channels of the output.
        expand_ratio: Expansion factor of the fused KxK convolution.
        kernel_size: Kernel size of the fused convolution.
        stride: Stride of the fused convolution.
        stochastic_depth_prob: Probability of dropping the residual branch per sample in training.
        norm_layer: Builds each norm from a channel count.
        activation_layer: Builds the activations (EfficientNetV2: :class:`torch.nn.SiLU`).
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, C_{in}, H, W)`
        - Output: :math:`(N, C_{out}, \lceil H / stride \rceil, \lceil W / stride \rceil)`

    Example:
        >>> block = FusedMBConv(24, 48, expand_ratio=4, stride=2)
        >>> block(torch.randn(2, 24, 8, 8)).shape
        torch.Size([2, 48, 4, 4])
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
        in_channels, out_channels, expand_ratio, kernel_size, stride, stochastic_depth_prob = _check_common(
            in_channels,
            out_channels,
            expand_ratio,
            kernel_size,
            stride,
            stochastic_depth_prob,
            norm_layer,
            activation_layer,
        )
        super().__init__()
        factory: Factory = {"device": device, "dtype": dtype}
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.expand_ratio = expand_ratio
        self.kernel_size = kernel_size
        self.stride = stride
        self.use_res_connect = stride == 1 and in_channels == out_channels
        expanded = make_divisible_channels(in_channels * expand_ratio, 8)
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(
                Conv2dNormActivation(
                    in_channels,
                    expanded,
                    kernel_size=kernel_size,
                    stride=stride,
                    norm_layer=norm_layer,
                    activation_layer=activation_layer,
                    **factory,
                )
            )
            layers.append(
                Conv2dNormActivation(
                    expanded, out_channels, kernel_size=1, norm_layer=norm_layer, activation_layer=None, **factory
                )
            )
        else:
            layers.append(
                Conv2dNormActivation(
                    in_channels,
                    out_channels,
                    kernel_size=kernel_size,
                    stride=stride,
                    norm_layer=norm_layer,
                    activation_layer=activation_layer,
                    **factory,
                )
            )
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
