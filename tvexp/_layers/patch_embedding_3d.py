"""PatchEmbedding3d: video Swin's patch embedding (a strided Conv3d to channels-last tokens, then a norm)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Callable, List

import torch
import torch.fx
import torch.nn.functional as F
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import as_int, check_positive_int
from tvexp._layers._block_parts import Factory
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.layer_builders import build_layer, check_builder

__all__ = ["PatchEmbedding3d", "pad_to_patches"]


def pad_to_patches(x: Tensor, patch_size: List[int]) -> Tensor:
    """Zero-pads ``(N, C, T, H, W)`` at the end of each of the last three dimensions to a multiple of the patch."""
    amounts: List[int] = []
    for i in range(2, -1, -1):  # F.pad lists the last dimension first
        size = x.shape[i + 2]
        amounts += [0, (patch_size[i] - size % patch_size[i]) % patch_size[i]]
    return F.pad(x, amounts)


# Leaves for torch.fx: the input check and the padding read the traced input's shape.
torch.fx.wrap("checked_channels_first")
torch.fx.wrap("pad_to_patches")


def _check_patch_size(patch_size: object) -> tuple[int, int, int]:
    if isinstance(patch_size, (str, bytes)) or not isinstance(patch_size, (list, tuple)) or len(patch_size) != 3:
        raise TypeError(f"patch_size must be a list or tuple of 3 positive ints (T, H, W), got {patch_size!r}")
    sizes = [as_int(size, "patch_size", "a list of 3 positive ints") for size in patch_size]
    if min(sizes) < 1:
        raise ValueError(f"patch_size must contain positive ints, got {sizes!r}")
    return sizes[0], sizes[1], sizes[2]


@prototype(since="0.2.0")
class PatchEmbedding3d(nn.Module):
    r"""Cuts a video into non-overlapping ``patch_size`` tubes and embeds each as one channels-last token.

    From `Video Swin Transformer <https://arxiv.org/abs/2106.13230>`_: the input is zero-padded at
    the end of time, height and width to multiples of ``patch_size``, a ``Conv3d`` with kernel and
    stride ``patch_size`` maps each tube to ``embed_dim`` features, the result is moved to channels
    last and normalised. Children and initialisation are torchvision's ``PatchEmbed3d`` (``proj``;
    ``norm`` when ``norm_layer`` is given, an ``nn.Identity`` otherwise), so its checkpoints load with
    ``strict=True``. The padding is always applied (with amounts that may be zero), so the sizes stay
    dynamic under ``torch.export``.

    Args:
        patch_size: Tube size ``(T, H, W)``.
        in_channels: Channels of the input video.
        embed_dim: Features of each token.
        norm_layer: Builds the norm from ``embed_dim``; ``None`` leaves it out.
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, C_{in}, T, H, W)`, floating point; another rank or channel count raises a
          ``ValueError`` (also a ``RuntimeError``) naming the expected input.
        - Output: :math:`(N, \lceil T/p_t \rceil, \lceil H/p_h \rceil, \lceil W/p_w \rceil, \text{embed\_dim})`.

    Example:
        >>> embedding = PatchEmbedding3d([2, 4, 4], embed_dim=24, norm_layer=torch.nn.LayerNorm)
        >>> embedding(torch.randn(1, 3, 5, 16, 18)).shape
        torch.Size([1, 3, 4, 5, 24])
    """

    def __init__(
        self,
        patch_size: Sequence[int],
        in_channels: int = 3,
        embed_dim: int = 96,
        norm_layer: Callable[..., nn.Module] | None = None,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        patch = _check_patch_size(patch_size)
        in_channels = check_positive_int(in_channels, "in_channels")
        embed_dim = check_positive_int(embed_dim, "embed_dim")
        check_builder(norm_layer, "norm_layer")
        super().__init__()
        factory: Factory = {"device": device, "dtype": dtype}
        self.patch_size = list(patch)
        self.in_channels = in_channels
        self.embed_dim = embed_dim
        self.proj = nn.Conv3d(in_channels, embed_dim, kernel_size=patch, stride=patch, **factory)
        self.norm: nn.Module = (
            nn.Identity() if norm_layer is None else build_layer(norm_layer, "norm_layer", embed_dim, **factory)
        )

    def reset_parameters(self) -> None:
        """PyTorch's default initialisation of the convolution and the norm."""
        self.proj.reset_parameters()
        reset = getattr(self.norm, "reset_parameters", None)
        if callable(reset):
            reset()

    def forward(self, x: Tensor) -> Tensor:
        x = checked_channels_first(x, "PatchEmbedding3d", self.in_channels, 5, False, True)
        x = pad_to_patches(x, self.patch_size)
        return self.norm(self.proj(x).permute(0, 2, 3, 4, 1))

    def extra_repr(self) -> str:
        return f"patch_size={self.patch_size}, in_channels={self.in_channels}, embed_dim={self.embed_dim}"
