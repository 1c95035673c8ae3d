"""DropBlock: dropping contiguous regions of feature maps, from `DropBlock: A regularization method
for convolutional networks <https://arxiv.org/abs/1810.12890>`_.

Semantics follow torchvision 0.29 (an independent mask per channel, its ``gamma`` formula and its
``numel / (eps + kept)`` normalisation), with its traps fixed: arguments are validated at
construction, and even or rectangular block sizes work and always keep the input shape.

Two implementations give the same distribution:

* eager mode on CPU samples the seed positions sparsely (the gaps between the seeds of a Bernoulli
  process are geometric, so only the few seeds are drawn, not one number per position) and zeroes
  the blocks by index arithmetic; this is where the speed comes from;
* while scripting, tracing, exporting or compiling (which need static shapes), on other devices,
  and for large ``p``, a dense path draws one Bernoulli number per valid seed position and grows
  the seeds into blocks with a separable max-pool.
"""

from __future__ import annotations

import functools
import math
from typing import Any, List, Optional, Tuple, Union

import torch
import torch.fx
import torch.nn.functional as F
from torch import Tensor, nn

from tvexp._api.tiers import prototype_parameters, stable
from tvexp._api.validation import check_bool, check_non_negative, check_probability, is_integer

__all__ = ["DropBlock2d", "DropBlock3d", "drop_block2d", "drop_block3d"]

# Above this drop probability the painted region is a large part of the tensor, and index
# arithmetic stops paying off against the dense path.
_SPARSE_MAX_P = 0.5  # (inlined in _drop_block: TorchScript cannot read globals)


def _block_dims(block_size: Any, spatial_dims: int) -> List[int]:
    """``block_size`` as one positive size per spatial dimension; rejects anything else.

    Integers may be any ``numbers.Integral`` (``numpy.int64``) or a 0-d integer tensor, as in torchvision.
    """
    if is_integer(block_size):
        sizes = [int(block_size)] * spatial_dims
    elif (
        isinstance(block_size, (tuple, list))
        and len(block_size) == spatial_dims
        and all(is_integer(size) for size in block_size)
    ):
        sizes = [int(size) for size in block_size]
    else:
        raise TypeError(f"block_size must be an int or a tuple of {spatial_dims} ints, got {block_size!r}")
    if any(size < 1 for size in sizes):
        raise ValueError(f"block_size must be positive, got {block_size!r}")
    return sizes


def _check_options(
    p: Any, block_size: Any, inplace: Any, eps: Any, spatial_dims: int
) -> tuple[float, Any, bool, float]:
    """``(p, block_size, inplace, eps)`` checked and converted to Python values; the one check of the
    functions and the modules. ``block_size`` keeps its form (an int, or a tuple of ints)."""
    p_value = check_probability(p, "p", torchvision_message=f"drop probability has to be between 0 and 1, but got {p}.")
    sizes = _block_dims(block_size, spatial_dims)
    block: Any = sizes[0] if is_integer(block_size) else tuple(sizes)
    return p_value, block, check_bool(inplace, "inplace"), check_non_negative(eps, "eps")


def _drop_block(input: Tensor, p: float, block: List[int], inplace: bool, eps: float, shared_mask: bool) -> Tensor:
    """Training-mode DropBlock over the trailing ``len(block)`` dimensions of ``input``."""
    spatial = input.shape[2:]
    # Like torchvision, a block never exceeds the feature map.
    block = [min(size, extent) for size, extent in zip(block, spatial)]
    valid = [extent - size + 1 for size, extent in zip(block, spatial)]
    area = 1
    block_area = 1
    valid_area = 1
    for extent, size, positions in zip(spatial, block, valid):
        area *= extent
        block_area *= size
        valid_area *= positions
    if input.numel() == 0:
        return input
    if not input.is_floating_point() and not input.is_complex() and not inplace:
        # As torchvision: an integer (or bool) input gives a result in the default floating dtype.
        input = input.to(torch.float32 if torch.jit.is_scripting() else torch.get_default_dtype())
    gamma = p * area / (block_area * valid_area)
    if (
        torch.jit.is_scripting()
        or torch.jit.is_tracing()
        or torch.compiler.is_compiling()
        or input.device.type != "cpu"
        or p > 0.5
    ):
        return _dense_drop_block(input, gamma, block, valid, inplace, eps, shared_mask)
    return _sparse_drop_block(input, gamma, block, valid, inplace, eps, shared_mask)


