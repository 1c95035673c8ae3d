"""A module that permutes the dimensions of its input (e.g. NCHW <-> NHWC inside an ``nn.Sequential``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.fx
from torch import Tensor, nn

from tvexp._api.tiers import stable
from tvexp._api.validation import InvalidInputError, is_integer

__all__ = ["Permute"]


def _checked_rank(x: Tensor, dims: list[int]) -> Tensor:
    """``x`` if it has ``len(dims)`` dimensions; otherwise an :class:`InvalidInputError` (a ``ValueError``
    and a ``RuntimeError``, torch's type for this error) that names the expected rank."""
    if x.dim() != len(dims):
        raise InvalidInputError(
            f"Permute(dims={dims}) expects an input with {len(dims)} dimensions, got {x.dim()} (shape {list(x.shape)})"
        )
    return x


# A leaf for torch.fx: the rank check reads the traced input's shape.
torch.fx.wrap("_checked_rank")


@stable(since="0.1.0")
class Permute(nn.Module):
    r"""Permutes the dimensions of the input with :func:`torch.permute`.

    Lets channels-last layers (``nn.LayerNorm``, ``nn.Linear``) sit between convolutions in an
    ``nn.Sequential``, as in ConvNeXt and Swin. Drop-in compatible with ``torchvision.ops.Permute``;
    unlike torchvision, ``dims`` is checked at construction.

    Args:
        dims: The new order of the dimensions: a permutation of ``0 .. len(dims) - 1`` (negative
            indices count from the end). The input must have ``len(dims)`` dimensions.
        device: Accepted for uniformity with other layers; the layer holds no tensors.
        dtype: Accepted for uniformity with other layers; the layer holds no tensors.

    Shape:
        - Input: :math:`(d_0, \ldots, d_{n-1})`
        - Output: :math:`(d_{dims[0]}, \ldots, d_{dims[n-1]})`

    Example:
        >>> to_channels_last = Permute([0, 2, 3, 1])
        >>> to_channels_last
        Permute(dims=[0, 2, 3, 1])
        >>> to_channels_last(torch.randn(2, 3, 4, 5)).shape
        torch.Size([2, 4, 5, 3])
    """

    def __init__(
        self,
        dims: list[int],
        *,
        device: torch.device | str | None = None,  # noqa: ARG002  (accepted like every layer; nothing to allocate)
        dtype: torch.dtype | None = None,  # noqa: ARG002
    ) -> None:
        if isinstance(dims, (str, bytes)) or not isinstance(dims, Sequence):
            raise TypeError(f"dims must be a list of ints, got {dims!r}")
        if not all(is_integer(d) for d in dims):
            raise TypeError(f"dims must be a list of ints, got {list(dims)!r}")
        dims = [int(d) for d in dims]
        rank = len(dims)
        if sorted(d % rank if -rank <= d < rank else d + 2 * rank for d in dims) != list(range(rank)):
            raise ValueError(
                f"dims must be a permutation of 0..{rank - 1} (negative indices allowed), got {list(dims)!r}"
            )
        super().__init__()
        self.dims = list(dims)

    def forward(self, x: Tensor) -> Tensor:
        return torch.permute(_checked_rank(x, self.dims), self.dims)

    def extra_repr(self) -> str:
        return f"dims={self.dims}"
