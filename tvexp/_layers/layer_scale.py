"""LayerScale: a learned per-channel scale of a residual branch (CaiT, arXiv:2103.17239; ConvNeXt)."""

from __future__ import annotations

import torch
import torch.fx
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import InvalidInputError, check_finite, check_non_negative_int, check_positive_int

__all__ = ["LayerScale", "checked_scaled_channels"]


def checked_scaled_channels(input: Tensor, layer: str, channels: int, spatial_dims: int) -> Tensor:
    """``input`` if it is floating point (or quantized) with ``channels`` in dimension ``-1 - spatial_dims``
    (the channels, then ``spatial_dims`` spatial dimensions, after any leading dimensions)."""
    if not (input.is_floating_point() or input.is_quantized):
        raise InvalidInputError(f"{layer} expects a floating-point input, got dtype {input.dtype}")
    channel_dim = -1 - spatial_dims
    if input.dim() <= spatial_dims or input.shape[channel_dim] != channels:
        layout = f"(*, {channels})" if spatial_dims == 0 else f"(*, {channels}, then {spatial_dims} spatial sizes)"
        raise InvalidInputError(
            f"{layer} expects an input {layout} with {channels} channels in dimension {channel_dim}, got shape "
            f"{list(input.shape)}"
        )
    return input


# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_scaled_channels")


@prototype(since="0.2.0")
class LayerScale(nn.Module):
    r"""Multiplies each channel by a learned factor, initialised to a small value.

    From `Going deeper with Image Transformers <https://arxiv.org/abs/2103.17239>`_ (CaiT), and used
    by ConvNeXt: :math:`y = \operatorname{diag}(\lambda)\, x` with :math:`\lambda` initialised to
    ``init_value``, so that a residual branch starts close to the identity mapping.

    The factors are the parameter ``scale`` of shape ``(C,)`` for channels-last inputs (tokens
    :math:`(N, L, C)`, or NHWC maps), or ``(C, 1, ..., 1)`` with ``spatial_dims`` ones for
    channels-first inputs: ``spatial_dims=2`` gives the ``(C, 1, 1)`` shape of torchvision
    ConvNeXt's ``layer_scale`` for :math:`(N, C, H, W)` maps.

    Args:
        num_channels: Channels ``C``.
        init_value: Initial value of every factor (ConvNeXt and torchvision use ``1e-6``, CaiT
            ``1e-5`` to ``1e-6`` by depth). Any finite number.
        spatial_dims: Number of dimensions after the channel dimension: 0 for channels-last
            inputs, 2 for :math:`(N, C, H, W)`, 3 for :math:`(N, C, D, H, W)`.
        device: torch.device | str | None of the parameter.
        dtype: Floating-point type of the parameter.

    Shape:
        - Input: :math:`(*, C)` for ``spatial_dims=0``, else :math:`(*, C, S_1, \ldots, S_k)` with
          ``k = spatial_dims``, floating point; another channel count or dtype raises
          a ``ValueError`` (also a ``RuntimeError``, torch's type) naming the expected input.
        - Output: same as the input.

    Example:
        >>> scale = LayerScale(16, init_value=1e-6)
        >>> scale(torch.randn(2, 5, 16)).shape
        torch.Size([2, 5, 16])
        >>> scale.scale.shape, LayerScale(16, spatial_dims=2).scale.shape
        (torch.Size([16]), torch.Size([16, 1, 1]))
    """

    def __init__(
        self,
        num_channels: int,
        init_value: float = 1e-5,
        *,
        spatial_dims: int = 0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        num_channels = check_positive_int(num_channels, "num_channels")
        init_value = check_finite(init_value, "init_value")
        spatial_dims = check_non_negative_int(spatial_dims, "spatial_dims")
        super().__init__()
        self.num_channels = num_channels
        self.init_value = init_value
        self.spatial_dims = spatial_dims
        self.scale = nn.Parameter(torch.empty((num_channels,) + (1,) * spatial_dims, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Sets every factor to ``init_value``."""
        nn.init.constant_(self.scale, self.init_value)

    def forward(self, x: Tensor) -> Tensor:
        x = checked_scaled_channels(x, "LayerScale", self.num_channels, self.spatial_dims)
        return x * self.scale

    def extra_repr(self) -> str:
        text = f"{self.num_channels}, init_value={self.init_value}"
        if self.spatial_dims:
            text += f", spatial_dims={self.spatial_dims}"
        return text