def _dense_drop_block(
    input: Tensor,
    gamma: float,
    block: List[int],
    valid: List[int],
    inplace: bool,
    eps: float,
    shared_mask: bool,
) -> Tensor:
    channels = 1 if shared_mask else input.shape[1]
    seeds = torch.empty([input.shape[0], channels] + valid, dtype=input.dtype, device=input.device)
    seeds.bernoulli_(gamma)
    # A seed at position i drops [i, i + size) along each dimension, so the block always lies
    # inside the map. Padding by size - 1 on both sides and max-pooling with a window of size
    # (one dimension at a time, which costs O(size) per element instead of O(size**d)) does that.
    dropped = seeds
    ndim = len(block)
    for dim in range(ndim):
        size = block[dim]
        if size == 1:
            continue
        padding = [0] * (2 * ndim)
        padding[2 * (ndim - 1 - dim)] = size - 1
        padding[2 * (ndim - 1 - dim) + 1] = size - 1
        dropped = F.pad(dropped, padding)
        kernel = [1] * ndim
        kernel[dim] = size
        if ndim == 2:
            dropped = F.max_pool2d(dropped, kernel, stride=1)
        else:
            dropped = F.max_pool3d(dropped, kernel, stride=1)
    keep = 1.0 - dropped
    expanded = input.shape[1] if shared_mask else 1
    scale = keep.numel() * expanded / (eps + keep.sum() * expanded)
    keep = keep * scale
    if inplace:
        return input.mul_(keep)
    return input * keep


def _is_dense(tensor: Tensor) -> bool:
    """Whether the elements of ``tensor`` fill its storage span without gaps or overlaps."""
    expected = 1
    for stride, size in sorted(zip(tensor.stride(), tensor.shape)):
        if size == 1:
            continue
        if stride != expected:
            return False
        expected *= size
    return True


@torch.jit.unused
def _seed_positions(count: int, gamma: float, device: torch.device, draws: Optional[int] = None) -> Tensor:
    """Sorted positions of the successes of ``count`` Bernoulli(``gamma``) trials, as float64.

    The gaps between successes are geometric, so drawing the gaps costs O(successes), not O(count).
    They come from uniform numbers by inversion, ``1 + floor(log(1 - u) / log(1 - gamma))``, which
    is several times cheaper than ``geometric_`` on the CPU. Float64 holds every position exactly
    (they stay far below 2**52), so the index arithmetic that follows can stay in vectorised
    floating point instead of integer division. ``draws`` (gaps drawn per batch) is for tests.
    """
    if gamma >= 1.0:
        return torch.arange(count, dtype=torch.float64, device=device)
    expected = count * gamma
    batch = int(expected + 8.0 * math.sqrt(expected) + 16) if draws is None else draws
    log_q = math.log1p(-gamma)

    def gaps() -> Tensor:
        uniform = torch.empty(batch, dtype=torch.float64, device=device).uniform_()
        return uniform.neg_().log1p_().div_(log_q).floor_().add_(1.0).cumsum_(0)

    positions = gaps().sub_(1.0)
    while float(positions[-1]) < count:
        positions = torch.cat([positions, gaps().add_(positions[-1])])
    return positions[: int(torch.searchsorted(positions, float(count)))]


@torch.jit.unused
def _block_offsets(block: List[int], strides: List[int], device: torch.device) -> Tensor:
    """Storage offsets of every element of a block, relative to its first element."""
    return _cached_block_offsets(tuple(block), tuple(strides), str(device))


@functools.lru_cache(maxsize=64)
def _cached_block_offsets(block: Tuple[int, ...], strides: Tuple[int, ...], device: str) -> Tensor:
    # Cached because a layer sees the same shapes at every step; callers never modify the result.
    offsets = torch.zeros(1, dtype=torch.int64, device=device)
    for size, stride in zip(block, strides):
        offsets = (offsets[:, None] + torch.arange(size, device=device) * stride).reshape(-1)
    return offsets


class _ZeroBlocksAndScale(torch.autograd.Function):
    """``input * scale`` with the elements at ``index`` (storage offsets) set to zero."""

    @staticmethod
    def forward(ctx: Any, input: Tensor, index: Tensor, scale: float, inplace: bool, strides: list[int]) -> Tensor:
        if inplace:
            output = input.mul_(scale)
            ctx.mark_dirty(input)
        else:
            # The offsets in ``index`` were computed for ``strides``: allocate exactly that layout
            # (``input * scale`` may pick another one for a non-dense input).
            output = torch.empty_strided(input.shape, strides, dtype=input.dtype, device=input.device)
            torch.mul(input, scale, out=output)
        _storage_view(output).index_fill_(0, index, 0)
        ctx.save_for_backward(index)
        ctx.scale = scale
        ctx.strides = output.stride()
        return output

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None, None, None]:
        (index,) = ctx.saved_tensors
        # The offsets refer to the output's layout, so the gradient is written in that layout.
        grad_input = torch.empty_strided(grad.shape, ctx.strides, dtype=grad.dtype, device=grad.device)
        torch.mul(grad, ctx.scale, out=grad_input)
        _storage_view(grad_input).index_fill_(0, index, 0)
        return grad_input, None, None, None, None


def _storage_view(tensor: Tensor) -> Tensor:
    return tensor.as_strided((tensor.numel(),), (1,), tensor.storage_offset())


@torch.jit.unused
def _sparse_drop_block(
    input: Tensor,
    gamma: float,
    block: List[int],
    valid: List[int],
    inplace: bool,
    eps: float,
    shared_mask: bool,
) -> Tensor:
    batch, channels = input.shape[0], input.shape[1]
    valid_area = math.prod(valid)
    planes = batch if shared_mask else batch * channels
    seeds = _seed_positions(planes * valid_area, gamma, input.device)
    if shared_mask:
        # One mask per sample, broadcast over channels: paint a small (N, 1, *spatial) keep mask.
        spatial = list(input.shape[2:])
        keep = torch.ones([batch, 1] + spatial, dtype=input.dtype, device=input.device)
        strides = list(keep.stride())
        index = _seed_offsets(seeds, valid, strides, channels=1)
        index = (index[:, None] + _block_offsets(block, strides[2:], input.device)).reshape(-1)
        keep.view(-1).index_fill_(0, index, 0)
        kept = keep.sum(dtype=torch.float64).item() * channels
        keep.mul_(input.numel() / (eps + kept))
        return input.mul_(keep) if inplace else input * keep

    output_like = input if (not inplace or _is_dense(input)) else None
    if output_like is None:
        # A non-dense tensor modified in place has no storage-offset arithmetic; use the dense path.
        return _dense_drop_block(input, gamma, block, valid, inplace, eps, shared_mask)
    # A dense input's layout is kept; anything else is written contiguous.
    strides = list(input.stride()) if _is_dense(input) else list(torch.empty(0).new_empty(input.shape).stride())
    index = _seed_offsets(seeds, valid, strides, channels=channels)
    index = (index[:, None] + _block_offsets(block, strides[2:], input.device)).reshape(-1)
    kept = input.numel() - _count_marked(index, input.numel())
    scale = input.numel() / (eps + kept)
    return _ZeroBlocksAndScale.apply(input, index, scale, inplace, strides)


@torch.jit.unused
def _seed_offsets(seeds: Tensor, valid: List[int], strides: List[int], channels: int) -> Tensor:
    """Storage offsets (int64) of the first element of each seed's block.

    ``seeds`` (float64, exact integers) index the grid planes x valid positions. The quotients are
    taken in float64 (vectorised, unlike int64 division); ``floor(a / b)`` is exact for integers
    below 2**52.
    """
    if channels > 1 and strides[0] == channels * strides[1]:
        # Planes are evenly spaced in storage (contiguous layouts): one plane index suffices.
        channels = 1
        strides = [strides[1]] + strides[1:]
    offsets: Optional[Tensor] = None
    remainder = seeds
    sizes = list(valid)
    dims = list(strides[2:])
    if channels > 1:
        sizes.insert(0, channels)
        dims.insert(0, strides[1])
    for positions, stride in zip(reversed(sizes), reversed(dims)):
        quotient = (remainder / positions).floor_()
        part = (remainder - quotient * positions).mul_(stride)
        offsets = part if offsets is None else offsets.add_(part)
        remainder = quotient
    assert offsets is not None
    return offsets.add_(remainder.mul_(strides[0])).long()


@torch.jit.unused
def _count_marked(index: Tensor, numel: int) -> int:
    """How many distinct values ``index`` (in ``[0, numel)``, with repeats) holds."""
    # Mark a byte per element, then add the bytes eight at a time: multiplying a word of 0/1 bytes
    # by 0x0101010101010101 gathers their sum in its top byte. This beats count_nonzero or a
    # widening sum over the bytes by about 2x on the CPU.
    marks = torch.zeros(numel + (-numel) % 8, dtype=torch.uint8, device=index.device)
    marks.index_fill_(0, index, 1)
    words = marks.view(torch.int64)
    return int(words.mul_(0x0101010101010101).bitwise_right_shift_(56).sum())


def _check_input(input: Tensor, p: float, block: List[int], spatial_dims: int) -> None:
    if not (p >= 0.0 and p <= 1.0):
        raise ValueError(
            f"drop probability has to be between 0 and 1, but got {p}. (p must be a probability in [0, 1], got {p})"
        )
    if input.dim() != spatial_dims + 2:
        raise ValueError(
            f"input should be {spatial_dims + 2} dimensional. Got {input.dim()} dimensions. (input must have "
            f"{spatial_dims + 2} dimensions (N, C, {'D, ' if spatial_dims == 3 else ''}H, W), got {input.dim()})"
        )
    for size in block:
        if size < 1:
            raise ValueError(f"block_size must be positive, got {block}")


def _checked_rank(input: Tensor, ndim: int) -> Tensor:
    if input.dim() != ndim:
        raise ValueError(
            f"input should be {ndim} dimensional. Got {input.dim()} dimensions. (input must have {ndim} "
            f"dimensions, got {input.dim()})"
        )
    return input


# A leaf for FX: the rank check reads a traced value.
torch.fx.wrap("_checked_rank")


def _functional2d(
    input: Tensor,
    p: float,
    block_size: Union[int, Tuple[int, int]],
    inplace: bool,
    eps: float,
    training: bool,
    shared_mask: bool,
) -> Tensor:
    if isinstance(block_size, int):
        block = [block_size, block_size]
    else:
        if len(block_size) != 2:
            raise ValueError(f"block_size must be an int or a tuple of 2 ints, got {block_size}")
        block = [block_size[0], block_size[1]]
    _check_input(input, p, block, 2)
    if not training or p == 0.0:
        return input
    return _drop_block(input, p, block, inplace, eps, shared_mask)


def _functional3d(
    input: Tensor,
    p: float,
    block_size: Union[int, Tuple[int, int, int]],
    inplace: bool,
    eps: float,
    training: bool,
    shared_mask: bool,
) -> Tensor:
    if isinstance(block_size, int):
        block = [block_size, block_size, block_size]
    else:
        if len(block_size) != 3:
            raise ValueError(f"block_size must be an int or a tuple of 3 ints, got {block_size}")
        block = [block_size[0], block_size[1], block_size[2]]
    _check_input(input, p, block, 3)
    if not training or p == 0.0:
        return input
    return _drop_block(input, p, block, inplace, eps, shared_mask)


@stable(since="0.1.0")
def drop_block2d(
    input: Tensor,
    p: float,
    block_size: Union[int, Tuple[int, int]],
    inplace: bool = False,
    eps: float = 1e-06,
    training: bool = True,
) -> Tensor:
    """Zeroes random square (or rectangular) blocks of a batch of feature maps.

    From `DropBlock: A regularization method for convolutional networks
    <https://arxiv.org/abs/1810.12890>`_. Each (sample, channel) plane gets its own mask, as in
    torchvision: block seeds are drawn with probability
    ``gamma = p * H * W / (bh * bw * (H - bh + 1) * (W - bw + 1))`` at the positions where a whole
    block fits, every seed zeroes the ``bh x bw`` block whose top-left corner it is (so blocks lie
    inside the map, for odd and even sizes alike), and the result is multiplied by
    ``numel / (eps + kept)``. A block larger than the map is clamped to the map. The mask shared
    by all channels (timm's default) is the prototype option ``DropBlock2d(shared_mask=True)``.

    Args:
        input: Feature maps ``(N, C, H, W)``.
        p: Probability of an element being dropped, in ``[0, 1]``.
        block_size: Side of the dropped blocks, or ``(bh, bw)`` for rectangular blocks.
        inplace: Modify ``input`` in place.
        eps: Added to the number of kept elements in the normalisation.
        training: Apply DropBlock; ``False`` returns ``input`` unchanged.

    Shape:
        - Input: ``(N, C, H, W)``.
        - Output: same as the input.

    Example:
        >>> x = torch.ones(2, 3, 16, 16)
        >>> drop_block2d(x, p=0.1, block_size=4).shape
        torch.Size([2, 3, 16, 16])
        >>> drop_block2d(x, p=0.1, block_size=4, training=False) is x
        True
    """
    if not torch.jit.is_scripting():
        # The modules' validator: a NaN p or a float block size fail here, naming the argument.
        p, block_size, inplace, eps = _check_options(p, block_size, inplace, eps, 2)
    return _functional2d(input, p, block_size, inplace, eps, training, False)


@stable(since="0.1.0")
def drop_block3d(
    input: Tensor,
    p: float,
    block_size: Union[int, Tuple[int, int, int]],
    inplace: bool = False,
    eps: float = 1e-06,
    training: bool = True,
) -> Tensor:
    """Zeroes random cubic (or cuboid) blocks of a batch of volumes.

    The 3-d form of :func:`drop_block2d` (same paper): seeds are drawn with probability
    ``gamma = p * D * H * W / (bd * bh * bw * (D - bd + 1) * (H - bh + 1) * (W - bw + 1))``, one
    mask per (sample, channel), and the result is multiplied by ``numel / (eps + kept)``.

    Args:
        input: Volumes ``(N, C, D, H, W)``.
        p: Probability of an element being dropped, in ``[0, 1]``.
        block_size: Side of the dropped blocks, or ``(bd, bh, bw)``.
        inplace: Modify ``input`` in place.
        eps: Added to the number of kept elements in the normalisation.
        training: Apply DropBlock; ``False`` returns ``input`` unchanged.

    Shape:
        - Input: ``(N, C, D, H, W)``.
        - Output: same as the input.

    Example:
        >>> x = torch.ones(2, 3, 8, 8, 8)
        >>> drop_block3d(x, p=0.1, block_size=(2, 3, 3)).shape
        torch.Size([2, 3, 8, 8, 8])
    """
    if not torch.jit.is_scripting():
        p, block_size, inplace, eps = _check_options(p, block_size, inplace, eps, 3)
    return _functional3d(input, p, block_size, inplace, eps, training, False)


# Symbolic tracing records the functions as leaves (their Python-side checks cannot see proxies).
torch.fx.wrap("drop_block2d")
torch.fx.wrap("drop_block3d")
torch.fx.wrap("_functional2d")
torch.fx.wrap("_functional3d")


