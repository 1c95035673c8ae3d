"""Window partitioning for the Swin layers: padding, cyclic shift, partition and its inverse, the shift mask.

Everything here is written without Python branches on input sizes, so ``torch.export`` keeps the
spatial sizes dynamic (torchvision's functional decides padding, shift and the mask with ``if`` on
sizes, which specialises an exported program to one size):

- padding is always applied, with computed amounts that are zero where nothing is needed;
- torchvision turns the shift off along a dimension that one window covers (``size <= window``);
  here that is integer arithmetic on the sizes: ``single = 1 // windows`` is 1 exactly when there is
  one window, and the effective shift is ``shift * (1 - single)``;
- the video variant also shrinks such a window to the size: ``min(size, window)`` (``torch.sym_min``
  outside TorchScript). Export reasons about a symbolic ``Min`` quickly; the equivalent integer formula
  ``window - (window - size) * single`` nested floor divisions into every size and guard, and exporting a
  3-D block with dynamic depth, height and width did not finish in 400 s (a few seconds now). The padded
  size is written ``windows * window``, so that ``padded // window`` simplifies back to ``windows``;
- roll + partition is one gather from the padded map, and merge + roll back + crop one gather from the
  windows: the indices are integer arithmetic on one ``arange`` (:func:`window_coordinates`), so no
  view's shape depends on the number of windows along a dimension, and torch's contiguity checks
  (size branches that export would specialise) never see a cropped view. It also saves torchvision's
  roll and permute copies: one pad and one gather in, one gather out (under ``torch.export`` the
  attention partitions with one advanced index per dimension instead and folds the windows into the batch:
  see ``shifted_window_attention``);
- the shift mask is built from the same coordinates: each token gets a region label per dimension,
  ``(p >= P - window) * on + (p >= P - shift)`` (``on`` is 1 when the shift is non-zero), the labels of
  the dimensions are combined base 3, and tokens of one window whose labels differ get torchvision's
  ``-100.0`` (not ``-inf``: the value changes results and checkpoints were trained with it).

The functions compile under TorchScript; the attention calls them from a ``torch.fx`` leaf.
"""

from __future__ import annotations

from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from tvexp._api.validation import InvalidInputError, as_int

__all__ = [
    "check_window_and_shift",
    "checked_channels_last",
    "effective_windows",
    "label_mask",
    "pad_to_windows",
    "partition_index",
    "region_labels",
    "shift_mask",
    "window_coordinates",
    "window_token_index",
]


def check_window_and_shift(
    window_size: object, shift_size: object, ranks: Tuple[int, ...]
) -> tuple[list[int], list[int]]:
    """``window_size`` and ``shift_size`` as lists of ints of one allowed length, ``0 <= shift < window``."""
    allowed = " or ".join(str(rank) for rank in ranks)
    sizes: list[list[int]] = []
    for name, value, minimum in (("window_size", window_size, 1), ("shift_size", shift_size, 0)):
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise TypeError(f"{name} must be a list or tuple of {allowed} ints, got {value!r}")
        if len(value) not in ranks:
            raise ValueError(f"{name} must have {allowed} entries (one per spatial dimension), got {list(value)!r}")
        what = "positive ints" if minimum == 1 else "non-negative ints"
        items = [as_int(item, name, f"a list of {what}") for item in value]
        if any(item < minimum for item in items):
            raise ValueError(f"{name} must contain {what}, got {items!r}")
        sizes.append(items)
    window, shift = sizes
    if len(window) != len(shift):
        raise ValueError(
            f"window_size and shift_size must have the same length, got window_size={window!r} and shift_size={shift!r}"
        )
    if any(s >= w for s, w in zip(shift, window)):
        raise ValueError(
            f"shift_size must be smaller than window_size in every dimension, got shift_size={shift!r} and "
            f"window_size={window!r}"
        )
    return window, shift


def checked_channels_last(input: Tensor, layer: str, channels: int, spatial_dims: int) -> Tensor:
    """``input`` if it is a floating-point ``(N, *spatial, channels)`` tensor with ``spatial_dims`` sizes."""
    if not input.is_floating_point():
        raise InvalidInputError(f"{layer} expects a floating-point input, got dtype {input.dtype}")
    layout = f"(N, H, W, {channels})" if spatial_dims == 2 else f"(N, T, H, W, {channels})"
    if input.dim() != spatial_dims + 2:
        raise InvalidInputError(
            f"{layer} expects a {spatial_dims + 2}-D channels-last input {layout}, got a {input.dim()}-D input "
            f"of shape {list(input.shape)}"
        )
    if input.shape[-1] != channels:
        raise InvalidInputError(
            f"{layer} expects {channels} channels in the last dimension of its input {layout}, got "
            f"{input.shape[-1]} (input shape {list(input.shape)})"
        )
    return input


