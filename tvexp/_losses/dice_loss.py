"""Soft Dice loss for segmentation, from Milletari et al., "V-Net" (3DV 2016)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import as_int, check_non_negative
from tvexp._losses._reduction import check_reduction, reduce_loss

__all__ = ["DiceLoss", "dice_loss"]


def _check_options(smooth: Any, ignore_index: Any, reduction: str) -> tuple[float, int]:
    """``(smooth, ignore_index)`` as a float and an int: the one check of the function and the module."""
    check_reduction(reduction)
    return check_non_negative(smooth, "smooth"), as_int(ignore_index, "ignore_index")


def _dice_loss(logits: Tensor, target: Tensor, smooth: float, ignore_index: int, reduction: str) -> Tensor:
    """The loss itself, options already validated; the module's forward calls this."""
    if logits.dim() == 0 or target.dim() == 0:
        raise ValueError(
            "logits and target must have a batch dimension: logits (N, ...) with target (N, ...), or "
            f"(N, C, ...) with class indices (N, ...); got shapes {list(logits.shape)} and {list(target.shape)}"
        )
    if logits.is_complex() or not logits.is_floating_point():
        raise ValueError(f"logits must be a floating-point tensor, got dtype {logits.dtype}")
    dtype = logits.dtype
    if dtype == torch.float16 or dtype == torch.bfloat16:
        logits = logits.float()
    if logits.dim() == 1:
        logits = logits.unsqueeze(1)
        target = target.unsqueeze(1)
    if target.dim() == logits.dim() - 1 and logits.shape[1] > 1:
        # Multi-class: softmax over dimension 1, one Dice per class, averaged over the classes.
        if target.is_floating_point() or target.dtype == torch.bool:
            raise ValueError(f"multi-class target must hold integer class indices, got dtype {target.dtype}")
        if target.shape[:1] != logits.shape[:1] or target.shape[1:] != logits.shape[2:]:
            # Broadcasting in the comparisons below would otherwise accept, e.g., a (1, H, W) target.
            raise ValueError(
                "multi-class target must have the shape of logits without dimension 1 "
                f"({list(logits.shape[:1]) + list(logits.shape[2:])}), got logits {list(logits.shape)} "
                f"and target {list(target.shape)}"
            )
        if logits.dim() == 2:
            logits = logits.unsqueeze(-1)
            target = target.unsqueeze(-1)
        valid = target != ignore_index
        safe_target = torch.where(valid, target, torch.zeros_like(target)).long()
        probabilities = torch.softmax(logits, dim=1).flatten(2)
        one_hot = F.one_hot(safe_target, logits.shape[1]).movedim(-1, 1).flatten(2).to(probabilities.dtype)
        mask = valid.flatten(1).unsqueeze(1).to(probabilities.dtype)
    else:
        # Binary: sigmoid, one Dice over all elements of each sample.
        if target.dim() == logits.dim() - 1:
            target = target.unsqueeze(1)
        if target.shape != logits.shape:
            raise ValueError(
                "expected binary logits (N, ...) or (N, 1, ...) with a target of the same shape (or "
                f"(N, ...)), or multi-class logits (N, C, ...) with class indices (N, ...); got shapes "
                f"{list(logits.shape)} and {list(target.shape)}"
            )
        valid = target != ignore_index
        probabilities = torch.sigmoid(logits).flatten(1).unsqueeze(1)
        one_hot = target.flatten(1).unsqueeze(1).to(probabilities.dtype)
        mask = valid.flatten(1).unsqueeze(1).to(probabilities.dtype)
    probabilities = probabilities * mask
    one_hot = one_hot * mask
    intersection = (probabilities * one_hot).sum(-1)
    cardinality = probabilities.sum(-1) + one_hot.sum(-1)
    dice = (2 * intersection + smooth) / (cardinality + smooth)
    loss = (1 - dice).mean(1)
    return reduce_loss(loss, reduction).to(dtype)


