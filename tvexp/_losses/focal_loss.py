"""Sigmoid focal loss, from Lin et al., "Focal Loss for Dense Object Detection" (ICCV 2017)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tvexp._api.tiers import prototype, stable
from tvexp._api.validation import InvalidInputError, as_real, check_non_negative
from tvexp._losses._reduction import check_reduction, reduce_loss

__all__ = ["SigmoidFocalLoss", "sigmoid_focal_loss"]


def _check_focal_options(alpha: Any, gamma: Any, reduction: str) -> tuple[float, float]:
    """``(alpha, gamma)`` as floats; the one check of the function and the module."""
    check_reduction(reduction)
    what = "a number in [0, 1], or -1 to turn the weighting off"
    alpha_value = as_real(alpha, "alpha", what)
    if not (alpha_value == -1 or 0.0 <= alpha_value <= 1.0):  # also rejects NaN
        # torchvision's words first: code and tests match on them.
        raise ValueError(
            f"Invalid alpha value: {alpha}. alpha must be in the range [0,1] or -1 for ignore. "
            f"(alpha must be in [0, 1], or -1 to turn the weighting off, got {alpha})"
        )
    return alpha_value, check_non_negative(gamma, "gamma")


@stable(since="0.1.0")
def sigmoid_focal_loss(
    inputs: Tensor,
    targets: Tensor,
    alpha: float = 0.25,
    gamma: float = 2,
    reduction: str = "none",
) -> Tensor:
    r"""Binary cross-entropy that down-weights well-classified elements, for dense detection.

    From `Focal Loss for Dense Object Detection <https://arxiv.org/abs/1708.02002>`_, with
    :math:`p = \sigma(x)` and :math:`p_t = p\,t + (1 - p)(1 - t)`:

    .. math::
        \mathcal{L} = -\alpha_t \, (1 - p_t)^\gamma \, \log p_t, \qquad
        \alpha_t = \alpha\,t + (1 - \alpha)(1 - t)

    Each element is an independent binary problem. Same arguments and results as
    :func:`torchvision.ops.sigmoid_focal_loss`, except that ``"mean"`` over an empty input is ``0``
    with a gradient (torchvision: ``NaN``) and float16/bfloat16 inputs are computed in float32.

    Args:
        inputs: Logits of any shape.
        targets: Labels of the same shape: ``1`` positive, ``0`` negative (soft labels in
            ``[0, 1]`` work too).
        alpha: Weight of the positive class in ``[0, 1]`` (negatives get ``1 - alpha``), or
            ``-1`` for no weighting.
        gamma: Focusing exponent, finite and non-negative; ``0`` gives (weighted) binary
            cross-entropy.
        reduction: ``"none"`` (per element), ``"mean"`` or ``"sum"``.

    Shape:
        - inputs, targets: :math:`(*)`, the same shape.
        - Output: :math:`(*)` for ``"none"``, otherwise a scalar; the dtype of ``inputs``.

    Returns:
        The loss with ``reduction`` applied.

    Example:
        >>> logits = torch.tensor([2.0, -1.0, 0.0])
        >>> sigmoid_focal_loss(logits, torch.tensor([1.0, 0.0, 1.0]))
        tensor([0.0005, 0.0170, 0.0433])
    """
    if torch.jit.is_scripting():
        check_reduction(reduction)
        if not ((alpha >= 0.0 and alpha <= 1.0) or alpha == -1.0):
            raise ValueError(f"Invalid alpha value: {alpha}. alpha must be in the range [0,1] or -1 for ignore.")
    else:
        alpha, gamma = _check_focal_options(alpha, gamma, reduction)
    if not inputs.is_floating_point():
        raise InvalidInputError(f"inputs must be floating-point logits, got dtype {inputs.dtype}")
    dtype = inputs.dtype
    if dtype == torch.float16 or dtype == torch.bfloat16:
        inputs = inputs.float()
    targets = targets.to(inputs.dtype)
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    return reduce_loss(loss, reduction).to(dtype)


@prototype(since="0.1.0")
class SigmoidFocalLoss(nn.Module):
    r"""Module form of :func:`sigmoid_focal_loss`.

    Args:
        alpha: Weight of the positive class in ``[0, 1]``, or ``-1`` for no weighting.
        gamma: Focusing exponent, finite and non-negative.
        reduction: ``"none"`` (per element), ``"mean"`` or ``"sum"``.

    Shape:
        - inputs, targets: :math:`(*)`, the same shape.
        - Output: :math:`(*)` for ``"none"``, otherwise a scalar.

    Example:
        >>> loss = SigmoidFocalLoss(reduction="sum")
        >>> loss(torch.tensor([2.0, -1.0, 0.0]), torch.tensor([1.0, 0.0, 1.0]))
        tensor(0.0608)
    """

    def __init__(self, *, alpha: float = 0.25, gamma: float = 2, reduction: str = "none") -> None:
        super().__init__()
        self.alpha, self.gamma = _check_focal_options(alpha, gamma, reduction)
        self.reduction = reduction

    def forward(self, inputs: Tensor, targets: Tensor) -> Tensor:
        return sigmoid_focal_loss(inputs, targets, self.alpha, self.gamma, self.reduction)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, gamma={self.gamma}, reduction='{self.reduction}'"
