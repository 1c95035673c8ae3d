"""S3D's temporally separable convolution: a spatial 1xkxk block, then a temporal kx1x1 block (Xie et al.,
arXiv:1712.04851)."""

from __future__ import annotations

from typing import Callable

import torch
import torch.fx
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import check_non_negative_int, check_positive_int
from tvexp._layers._block_parts import reset_each
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.conv_norm_activation import Conv3dNormActivation
from tvexp._layers.layer_builders import check_builder

__all__ = ["TemporalSeparableConv"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_channels_first")


@prototype(since="0.2.0")
class TemporalSeparableConv(nn.Sequential):
    r"""A kxkxk convolution factorised into a spatial 1xkxk and a temporal kx1x1 convolution, each with norm and activation.

    From `Rethinking Spatiotemporal Feature Learning (S3D) <https://arxiv.org/abs/1712.04851>`_.
    Child ``0`` is a :class:`~tvexp.stable.Conv3dNormActivation` with kernel ``(1, k, k)``, stride
    ``(1, s, s)`` and padding ``(0, p, p)``; child ``1`` one with kernel ``(k, 1, 1)``, stride
    ``(s, 1, 1)`` and padding ``(p, 0, 0)``; both convolutions have no bias and ``out_channels``
    outputs. The positional arguments and ``state_dict`` keys (``0.0.weight``, ``0.1.*``,
    ``1.0.weight``, ``1.1.*``) are those of torchvision's ``TemporalSeparableConv``, so S3D
    checkpoints load with ``strict=True``.

    Args:
        in_channels: Channels of the input.
        out_channels: Channels of both convolutions' outputs.
        kernel_size: ``k``: the spatial kernel is ``k x k``, the temporal one ``k``.
        stride: ``s``: the spatial convolution strides height and width, the temporal one time.
        padding: ``p``: zero padding in height and width, then in time. ``None`` means
            ``(kernel_size - 1) // 2``, which keeps the sizes at stride 1.
        norm_layer: Builds both norms from ``out_channels``. ``None`` means
            :class:`torch.nn.BatchNorm3d` (S3D passes ``partial(BatchNorm3d, eps=0.001, momentum=0.001)``).
        activation_layer: Builds both activations (``inplace=True`` is passed when accepted).
        device: torch.device | str | None of the parameters and buffers.
        dtype: Floating-point type of the parameters and buffers.

    Shape:
        - Input: :math:`(N, C_{in}, D, H, W)`
        - Output: :math:`(N, C_{out}, D_{out}, H_{out}, W_{out})`, each size
          :math:`\lfloor (S + 2p - k) / s \rfloor + 1`.

    Example:
        >>> conv = TemporalSeparableConv(3, 16, kernel_size=7, stride=2, padding=3)
        >>> conv(torch.randn(1, 3, 8, 32, 32)).shape
        torch.Size([1, 16, 4, 16, 16])
        >>> [key for key in conv.state_dict() if key.endswith("weight")]
        ['0.0.weight', '0.1.weight', '1.0.weight', '1.1.weight']
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int | None = None,
        norm_layer: Callable[..., nn.Module] | None = None,
        *,
        activation_layer: Callable[..., nn.Module] = nn.ReLU,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        in_channels = check_positive_int(in_channels, "in_channels")
        out_channels = check_positive_int(out_channels, "out_channels")
        kernel_size = check_positive_int(kernel_size, "kernel_size")
        stride = check_positive_int(stride, "stride")
        padding = (kernel_size - 1) // 2 if padding is None else check_non_negative_int(padding, "padding")
        check_builder(norm_layer, "norm_layer")
        check_builder(activation_layer, "activation_layer", optional=False)
        norm = nn.BatchNorm3d if norm_layer is None else norm_layer
        super().__init__(
            Conv3dNormActivation(
                in_channels,
                out_channels,
                kernel_size=(1, kernel_size, kernel_size),
                stride=(1, stride, stride),
                padding=(0, padding, padding),
                norm_layer=norm,
                activation_layer=activation_layer,
                bias=False,
                device=device,
                dtype=dtype,
            ),
            Conv3dNormActivation(
                out_channels,
                out_channels,
                kernel_size=(kernel_size, 1, 1),
                stride=(stride, 1, 1),
                padding=(padding, 0, 0),
                norm_layer=norm,
                activation_layer=activation_layer,
                bias=False,
                device=device,
                dtype=dtype,
            ),
        )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding

    def forward(self, input: Tensor) -> Tensor:
        input = checked_channels_first(input, "TemporalSeparableConv", self.in_channels, 5, False, True)
        for module in self:
            input = module(input)
        return input

    def reset_parameters(self) -> None:
        """Re-initialises both convolution blocks."""
        reset_each(self.children())

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}"
        )
