"""InvertedResidual: MobileNetV2's inverted residual block, with MobileNetV3's options (arXiv:1801.04381, arXiv:1905.02244)."""

from __future__ import annotations

from typing import Callable, Literal

import torch
import torch.fx
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import check_positive, check_positive_int, check_probability
from tvexp._layers._block_parts import Factory, check_odd_kernel_for_residual, reset_children
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.channel_rounding import make_divisible_channels
from tvexp._layers.conv_norm_activation import Conv2dNormActivation
from tvexp._layers.layer_builders import build_activation, build_layer, check_builder
from tvexp._layers.stochastic_depth import StochasticDepth

__all__ = ["InvertedResidual"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_channels_first")

_LAYOUTS = ("mobilenet_v2", "mobilenet_v3", "mnasnet")


@prototype(since="0.1.0")
class InvertedResidual(nn.Module):
    r"""Inverted residual block: 1x1 expansion, depthwise convolution, optional squeeze-excitation, 1x1 linear projection.

    From `MobileNetV2 <https://arxiv.org/abs/1801.04381>`_ and `MobileNetV3
    <https://arxiv.org/abs/1905.02244>`_. The input is added back when ``stride == 1`` and
    ``in_channels == out_channels`` (``use_res_connect``). The expansion is left out when the
    expanded width equals ``in_channels``.

    ``layout`` picks the checkpoint keys of the torchvision class a network should load weights from:

    - ``"mobilenet_v2"``: one ``conv`` Sequential of ``Conv2dNormActivation`` (expand), ``Conv2dNormActivation``
      (depthwise), then a plain ``nn.Conv2d`` and norm (keys ``conv.0.0.weight`` ... ``conv.3.weight``),
      as ``torchvision.models.mobilenetv2.InvertedResidual``.
    - ``"mobilenet_v3"``: one ``block`` Sequential of ``Conv2dNormActivation`` (expand), ``Conv2dNormActivation``
      (depthwise), the squeeze-excitation when ``se_layer`` is given, and a ``Conv2dNormActivation`` without
      activation as projection (keys ``block.0.0.weight`` ... ``block.3.1.weight``), as
      ``torchvision.models.mobilenetv3.InvertedResidual``.
    - ``"mnasnet"``: one flat ``layers`` Sequential of plain modules: 1x1 ``nn.Conv2d``, norm, activation,
      depthwise ``nn.Conv2d``, norm, activation, 1x1 ``nn.Conv2d``, norm (keys ``layers.0.weight`` ...
      ``layers.7.weight``), as ``torchvision.models.mnasnet._InvertedResidual``. The expansion is always
      present in this layout (also when the expanded width equals ``in_channels``), and ``se_layer`` is
      not supported. MNASNet uses ``norm_layer=partial(nn.BatchNorm2d, momentum=1 - 0.9997)`` and
      ``activation_layer=nn.ReLU``.

    The first four positional arguments match torchvision's MobileNetV2 block, so this class can be
    passed as ``block`` to ``torchvision.models.MobileNetV2``. Differences from torchvision: with
    ``dilation > 1`` the ``stride`` is used as given (torchvision's MobileNetV3 silently turns a
    dilated stride-2 block into stride 1 and still skips the residual connection), and any
    positive stride is accepted.

    Args:
        in_channels: Channels of the input.
        out_channels: Channels of the output.
        stride: Stride of the depthwise convolution.
        expand_ratio: Expanded width ``int(round(in_channels * expand_ratio))`` when
            ``expanded_channels`` is not given.
        norm_layer: Builds each norm from a channel count. ``None`` means :class:`torch.nn.BatchNorm2d`
            (MobileNetV3 uses ``partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)``).
        expanded_channels: Width of the depthwise stage, overriding ``expand_ratio`` (MobileNetV3
            tables give it directly).
        kernel_size: Kernel size of the depthwise convolution.
        dilation: Dilation of the depthwise convolution.
        activation_layer: Builds the activations of the expansion and depthwise stages
            (MobileNetV2: :class:`torch.nn.ReLU6`; MobileNetV3: :class:`torch.nn.ReLU` or
            :class:`torch.nn.Hardswish`).
        se_layer: Builds a squeeze-excitation as ``se_layer(expanded_channels, squeeze_channels)``
            after the depthwise stage; ``None`` leaves it out. MobileNetV3 uses
            ``partial(SqueezeExcitation, scale_activation=nn.Hardsigmoid)``.
        squeeze_channels: Squeeze width; default ``make_divisible_channels(expanded_channels // 4, 8)``
            (MobileNetV3's rule).
        stochastic_depth_prob: Probability of dropping the residual branch per sample in training
            (only where the residual connection exists; no parameters, no checkpoint keys).
        layout: ``"mobilenet_v2"``, ``"mobilenet_v3"`` or ``"mnasnet"`` (prototype, since 0.2.0), see above.
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, C_{in}, H, W)`
        - Output: :math:`(N, C_{out}, \lceil H / stride \rceil, \lceil W / stride \rceil)`

    Example:
        >>> block = InvertedResidual(16, 16, expand_ratio=6)
        >>> block(torch.randn(2, 16, 8, 8)).shape
        torch.Size([2, 16, 8, 8])
        >>> from functools import partial
        >>> from tvexp.stable import SqueezeExcitation
        >>> v3 = InvertedResidual(16, 24, 2, expanded_channels=72, kernel_size=5, activation_layer=nn.Hardswish,
        ...                       se_layer=partial(SqueezeExcitation, scale_activation=nn.Hardsigmoid),
        ...                       layout="mobilenet_v3")
        >>> v3(torch.randn(2, 16, 8, 8)).shape
        torch.Size([2, 24, 4, 4])
        >>> mnas = InvertedResidual(16, 24, 2, 3, activation_layer=nn.ReLU, kernel_size=5, layout="mnasnet")
        >>> mnas(torch.randn(2, 16, 8, 8)).shape, len(mnas.layers)
        (torch.Size([2, 24, 4, 4]), 8)
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
        in_channels = check_positive_int(in_channels, "in_channels")
        out_channels = check_positive_int(out_channels, "out_channels")
        stride = check_positive_int(stride, "stride")
        kernel_size = check_positive_int(kernel_size, "kernel_size")
        dilation = check_positive_int(dilation, "dilation")
        if layout not in _LAYOUTS:
            raise ValueError(f"layout must be 'mobilenet_v2', 'mobilenet_v3' or 'mnasnet', got {layout!r}")
        if layout == "mnasnet" and se_layer is not None:
            raise ValueError(
                "se_layer is not supported with layout='mnasnet' (MNASNet's block has no squeeze-excitation)"
            )
        if expanded_channels is None:
            expand_ratio = check_positive(expand_ratio, "expand_ratio")
            expanded_channels = int(round(in_channels * expand_ratio))
            if expanded_channels < 1:
                raise ValueError(
                    f"expand_ratio={expand_ratio} gives int(round(in_channels * expand_ratio)) = {expanded_channels} "
                    f"expanded channels for in_channels={in_channels}; it must give at least 1"
                )
        expanded_channels = check_positive_int(expanded_channels, "expanded_channels")
        if squeeze_channels is not None:
            squeeze_channels = check_positive_int(squeeze_channels, "squeeze_channels")
        check_builder(norm_layer, "norm_layer")
        check_builder(activation_layer, "activation_layer", optional=False)
        check_builder(se_layer, "se_layer")
        stochastic_depth_prob = check_probability(stochastic_depth_prob, "stochastic_depth_prob")
        check_odd_kernel_for_residual(kernel_size, stride, in_channels, out_channels)
        super().__init__()
        norm = nn.BatchNorm2d if norm_layer is None else norm_layer
        factory: Factory = {"device": device, "dtype": dtype}
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.layout = layout
        self.use_res_connect = stride == 1 and in_channels == out_channels
        # torchvision's detection and segmentation backbones find stage boundaries through this flag.
        self._is_cn = stride > 1

        # The branch is registered under the torchvision name of the chosen layout (``conv``, ``block``
        # or ``layers``); the other names stay None, so checkpoints hold only one of them.
        self.layers: nn.Sequential | None = None
        if layout == "mnasnet":
            self.conv = self.block = None
            self.layers = self._mnasnet_layers(
                in_channels,
                expanded_channels,
                out_channels,
                kernel_size,
                stride,
                dilation,
                norm,
                activation_layer,
                factory,
            )
            self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
            return
        layers: list[nn.Module] = []
        if expanded_channels != in_channels:
            layers.append(
                Conv2dNormActivation(
                    in_channels,
                    expanded_channels,
                    kernel_size=1,
                    norm_layer=norm,
                    activation_layer=activation_layer,
                    **factory,
                )
            )
        layers.append(
            Conv2dNormActivation(
                expanded_channels,
                expanded_channels,
                kernel_size=kernel_size,
                stride=stride,
                dilation=dilation,
                groups=expanded_channels,
                norm_layer=norm,
                activation_layer=activation_layer,
                **factory,
            )
        )
        if se_layer is not None:
            squeeze = (
                squeeze_channels if squeeze_channels is not None else make_divisible_channels(expanded_channels // 4, 8)
            )
            layers.append(build_layer(se_layer, "se_layer", expanded_channels, squeeze, **factory))
        if layout == "mobilenet_v2":
            layers.append(nn.Conv2d(expanded_channels, out_channels, 1, 1, 0, bias=False, **factory))
            layers.append(build_layer(norm, "norm_layer", out_channels, **factory))
        else:
            layers.append(
                Conv2dNormActivation(
                    expanded_channels, out_channels, kernel_size=1, norm_layer=norm, activation_layer=None, **factory
                )
            )
        # The branch is registered under the torchvision name of the chosen layout; the other name
        # stays None, so checkpoints hold only one of them.
        self.conv = nn.Sequential(*layers) if layout == "mobilenet_v2" else None
        self.block = nn.Sequential(*layers) if layout == "mobilenet_v3" else None
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    @staticmethod
    def _mnasnet_layers(
        in_channels: int,
        expanded_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int,
        dilation: int,
        norm: Callable[..., nn.Module],
        activation_layer: Callable[..., nn.Module],
        factory: Factory,
    ) -> nn.Sequential:
        def norm_of(channels: int) -> nn.Module:
            return build_layer(norm, "norm_layer", channels, **factory)

        def activation() -> nn.Module:
            return build_activation(activation_layer, "activation_layer", True, **factory)

        return nn.Sequential(
            nn.Conv2d(in_channels, expanded_channels, 1, bias=False, **factory),
            norm_of(expanded_channels),
            activation(),
            nn.Conv2d(
                expanded_channels,
                expanded_channels,
                kernel_size,
                stride,
                padding=(kernel_size - 1) // 2 * dilation,
                dilation=dilation,
                groups=expanded_channels,
                bias=False,
                **factory,
            ),
            norm_of(expanded_channels),
            activation(),
            nn.Conv2d(expanded_channels, out_channels, 1, bias=False, **factory),
            norm_of(out_channels),
        )

    def reset_parameters(self) -> None:
        """Re-initialises every submodule that has parameters or buffers (PyTorch's default init)."""
        reset_children(self)

    def forward(self, x: Tensor) -> Tensor:
        if self.layers is not None:
            # The other layouts start with a Conv2dNormActivation, which checks the input; this one
            # starts with a plain convolution. Unbatched inputs are rejected, as in the other blocks.
            x = checked_channels_first(x, "InvertedResidual", self.in_channels, 4, False, True)
            result = self.layers(x)
        elif self.conv is not None:
            result = self.conv(x)
        elif self.block is not None:
            result = self.block(x)
        else:
            result = x
        if self.use_res_connect:
            result = self.stochastic_depth(result) + x
        return result

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}, layout={self.layout!r}"