@prototype(since="0.1.0")
def dice_loss(
    logits: Tensor,
    target: Tensor,
    smooth: float = 1.0,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    r"""Soft Dice loss of a segmentation, computed from logits, one value per sample.

    From `V-Net <https://arxiv.org/abs/1606.04797>`_, with probabilities :math:`p` and a 0/1 (or
    one-hot) target :math:`t` summed over the elements of one sample (and one class):

    .. math::
        \mathcal{L} = 1 - \frac{2 \sum p\,t + s}{\sum p + \sum t + s}

    The mode follows the shapes:

    - **Binary**, probabilities ``sigmoid(logits)``: ``target`` has the shape of ``logits``
      (``(N, ...)`` or ``(N, 1, ...)``), or ``logits`` is ``(N, 1, ...)`` and ``target`` is
      ``(N, ...)``. Targets are 0/1 (soft values in ``[0, 1]`` work too), any dtype. All elements
      of a sample form one Dice (several channels are pooled, not averaged).
    - **Multi-label** is the binary mode applied to ``(N, C, ...)`` logits with ``C > 1`` and a
      target of the same shape: a sigmoid per channel (not a softmax), every channel a separate
      0/1 mask, all channels of a sample pooled into one Dice.
    - **Multi-class**, probabilities ``softmax(logits, dim=1)``: ``logits`` is ``(N, C, ...)``
      with ``C > 1`` and ``target`` is ``(N, ...)`` with integer class indices. One Dice per
      class (every class, background included), averaged over the classes.

    Elements whose target equals ``ignore_index`` are left out of every sum. Pass the options by
    keyword: their order may change while this is a prototype.

    Args:
        logits: Unnormalised scores.
        target: Binary mask or class indices, as above.
        smooth: Added to numerator and denominator, finite and non-negative; keeps an empty prediction of an
            empty mask at loss ``0``. With ``smooth=0`` that case is ``0/0 = NaN``.
        ignore_index: Target value of elements left out.
        reduction: ``"none"`` (per sample), ``"mean"`` (over samples; ``0`` with a gradient for
            an empty batch) or ``"sum"``.

    Shape:
        - logits: :math:`(N, *)`, :math:`(N, 1, *)` or :math:`(N, C, *)`.
        - target: as described above.
        - Output: :math:`(N)` for ``"none"``, otherwise a scalar; the dtype of ``logits``
          (float16 and bfloat16 are computed in float32).

    Returns:
        The loss with ``reduction`` applied.

    Example:
        >>> logits = torch.tensor([[[4.0, -4.0], [-4.0, 4.0]]])
        >>> dice_loss(logits, torch.tensor([[[1, 0], [0, 1]]]))
        tensor(0.0144)
        >>> dice_loss(torch.zeros(2, 3, 4, 4), torch.zeros(2, 4, 4, dtype=torch.long), reduction="none")
        tensor([0.7206, 0.7206])
    """
    if torch.jit.is_scripting():
        check_reduction(reduction)
        if not smooth >= 0:
            raise ValueError(f"smooth must be a finite non-negative number, got {smooth}")
    else:
        smooth, ignore_index = _check_options(smooth, ignore_index, reduction)
    return _dice_loss(logits, target, smooth, ignore_index, reduction)


@prototype(since="0.1.0")
class DiceLoss(nn.Module):
    r"""Module form of :func:`dice_loss`.

    Args:
        smooth: Added to numerator and denominator, finite and non-negative.
        ignore_index: Target value of elements left out.
        reduction: ``"none"`` (per sample), ``"mean"`` or ``"sum"``.

    Shape:
        - logits: :math:`(N, *)`, :math:`(N, 1, *)` (binary) or :math:`(N, C, *)` (multi-class).
        - target: the shape of ``logits``, or ``logits`` without dimension 1.
        - Output: :math:`(N)` for ``"none"``, otherwise a scalar.

    Example:
        >>> loss = DiceLoss(reduction="none")
        >>> loss(torch.zeros(2, 1, 4, 4), torch.ones(2, 4, 4)).shape
        torch.Size([2])
    """

    def __init__(self, *, smooth: float = 1.0, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__()
        self.smooth, self.ignore_index = _check_options(smooth, ignore_index, reduction)
        self.reduction = reduction

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return _dice_loss(logits, target, self.smooth, self.ignore_index, self.reduction)

    def extra_repr(self) -> str:
        return f"smooth={self.smooth}, ignore_index={self.ignore_index}, reduction='{self.reduction}'"
