"""Softmax (multi-class) focal loss, from Lin et al., "Focal Loss for Dense Object Detection" (ICCV 2017)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import InvalidInputError, as_int, check_non_negative, is_real_number
from tvexp._losses._reduction import check_reduction

__all__ = ["SoftmaxFocalLoss", "softmax_focal_loss"]

_ALPHA = "None, a number or a list of per-class weights (finite, non-negative)"


def _check_options(
    alpha: Any, gamma: Any, ignore_index: Any, reduction: str
) -> tuple[Optional[list[float]], float, float, int]:
    """``(class weights or None, scale, gamma, ignore_index)``: the one check of the function and the module."""
    check_reduction(reduction)
    gamma_value = check_non_negative(gamma, "gamma")
    ignore = as_int(ignore_index, "ignore_index")
    if alpha is None:
        return None, 1.0, gamma_value, ignore
    if isinstance(alpha, Tensor) and alpha.dim() > 0:
        raise TypeError(f"alpha must be {_ALPHA}, got a Tensor; pass alpha.tolist()")
    if is_real_number(alpha):
        return None, check_non_negative(alpha, "alpha"), gamma_value, ignore
    if isinstance(alpha, (str, bytes)) or not isinstance(alpha, Sequence):
        raise TypeError(f"alpha must be {_ALPHA}, got {alpha!r} of type {type(alpha).__name__}")
    if len(alpha) == 0:
        raise ValueError(f"alpha must be {_ALPHA}, got an empty {type(alpha).__name__}")
    weights = []
    for index, weight in enumerate(alpha):
        if not is_real_number(weight):
            raise TypeError(f"alpha must be {_ALPHA}, got {list(alpha)!r} (alpha[{index}] is {type(weight).__name__})")
        value = float(weight)
        if not (value >= 0.0 and value != float("inf")):
            raise ValueError(f"alpha must be {_ALPHA}, got {list(alpha)!r} (alpha[{index}] = {weight})")
        weights.append(value)
    return weights, 1.0, gamma_value, ignore


def _check_class_index_target(logits: Tensor, target: Tensor) -> None:
    if logits.dim() < 2 or target.dim() != logits.dim() - 1:
        raise ValueError(
            f"expected logits (N, C, ...) and class indices (N, ...), got shapes {list(logits.shape)} "
            f"and {list(target.shape)}"
        )
    if target.shape[:1] != logits.shape[:1] or target.shape[1:] != logits.shape[2:]:
        # gather accepts an index smaller than its input, so a mismatch would pass silently.
        raise ValueError(
            f"target must have the shape of logits without dimension 1 ({list(logits.shape[:1]) + list(logits.shape[2:])}), "
            f"got logits {list(logits.shape)} and target {list(target.shape)}"
        )
    if target.is_floating_point() or target.dtype == torch.bool or target.is_complex():
        raise ValueError(f"target must hold integer class indices, got dtype {target.dtype}")
    if not logits.is_floating_point():
        raise InvalidInputError(f"logits must be floating point, got dtype {logits.dtype}")


def _softmax_focal_loss(
    logits: Tensor,
    target: Tensor,
    class_weights: Optional[Tensor],
    scale: float,
    gamma: float,
    ignore_index: int,
    reduction: str,
) -> Tensor:
    """The loss itself, options already validated; the module's forward calls this."""
    _check_class_index_target(logits, target)
    if class_weights is not None and class_weights.shape[0] != logits.shape[1]:
        raise ValueError(
            f"alpha must hold one non-negative weight per class ({logits.shape[1]}): got {class_weights.shape[0]} weights for logits with "
            f"{logits.shape[1]} classes (dimension 1 of {list(logits.shape)})"
        )
    dtype = logits.dtype
    if dtype == torch.float16 or dtype == torch.bfloat16:
        logits = logits.float()
    valid = target != ignore_index
    safe_target = torch.where(valid, target, torch.zeros_like(target)).long()
    log_pt = F.log_softmax(logits, dim=1).gather(1, safe_target.unsqueeze(1)).squeeze(1)
    # expm1 keeps 1 - p_t accurate for confident predictions, where the modulating factor matters.
    loss = -((-torch.expm1(log_pt)) ** gamma) * log_pt
    if class_weights is not None:
        loss = loss * class_weights.to(device=loss.device, dtype=loss.dtype)[safe_target]
    if scale != 1.0:
        loss = loss * scale
    loss = torch.where(valid, loss, torch.zeros_like(loss))
    if reduction == "mean":
        # Averaged over the elements that are not ignored; 0 (with a gradient) when there are none.
        loss = loss.sum() / valid.sum().clamp(min=1).to(loss.dtype)
    elif reduction == "sum":
        loss = loss.sum()
    return loss.to(dtype)


