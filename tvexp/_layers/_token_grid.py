"""Tokens laid out on a ``T x H x W`` grid behind a leading class token (MViT, arXiv:2104.11227): checks of the
grid arguments and of the input, the grid size after pooling, and the pooling of such tokens."""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.fx
from torch import Tensor, nn

from tvexp._api.validation import InvalidInputError, is_integer
from tvexp._layers.multihead_self_attention import checked_tokens

__all__ = ["TokenGridPool", "check_grid_triple", "checked_grid_tokens", "pooled_size"]

Triple = tuple[int, int, int]


def check_grid_triple(value: Any, name: str, *, allow_empty: bool = False) -> tuple[int, ...]:
    """``value`` as a tuple of three positive ints ``(T, H, W)`` (or ``()`` where ``allow_empty``)."""
    what = "a sequence of three positive ints (T, H, W)" + (" or an empty sequence" if allow_empty else "")
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be {what}, got {value!r} of type {type(value).__name__}")
    items = tuple(value)
    if allow_empty and not items:
        return ()
    if len(items) != 3:
        raise ValueError(f"{name} must be {what}, got {value!r} ({len(items)} values)")
    for item in items:
        if not is_integer(item):
            raise TypeError(f"{name} must be {what}, got {value!r} (holding {item!r} of type {type(item).__name__})")
    result = tuple(int(item) for item in items)
    if min(result) < 1:
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return result


def pooled_size(size: Sequence[int], kernel_size: Sequence[int], stride: Sequence[int]) -> Triple:
    """The grid after a pooling with ``kernel_size``, ``stride`` and padding ``kernel_size // 2`` per dimension."""
    t, h, w = ((n + 2 * (k // 2) - k) // s + 1 for n, k, s in zip(size, kernel_size, stride))
    return (t, h, w)


def checked_grid_tokens(input: Tensor, layer: str, features: int, grid: Triple) -> Tensor:
    """``input`` if it is ``(N, 1 + T * H * W, features)``: a class token, then one token per cell of ``grid``."""
    input = checked_tokens(input, layer, features)
    length = 1 + grid[0] * grid[1] * grid[2]
    if input.shape[1] != length:
        raise InvalidInputError(
            f"{layer} expects {length} tokens (a class token and T*H*W = {grid[0]}*{grid[1]}*{grid[2]} grid "
            f"tokens) in dimension 1 of its input, got {input.shape[1]} (input shape {list(input.shape)})"
        )
    return input


# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_grid_tokens")


class TokenGridPool(nn.Module):
    """Pools the grid tokens of ``(N, heads, 1 + T * H * W, C)`` on their ``T x H x W`` grid, keeping the class
    token, then applies ``norm_act`` (torchvision's ``Pool``: submodules ``pool`` and ``norm_act``).

    ``pool`` maps ``(N * heads, C, T, H, W)`` to ``(N * heads, C, T', H', W')`` with ``output_size`` the grid
    ``(T', H', W')``; ``norm_act`` (an ``nn.Sequential``, or ``None``) acts on the last dimension after the
    class token is put back in front.
    """

    def __init__(self, pool: nn.Module, norm: nn.Module | None, input_size: Triple, output_size: Triple) -> None:
        super().__init__()
        self.pool = pool
        self.norm_act = nn.Sequential(norm) if norm is not None else None
        self.input_size = input_size
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        channels = x.shape[3]
        class_token, grid = x[:, :, :1], x[:, :, 1:]
        t, h, w = self.input_size
        # contiguous(): with a batch of one the reshape is a strided view, which the convolution would copy
        # in its forward and again in its backward (1.06-1.16x torchvision's block forward+backward).
        pooled = self.pool(grid.transpose(2, 3).reshape(x.shape[0] * x.shape[1], channels, t, h, w).contiguous())
        cells = self.output_size[0] * self.output_size[1] * self.output_size[2]
        grid = pooled.reshape(x.shape[0], x.shape[1], channels, cells).transpose(2, 3)
        x = torch.cat((class_token, grid), dim=2)
        if self.norm_act is not None:
            x = self.norm_act(x)
        return x

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, output_size={self.output_size}"
