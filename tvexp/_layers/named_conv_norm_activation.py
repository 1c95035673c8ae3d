"""NamedConv2dNormActivation: convolution, norm and activation as the named children ``conv``, ``bn``, ``act``."""

from __future__ import annotations

from collections import OrderedDict
from functools import partial
from typing import Callable

import torch
import torch.fx
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._layers._block_parts import reset_each
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.conv_norm_activation import Conv2dNormActivation

__all__ = ["NamedConv2dNormActivation"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_channels_first")


@prototype(since="0.2.0")
class NamedConv2dNormActivation(nn.Sequential):
    r"""A 2-D convolution, norm and activation whose children are named ``conv``, ``bn`` and ``act``.

    The same block as :class:`~tvexp.stable.Conv2dNormActivation` (same arguments, padding rule,
    bias rule, validation), with the *named* child layout of torchvision's GoogLeNet and
    Inception v3 ``BasicConv2d`` (checkpoint keys ``conv.weight``, ``bn.weight``,
    ``bn.running_mean``, ...) instead of the numbered one (``0.weight``, ``1.weight``), and
    the norm default of those networks: :class:`torch.nn.BatchNorm2d` with ``eps=0.001``. The
    activation is a child module (``act``) without state, so it adds no keys. A ``None`` part is
    left out (no ``bn`` without a norm). Eager fusion addresses the children by name
    (``fuse_modules(block, [["conv", "bn", "act"]])``).

    Args:
        in_channels: Channels ``C_in`` of the input.
        out_channels: Channels ``C_out`` produced by the convolution.
        kernel_size: Size of the convolving kernel.
        stride: Stride of the convolution.
        padding: Padding added to all sides. ``None`` computes ``(kernel_size - 1) // 2 * dilation``
            per dimension. torchvision's ``BasicConv2d`` defaults to 0: pass ``padding=0`` where
            the network uses unpadded convolutions (Inception v3's stem and reductions).
        groups: Number of blocked connections; must divide both channel counts.
        norm_layer: Builds the norm as ``norm_layer(out_channels)``; ``None`` leaves it out.
        activation_layer: Builds the activation; ``None`` leaves it out.
        dilation: Spacing between kernel elements.
        inplace: Passed as ``inplace=`` to the activation when not ``None`` and accepted by it.
        bias: Whether the convolution has a bias; ``None`` means "only without a norm layer".
        device: torch.device | str | None of the parameters and buffers.
        dtype: Floating-point type of the parameters and buffers.

    Shape:
        - Input: :math:`(N, C_{in}, H_{in}, W_{in})`
        - Output: :math:`(N, C_{out}, H_{out}, W_{out})`, as for :class:`torch.nn.Conv2d`.

    Example:
        >>> block = NamedConv2dNormActivation(3, 32, kernel_size=3, stride=2, padding=0)
        >>> block(torch.randn(2, 3, 33, 33)).shape
        torch.Size([2, 32, 16, 16])
        >>> sorted(block.state_dict())[:2]
        ['bn.bias', 'bn.num_batches_tracked']
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int] = 3,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str | None = None,
        groups: int = 1,
        norm_layer: Callable[..., nn.Module] | None = partial(nn.BatchNorm2d, eps=0.001),
        activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
        dilation: int | tuple[int, int] = 1,
        inplace: bool | None = True,
        bias: bool | None = None,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        # The numbered block does the validation and the building; its children are renamed here.
        numbered = Conv2dNormActivation(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            groups,
            norm_layer,
            activation_layer,
            dilation,
            inplace,
            bias,
            device=device,
            dtype=dtype,
        )
        parts = list(numbered)
        names = ["conv"]
        if norm_layer is not None:
            names.append("bn")
        if activation_layer is not None:
            names.append("act")
        super().__init__(OrderedDict(zip(names, parts)))
        # The values as the numbered block converted them (a numpy or 0-d tensor count becomes an int).
        self.in_channels = numbered.in_channels
        self.out_channels = numbered.out_channels

    def forward(self, input: Tensor) -> Tensor:
        # The input check of Conv2dNormActivation: (N, C_in, H, W) or an unbatched (C_in, H, W), floating point.
        name = "the convolution block" if torch.jit.is_scripting() else type(self).__name__
        input = checked_channels_first(input, name, self.in_channels, 4, True, True)
        for module in self:
            input = module(input)
        return input

    def reset_parameters(self) -> None:
        """Re-initialises every child that can be (the convolution, the norm, a parametric activation)."""
        reset_each(self.children())
