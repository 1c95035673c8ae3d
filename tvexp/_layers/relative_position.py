"""Relative-position indices of a window of tokens: where each pair of tokens finds its learned bias.

A window of ``height x width`` tokens has ``(2 * height - 1) * (2 * width - 1)`` distinct offsets
between two of its tokens. A bias table holds one row per offset (and one column per attention
head); the index maps every pair ``(i, j)`` of tokens, in row-major order, to the row of its
offset. Swin (arXiv:2103.14030) and MaxViT (arXiv:2204.01697) number the offsets the same way:
``(dy + height - 1) * (2 * width - 1) + (dx + width - 1)``.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["relative_position_index", "relative_position_table_size"]


def relative_position_table_size(window: tuple[int, int]) -> int:
    """Rows of the bias table of a ``(height, width)`` window: the number of distinct offsets."""
    return (2 * window[0] - 1) * (2 * window[1] - 1)


def relative_position_index(window: tuple[int, int], device: torch.device | str | None = None) -> Tensor:
    """The ``(height * width, height * width)`` int64 index of the offset of each pair of tokens.

    Example:
        >>> relative_position_index((1, 2))
        tensor([[1, 0],
                [2, 1]])
    """
    height, width = window
    rows = torch.arange(height, device=device).repeat_interleave(width)
    columns = torch.arange(width, device=device).repeat(height)
    dy = rows[:, None] - rows[None, :] + (height - 1)
    dx = columns[:, None] - columns[None, :] + (width - 1)
    return dy * (2 * width - 1) + dx
