"""Reduction of per-element losses and validation of the ``reduction`` argument, shared by every loss.

Both helpers are plain TorchScript-compatible functions without data-dependent control flow, so the
losses that call them stay scriptable, exportable and free of graph breaks.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["REDUCTIONS", "check_reduction", "reduce_loss"]

REDUCTIONS = ("none", "mean", "sum")


def check_reduction(reduction: str) -> None:
    """Raises ``ValueError`` unless ``reduction`` is ``"none"``, ``"mean"`` or ``"sum"``.

    The message starts with torchvision's own text (code and tests match on it), then says it plainly.
    """
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(
            f"Invalid Value for arg 'reduction': '{reduction} \n Supported reduction modes: 'none', 'mean', 'sum'"
            f" (reduction must be one of 'none', 'mean', 'sum', got '{reduction}')"
        )


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    """Applies ``reduction`` to a per-element loss.

    ``"mean"`` of an empty loss is ``0`` (the empty sum), which keeps the autograd graph, where
    ``Tensor.mean`` would give ``NaN``.
    """
    if reduction == "mean":
        # Only the number of elements is inspected (a shape guard under compile, not a graph break).
        if loss.numel() == 0:
            return loss.sum()
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss
