"""Checks of a layer's forward input: rank, channel count and dtype, with messages naming the expected input.

Torch reports a wrong input from deep inside a kernel (``Given groups=1, weight of size ...``,
``mixed dtype (CPU)``, ``running_mean should contain 8 elements not 4``), or not at all: a
``(C, L)`` input to a 1-D block reaches ``BatchNorm1d`` as a batch of ``C`` samples. These checks
read only static properties (rank, sizes, dtype), so they cost nothing under scripting, export and
compile; they are ``torch.fx`` leaves, so symbolic tracing records one call instead of failing on
the branches. They raise :class:`~tvexp._api.validation.InvalidInputError`, a ``ValueError`` that is
also a ``RuntimeError``, the type torch raised before, so existing ``except`` clauses keep working.
"""

from __future__ import annotations

from torch import Tensor

from tvexp._api.validation import InvalidInputError

__all__ = ["checked_channels_first", "checked_features"]


def _layout(rank: int) -> str:
    if rank == 2:
        return "(N, C)"
    if rank == 3:
        return "(N, C, L)"
    if rank == 4:
        return "(N, C, H, W)"
    if rank == 5:
        return "(N, C, D, H, W)"
    return f"a {rank}-D (N, C, ...)"


def checked_channels_first(
    input: Tensor, layer: str, channels: int, rank: int, allow_unbatched: bool, check_dtype: bool
) -> Tensor:
    """``input`` if it is ``rank``-D with ``channels`` in dimension 1 (or ``(rank - 1)``-D with them in
    dimension 0, when ``allow_unbatched``) and, with ``check_dtype``, floating point or quantized."""
    if check_dtype and not (input.is_floating_point() or input.is_quantized):
        raise InvalidInputError(f"{layer} expects a floating-point input, got dtype {input.dtype}")
    dim = input.dim()
    if dim == rank:
        channel_dim = 1
    elif allow_unbatched and dim == rank - 1:
        channel_dim = 0
    else:
        also = f" or an unbatched {_layout(rank).replace('N, ', '')}" if allow_unbatched else ""
        hint = "; for a single unbatched sample, pass input.unsqueeze(0)" if dim == rank - 1 else ""
        raise InvalidInputError(
            f"{layer} expects a {rank}-D input {_layout(rank)}{also}, got a {dim}-D input of shape "
            f"{list(input.shape)}{hint}"
        )
    if input.shape[channel_dim] != channels:
        raise InvalidInputError(
            f"{layer} expects {channels} channels in dimension {channel_dim} of its input, got "
            f"{input.shape[channel_dim]} (input shape {list(input.shape)})"
        )
    return input


def checked_features(input: Tensor, layer: str, features: int) -> Tensor:
    """``input`` if its last dimension holds ``features`` values and it is floating point or quantized."""
    if not (input.is_floating_point() or input.is_quantized):
        raise InvalidInputError(f"{layer} expects a floating-point input, got dtype {input.dtype}")
    if input.dim() == 0 or input.shape[-1] != features:
        raise InvalidInputError(
            f"{layer} expects {features} features in the last dimension of its input (*, {features}), got shape "
            f"{list(input.shape)}"
        )
    return input


# torch.fx.wrap patches a name in the module that calls it: each module using these checks calls
# ``torch.fx.wrap("checked_channels_first")`` (or ``"checked_features"``) itself, at its top level.
