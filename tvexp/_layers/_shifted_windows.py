"""Window partitioning for the Swin layers: padding, cyclic shift, partition and its inverse, the shift mask.

Everything here is written without Python branches on input sizes, so ``torch.export`` can keep the
spatial sizes dynamic (torchvision's functional decides padding, shift and the mask with ``if`` on
sizes, which specialises an exported program to one size):

- padding is always applied, with computed amounts that are zero where nothing is needed;
- torchvision turns the shift off along a dimension that one window covers (``size <= window``);
  here that is integer arithmetic on the sizes: ``single = 1 // windows`` is 1 exactly when there is
  one window, and the effective shift is ``shift * (1 - single)``;
- the video variant also shrinks such a window to the size (``window - (window - size) * single``);
- the shift mask is built from the (padded) sizes with tensor ops: each position gets a region
  label per dimension, ``(p >= P - window) * on + (p >= P - shift)`` (``on`` is 1 when the shift is
  non-zero), the labels of the dimensions are combined base 3, and tokens of one window whose labels
  differ get torchvision's ``-100.0`` (not ``-inf``: the value changes results and checkpoints were
  trained with it).

The functions are ``torch.fx`` leaves (symbolic tracing records one call) and compile under TorchScript.
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
    "merge_windows",
    "partition_windows",
    "shift_mask",
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
    Integer arithmetic only, so symbolic sizes stay symbolic.
    """
    windows: List[int] = []
    shifts: List[int] = []
    padded: List[int] = []
    for i in range(len(sizes)):
        size = sizes[i]
        window = window_size[i]
        single = 1 // ((size + window - 1) // window)  # 1 when one window covers this dimension, else 0
        if shrink:
            window = window - (window - size) * single
        windows.append(window)
        shifts.append(shift_size[i] * (1 - single))
        padded.append((size + window - 1) // window * window)  # a multiple of the window, also symbolically
    return windows, shifts, padded


def partition_windows(x: Tensor, window_size: List[int]) -> Tensor:
    """``(N, *P, C)`` with every ``P[i]`` a multiple of ``window_size[i]`` -> ``(N, windows, tokens, C)``."""
    rank = len(window_size)
    shape = [x.shape[0]]
    tokens = 1
    for i in range(rank):
        shape += [x.shape[i + 1] // window_size[i], window_size[i]]
        tokens *= window_size[i]
    shape.append(x.shape[-1])
    order = [0] + [1 + 2 * i for i in range(rank)] + [2 + 2 * i for i in range(rank)] + [2 * rank + 1]
    return x.view(shape).permute(order).reshape(x.shape[0], -1, tokens, x.shape[-1])


def merge_windows(windows: Tensor, padded: List[int], window_size: List[int]) -> Tensor:
    """The inverse of :func:`partition_windows`: ``(N, windows, tokens, C)`` -> ``(N, *padded, C)``."""
    rank = len(window_size)
    shape = [windows.shape[0]]
    shape += [padded[i] // window_size[i] for i in range(rank)]
    shape += window_size
    shape.append(windows.shape[-1])
    order = [0]
    for i in range(rank):
        order += [1 + i, 1 + rank + i]
    order.append(2 * rank + 1)
    return windows.reshape(shape).permute(order).reshape([windows.shape[0]] + padded + [windows.shape[-1]])


def pad_and_shift(x: Tensor, padded: List[int], shifts: List[int], shifted: bool) -> Tensor:
    """Pads ``(N, *S, C)`` at the end of each spatial dimension to ``padded``, then rolls by ``-shifts``."""
    rank = len(padded)
    amounts: List[int] = [0, 0]
    for i in range(rank - 1, -1, -1):  # F.pad lists the last dimension first
        amounts += [0, padded[i] - x.shape[i + 1]]
    x = F.pad(x, amounts)
    if shifted:
        x = torch.roll(x, [-s for s in shifts], [i + 1 for i in range(rank)])
    return x


def unshift_and_crop(x: Tensor, sizes: List[int], shifts: List[int], shifted: bool) -> Tensor:
    """The inverse of :func:`pad_and_shift`: rolls back and keeps the first ``sizes`` positions."""
    rank = len(sizes)
    if shifted:
        x = torch.roll(x, shifts, [i + 1 for i in range(rank)])
    for i in range(rank):
        x = x.narrow(i + 1, 0, sizes[i])
    return x


def shift_mask(
    padded: List[int], window_size: List[int], shifts: List[int], dtype: torch.dtype, device: torch.device
) -> Tensor:
    """The additive mask ``(windows, tokens, tokens)`` of a shifted-window attention (0 or -100)."""
    rank = len(padded)
    labels = torch.zeros([1] * rank, dtype=torch.long, device=device)
    for i in range(rank):
        size = padded[i]
        window = window_size[i]
        shift = shifts[i]
        positions = torch.arange(size, device=device)
        shifted = (shift + window - 1) // window  # 1 when this dimension is shifted, else 0
        region = (positions >= size - window).long() * shifted + (positions >= size - shift).long()
        view = [1] * rank
        view[i] = size
        labels = labels * 3 + region.view(view)
    labels = partition_windows(labels.unsqueeze(0).unsqueeze(-1), window_size)[0, :, :, 0]
    different = labels.unsqueeze(1) != labels.unsqueeze(2)
    return different.to(dtype) * -100.0  # torchvision's value (a literal: TorchScript reads no float globals)