@stable(since="0.1.0")
class DropBlock2d(nn.Module):
    """Zeroes random blocks of feature maps in training; the identity in eval mode.

    See :func:`drop_block2d` (from `DropBlock <https://arxiv.org/abs/1810.12890>`_) for the
    sampling and normalisation. Differences from torchvision: ``p`` and ``block_size`` are checked
    here rather than at the first forward, and even or rectangular block sizes are accepted.

    Args:
        p: Probability of an element being dropped, in ``[0, 1]``.
        block_size: Side of the dropped blocks, or ``(bh, bw)`` for rectangular blocks.
        inplace: Modify the input in place.
        eps: Added to the number of kept elements in the normalisation.
        shared_mask: Prototype option: one mask per sample shared by all channels (timm's default)
            instead of one per channel (torchvision's).
        device: Accepted for the ``torch.nn`` factory convention (the layer has no parameters).
        dtype: Accepted for the ``torch.nn`` factory convention.

    Shape:
        - Input: ``(N, C, H, W)``.
        - Output: same as the input.

    Example:
        >>> layer = DropBlock2d(p=0.1, block_size=3)
        >>> layer
        DropBlock2d(p=0.1, block_size=3, inplace=False)
        >>> layer(torch.ones(2, 4, 10, 10)).shape
        torch.Size([2, 4, 10, 10])
    """

    _spatial_dims = 2

    @prototype_parameters(shared_mask="0.1.0")
    def __init__(
        self,
        p: float,
        block_size: Union[int, Tuple[int, int]],
        inplace: bool = False,
        eps: float = 1e-06,
        *,
        shared_mask: bool = False,
        device: torch.device | str | None = None,  # noqa: ARG002  (accepted like every layer; nothing to allocate)
        dtype: torch.dtype | None = None,  # noqa: ARG002
    ) -> None:
        super().__init__()
        self._configure(p, block_size, inplace, eps, shared_mask)

    def _configure(
        self, p: float, block_size: Union[int, Tuple[int, ...]], inplace: bool, eps: float, shared_mask: bool
    ) -> None:
        p, block_size, inplace, eps = _check_options(p, block_size, inplace, eps, self._spatial_dims)
        check_bool(shared_mask, "shared_mask")
        self.p = p
        self.block_size = block_size
        self.inplace = inplace
        self.eps = eps
        self.shared_mask = shared_mask

    def forward(self, input: Tensor) -> Tensor:
        # p and block_size were validated at construction; an inactive layer only checks the rank.
        if not self.training or self.p == 0.0:
            return _checked_rank(input, 4)
        return _functional2d(
            input,
            self.p,
            self.block_size,  # type: ignore[arg-type]
            self.inplace,
            self.eps,
            self.training,
            self.shared_mask,
        )

    def extra_repr(self) -> str:
        text = f"p={self.p}, block_size={self.block_size}, inplace={self.inplace}"
        if self.eps != 1e-06:
            text += f", eps={self.eps}"
        if self.shared_mask:
            text += ", shared_mask=True"
        return text


@stable(since="0.1.0")
class DropBlock3d(DropBlock2d):
    """Zeroes random blocks of volumes in training; the identity in eval mode.

    See :func:`drop_block3d` (from `DropBlock <https://arxiv.org/abs/1810.12890>`_). A subclass of
    :class:`DropBlock2d`, as in torchvision.

    Args:
        p: Probability of an element being dropped, in ``[0, 1]``.
        block_size: Side of the dropped blocks, or ``(bd, bh, bw)``.
        inplace: Modify the input in place.
        eps: Added to the number of kept elements in the normalisation.
        shared_mask: Prototype option: one mask per sample shared by all channels.
        device: Accepted for the ``torch.nn`` factory convention (the layer has no parameters).
        dtype: Accepted for the ``torch.nn`` factory convention.

    Shape:
        - Input: ``(N, C, D, H, W)``.
        - Output: same as the input.

    Example:
        >>> layer = DropBlock3d(p=0.2, block_size=(1, 3, 3))
        >>> layer(torch.ones(2, 4, 6, 10, 10)).shape
        torch.Size([2, 4, 6, 10, 10])
    """

    _spatial_dims = 3

    @prototype_parameters(shared_mask="0.1.0")
    def __init__(
        self,
        p: float,
        block_size: Union[int, Tuple[int, int, int]],
        inplace: bool = False,
        eps: float = 1e-06,
        *,
        shared_mask: bool = False,
        device: torch.device | str | None = None,  # noqa: ARG002  (accepted like every layer; nothing to allocate)
        dtype: torch.dtype | None = None,  # noqa: ARG002
    ) -> None:
        # Not DropBlock2d.__init__: its prototype-option check would announce under the wrong name.
        nn.Module.__init__(self)
        self._configure(p, block_size, inplace, eps, shared_mask)

    def forward(self, input: Tensor) -> Tensor:
        # p and block_size were validated at construction; an inactive layer only checks the rank.
        if not self.training or self.p == 0.0:
            return _checked_rank(input, 5)
        return _functional3d(
            input,
            self.p,
            self.block_size,  # type: ignore[arg-type]
            self.inplace,
            self.eps,
            self.training,
            self.shared_mask,
        )