def effective_windows(
    sizes: List[int], window_size: List[int], shift_size: List[int], shrink: bool
) -> Tuple[List[int], List[int], List[int]]:
    """The windows, shifts and padded sizes used on an input of spatial ``sizes``.

    Along a dimension that one window covers (``size <= window``) the shift is 0, as in torchvision;
    with ``shrink`` (video Swin) the window there is also cut to the size (and nothing is padded).
    Integer arithmetic and ``sym_min`` only, so symbolic sizes stay symbolic.
    """
    windows: List[int] = []
    shifts: List[int] = []
    padded: List[int] = []
    for i in range(len(sizes)):
        size = sizes[i]
        window = window_size[i]
        count = (size + window - 1) // window  # windows along this dimension
        single = 1 // count  # 1 when one window covers this dimension, else 0
        if shrink:
            # min(size, window): the window covers the dimension exactly where it is the larger
            window = min(size, window) if torch.jit.is_scripting() else torch.sym_min(size, window)
        windows.append(window)
        shifts.append(shift_size[i] * (1 - single))
        padded.append(count * window)
    return windows, shifts, padded


def window_coordinates(padded: List[int], window_size: List[int], device: torch.device) -> List[Tensor]:
    """Per spatial dimension, the coordinate of every window token in the (padded, shifted) map.

    Tokens are numbered window by window (windows in row-major order, then tokens in row-major order
    inside each window, as torchvision's partition): entry ``i`` holds, for each of the
    ``windows * tokens`` tokens, its coordinate along dimension ``i``. Built from one ``arange`` with
    integer arithmetic, so no view depends on whether a dimension has one window or several.
    """
    rank = len(padded)
    tokens = 1
    count = 1
    for i in range(rank):
        tokens *= window_size[i]
        count *= padded[i] // window_size[i]
    flat = torch.arange(count * tokens, device=device)
    window = flat // tokens
    token = flat % tokens
    coordinates: List[Tensor] = []
    for i in range(rank - 1, -1, -1):
        windows_here = padded[i] // window_size[i]
        coordinates.insert(0, (window % windows_here) * window_size[i] + token % window_size[i])
        window = window // windows_here
        token = token // window_size[i]
    return coordinates


def pad_to_windows(x: Tensor, padded: List[int]) -> Tensor:
    """Zero-pads ``(N, *S, C)`` at the end of each spatial dimension to ``padded`` (amounts may be zero)."""
    amounts: List[int] = [0, 0]
    for i in range(len(padded) - 1, -1, -1):  # F.pad lists the last dimension first
        amounts += [0, padded[i] - x.shape[i + 1]]
    return F.pad(x, amounts)


def partition_index(coordinates: List[Tensor], padded: List[int], shifts: List[int]) -> Tensor:
    """The flat position in the padded map of each window token after a roll by ``-shifts``.

    ``padded_map.flatten(1, rank).index_select(1, index)`` is torchvision's roll + partition in one gather.
    """
    index = torch.zeros_like(coordinates[0])
    for i in range(len(padded)):
        index = index * padded[i] + (coordinates[i] + shifts[i]) % padded[i]
    return index


def region_labels(coordinates: List[Tensor], padded: List[int], window_size: List[int], shifts: List[int]) -> Tensor:
    """Each window token's region of the shifted map, ``(windows * tokens,)``: tokens of one window attend
    to each other only where their labels are equal."""
    labels = torch.zeros_like(coordinates[0])
    for i in range(len(padded)):
        size = padded[i]
        shifted = (shifts[i] + window_size[i] - 1) // window_size[i]  # 1 when this dimension is shifted, else 0
        position = coordinates[i]
        region = (position >= size - window_size[i]).long() * shifted + (position >= size - shifts[i]).long()
        labels = labels * 3 + region
    return labels


def label_mask(labels: Tensor, dtype: torch.dtype) -> Tensor:
    """``(..., tokens)`` region labels -> the additive ``(..., tokens, tokens)`` mask (0 or -100)."""
    different = labels.unsqueeze(-2) != labels.unsqueeze(-1)
    return different.to(dtype) * -100.0  # torchvision's value (a literal: TorchScript reads no float globals)


def shift_mask(
    coordinates: List[Tensor],
    padded: List[int],
    window_size: List[int],
    shifts: List[int],
    count: int,
    dtype: torch.dtype,
) -> Tensor:
    """The additive mask ``(windows, tokens, tokens)`` of a shifted-window attention (0 or -100)."""
    return label_mask(region_labels(coordinates, padded, window_size, shifts).view(count, -1), dtype)


def window_token_index(
    sizes: List[int], padded: List[int], window_size: List[int], shifts: List[int], device: torch.device
) -> Tensor:
    """For each position of a ``sizes`` map, its flat index among the ``(windows * tokens)`` window tokens.

    The windows are those of the padded map rolled by ``-shifts``: position ``p`` sits at ``(p - shift) mod
    padded`` there. ``windows.flatten(1, 2).index_select(1, index)`` undoes partition, roll and padding
    in one gather.
    """
    rank = len(sizes)
    window = torch.zeros([1] * rank, dtype=torch.long, device=device)
    token = torch.zeros([1] * rank, dtype=torch.long, device=device)
    for i in range(rank):
        # (p - shift) mod padded, on non-negative values (inductor's range analysis rejects a negative remainder)
        rolled = (torch.arange(sizes[i], device=device) + (padded[i] - shifts[i])) % padded[i]
        view = [1] * rank
        view[i] = sizes[i]
        window = window * (padded[i] // window_size[i]) + (rolled // window_size[i]).view(view)
        token = token * window_size[i] + (rolled % window_size[i]).view(view)
    tokens = 1
    for w in window_size:
        tokens *= w
    return (window * tokens + token).reshape(-1)
