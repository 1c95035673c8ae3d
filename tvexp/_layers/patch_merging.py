"""PatchMerging: Swin's 2x2 downsampling of channels-last feature maps (v1 norm-then-reduce, v2 reduce-then-norm)."""

from __future__ import annotations

from typing import Callable

import torch
import torch.fx
import torch.nn.functional as F
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import InvalidInputError, check_int, check_positive_int
from tvexp._layers._block_parts import Factory
from tvexp._layers.layer_builders import build_layer, check_builder

__all__ = ["PatchMerging", "merge_patches"]


def merge_patches(input: Tensor, layer: str, channels: int) -> Tensor:
    """``(*, H, W, C)`` -> ``(*, ceil(H/2), ceil(W/2), 4C)``: each 2x2 patch's features side by side.

    Odd sizes are padded with zeros at the end (always padded, by ``H % 2`` and ``W % 2``, so sizes
    stay dynamic under ``torch.export``). The order of the four is torchvision's: (0, 0), (1, 0),
    (0, 1), (1, 1) as (row, column) offsets.
    """
    if not input.is_floating_point():
        raise InvalidInputError(f"{layer} expects a floating-point input, got dtype {input.dtype}")
    if input.dim() < 3 or input.shape[-1] != channels:
        raise InvalidInputError(
            f"{layer} expects a channels-last input (*, H, W, {channels}) with at least 3 dimensions, got shape "
            f"{list(input.shape)}"
        )
    height, width = input.shape[-3], input.shape[-2]
    x = F.pad(input, [0, 0, 0, width % 2, 0, height % 2])
    return torch.cat(
        [x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :], x[..., 0::2, 1::2, :], x[..., 1::2, 1::2, :]], dim=-1
    )


# A leaf for torch.fx: the padding reads the traced input's sizes.
torch.fx.wrap("merge_patches")


@prototype(since="0.2.0")
class PatchMerging(nn.Module):
    r"""Halves the height and width of a channels-last map and doubles its channels (Swin's downsampling).

    From `Swin Transformer <https://arxiv.org/abs/2103.14030>`_: the four features of each 2x2 patch
    are concatenated (``4C``; odd sizes are zero-padded first), then ``version=1`` normalises them and
    reduces them with a bias-free linear layer to ``2C``; ``version=2`` (`Swin Transformer V2
    <https://arxiv.org/abs/2111.09883>`_) reduces first and normalises the ``2C`` result. Any leading
    dimensions are kept, so the same layer downsamples video Swin's :math:`(N, T, H, W, C)` maps
    (torchvision's ``SwinTransformer3d`` uses its 2-D ``PatchMerging`` the same way).

    Children and initialisation are torchvision's ``PatchMerging`` / ``PatchMergingV2``
    (``reduction``, ``norm``), so their checkpoints load with ``strict=True``.

    Args:
        dim: Channels ``C`` of the input.
        norm_layer: Builds the norm from its width (``4C`` for v1, ``2C`` for v2). Default:
            :class:`torch.nn.LayerNorm`.
        version: ``1`` (norm, then reduction) or ``2`` (reduction, then norm).
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(*, H, W, C)`, at least 3 dimensions, floating point; another channel count
          raises a ``ValueError`` (also a ``RuntimeError``) naming the expected input.
        - Output: :math:`(*, \lceil H/2 \rceil, \lceil W/2 \rceil, 2C)`.

    Example:
        >>> merging = PatchMerging(16)
        >>> merging(torch.randn(2, 7, 8, 16)).shape
        torch.Size([2, 4, 4, 32])
        >>> PatchMerging(16, version=2)(torch.randn(1, 3, 6, 6, 16)).shape
        torch.Size([1, 3, 3, 3, 32])
    """

    def __init__(
        self,
        dim: int,
        norm_layer: Callable[..., nn.Module] = nn.LayerNorm,
        *,
        version: int = 1,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        dim = check_positive_int(dim, "dim")
        check_builder(norm_layer, "norm_layer", optional=False)
        version = check_int(version, "version", minimum=1)
        if version not in (1, 2):
            raise ValueError(f"version must be 1 (Swin) or 2 (Swin V2), got {version}")
        super().__init__()
        factory: Factory = {"device": device, "dtype": dtype}
        self.dim = dim
        self.version = version
        self.norm_first = version == 1
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False, **factory)
        self.norm = build_layer(norm_layer, "norm_layer", 4 * dim if version == 1 else 2 * dim, **factory)

    def reset_parameters(self) -> None:
        """PyTorch's default initialisation of the reduction and the norm."""
        self.reduction.reset_parameters()
        reset = getattr(self.norm, "reset_parameters", None)
        if callable(reset):
            reset()

    def forward(self, x: Tensor) -> Tensor:
        x = merge_patches(x, "PatchMerging", self.dim)
        if self.norm_first:
            return self.reduction(self.norm(x))
        return self.norm(self.reduction(x))

    def extra_repr(self) -> str:
        return f"{self.dim}" + (f", version={self.version}" if self.version != 1 else "")