@prototype(since="0.1.0")
def softmax_focal_loss(
    logits: Tensor,
    target: Tensor,
    alpha: float | list[float] | None = None,
    gamma: float = 2.0,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    r"""Multi-class cross-entropy that down-weights well-classified elements.

    The softmax form of the focal loss of `Focal Loss for Dense Object Detection
    <https://arxiv.org/abs/1708.02002>`_. With :math:`p_t` the softmax probability of the target
    class :math:`t`:

    .. math::
        \mathcal{L} = -\alpha_t \, (1 - p_t)^\gamma \, \log p_t

    With ``gamma=0`` and no ``alpha`` it equals :func:`torch.nn.functional.cross_entropy`.
    Pass the options by keyword: their order may change while this is a prototype (they are not
    keyword-only because TorchScript cannot compile keyword-only arguments with defaults).

    Args:
        logits: Unnormalised class scores, classes in dimension 1.
        target: Class indices in ``[0, C)``, or ``ignore_index``.
        alpha: ``None`` for no weighting; a number to scale every class alike; or one finite
            non-negative weight per class (a list or tuple of length ``C``), picked by the target
            class. A tensor of weights is rejected with ``TypeError``: pass ``weights.tolist()``.
        gamma: Focusing exponent, finite and non-negative; ``0`` gives (weighted) cross-entropy.
        ignore_index: Target value whose elements contribute ``0`` and are left out of the mean.
        reduction: ``"none"`` (per element), ``"mean"`` (over the elements that are not ignored,
            not weighted by ``alpha``; ``0`` with a gradient if there are none) or ``"sum"``.

    Shape:
        - logits: :math:`(N, C, *)`.
        - target: :math:`(N, *)`, integer.
        - Output: :math:`(N, *)` for ``"none"``, otherwise a scalar; the dtype of ``logits``
          (float16 and bfloat16 are computed in float32).

    Returns:
        The loss with ``reduction`` applied.

    Example:
        >>> logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
        >>> softmax_focal_loss(logits, torch.tensor([0, 2]), reduction="none")
        tensor([0.0041, 0.9635])
    """
    class_weights: Optional[Tensor] = None
    scale = 1.0
    if torch.jit.is_scripting():
        check_reduction(reduction)
        if not gamma >= 0:
            raise ValueError(f"gamma must be a finite non-negative number, got {gamma}")
        if isinstance(alpha, list):
            if len(alpha) == 0 or min(alpha) < 0:
                raise ValueError(f"alpha must hold finite non-negative weights, got {alpha}")
            class_weights = torch.tensor(alpha, dtype=torch.float32, device=logits.device)
        elif alpha is not None:
            if not alpha >= 0:
                raise ValueError(f"alpha must be a finite non-negative number, got {alpha}")
            scale = float(alpha)
    else:
        weights, scale, gamma, ignore_index = _check_options(alpha, gamma, ignore_index, reduction)
        if weights is not None:
            class_weights = torch.tensor(weights, dtype=torch.float32, device=logits.device)
    return _softmax_focal_loss(logits, target, class_weights, scale, gamma, ignore_index, reduction)


@prototype(since="0.1.0")
class SoftmaxFocalLoss(nn.Module):
    r"""Module form of :func:`softmax_focal_loss`.

    Args:
        alpha: ``None``; a number scaling every class; or one finite non-negative weight per class
            (kept as a non-persistent buffer, so it follows ``.to()`` but stays out of the state dict;
            its length is checked against ``C`` at the first forward). A tensor of weights is rejected
            with ``TypeError``: pass ``weights.tolist()``.
        gamma: Focusing exponent, finite and non-negative.
        ignore_index: Target value whose elements contribute ``0`` and are left out of the mean.
        reduction: ``"none"`` (per element), ``"mean"`` or ``"sum"``.

    Shape:
        - logits: :math:`(N, C, *)`; target: :math:`(N, *)`, integer.
        - Output: :math:`(N, *)` for ``"none"``, otherwise a scalar.

    Example:
        >>> loss = SoftmaxFocalLoss(alpha=[0.5, 1.0, 1.0])
        >>> loss(torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]]), torch.tensor([0, 2]))
        tensor(0.4828)
    """

    def __init__(
        self,
        *,
        alpha: float | list[float] | None = None,
        gamma: float = 2.0,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        weights, scale, gamma_value, ignore = _check_options(alpha, gamma, ignore_index, reduction)
        class_weights = None if weights is None else torch.tensor(weights, dtype=torch.float32)
        self.register_buffer("class_weights", class_weights, persistent=False)
        self.scale = scale
        self.gamma = gamma_value
        self.ignore_index = ignore
        self.reduction = reduction

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return _softmax_focal_loss(
            logits,
            target,
            self.class_weights,  # type: ignore[arg-type]
            self.scale,
            self.gamma,
            self.ignore_index,
            self.reduction,
        )

    def extra_repr(self) -> str:
        weights = self.class_weights
        alpha = weights.tolist() if isinstance(weights, Tensor) else self.scale
        return f"alpha={alpha}, gamma={self.gamma}, ignore_index={self.ignore_index}, reduction='{self.reduction}'"
