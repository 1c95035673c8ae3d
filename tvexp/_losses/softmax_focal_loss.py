"""Softmax (multi-class) focal loss, from Lin et al., "Focal Loss for Dense Object Detection" (ICCV 2017)."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._losses._reduction import check_reduction

__all__ = ["SoftmaxFocalLoss", "softmax_focal_loss"]


def _check_gamma(gamma: float) -> None:
    if not gamma >= 0:
        raise ValueError(f"gamma must be non-negative, got {gamma}")


def _check_ignore_index(ignore_index: int) -> None:
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise TypeError(f"ignore_index must be an int, got {ignore_index!r} of type {type(ignore_index).__name__}")


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
    if target.is_floating_point() or target.dtype == torch.bool:
        raise ValueError(f"target must hold integer class indices, got dtype {target.dtype}")


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
    dtype = logits.dtype
    if dtype == torch.float16 or dtype == torch.bfloat16:
        logits = logits.float()
    valid = target != ignore_index
    safe_target = torch.where(valid, target, torch.zeros_like(target)).long()
    log_pt = F.log_softmax(logits, dim=1).gather(1, safe_target.unsqueeze(1)).squeeze(1)
    # expm1 keeps 1 - p_t accurate for confident predictions, where the modulating factor matters.
    loss = -((-torch.expm1(log_pt)) ** gamma) * log_pt
    if class_weights is not None:
        loss = loss * class_weights.to(loss.dtype)[safe_target]
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
        alpha: ``None`` for no weighting; a number to scale every class alike; or one
            non-negative weight per class (a list of length ``C``), picked by the target class.
            A tensor is rejected with ``TypeError``: pass ``weights.tolist()``.
        gamma: Focusing exponent, non-negative; ``0`` gives (weighted) cross-entropy.
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
    check_reduction(reduction)
    _check_gamma(gamma)
    if not torch.jit.is_scripting():
        _check_ignore_index(ignore_index)
    class_weights: Optional[Tensor] = None
    scale = 1.0
    if alpha is not None:
        if isinstance(alpha, list):
            if len(alpha) != logits.shape[1] or min(alpha) < 0:
                raise ValueError(f"alpha must hold one non-negative weight per class ({logits.shape[1]}), got {alpha}")
            class_weights = torch.tensor(alpha, dtype=torch.float32, device=logits.device)
        else:
            if not torch.jit.is_scripting():
                if isinstance(alpha, Tensor):
                    raise TypeError(
                        "alpha must be None, a number or a list of per-class weights, got a Tensor; pass alpha.tolist()"
                    )
            if alpha < 0:
                raise ValueError(f"alpha must be non-negative, got {alpha}")
            scale = float(alpha)
    return _softmax_focal_loss(logits, target, class_weights, scale, gamma, ignore_index, reduction)


@prototype(since="0.1.0")
class SoftmaxFocalLoss(nn.Module):
    r"""Module form of :func:`softmax_focal_loss`.

    Args:
        alpha: ``None``; a number scaling every class; or one non-negative weight per class
            (kept as a non-persistent buffer, so it follows ``.to()`` but stays out of the state dict).
            A tensor is rejected with ``TypeError``: pass ``weights.tolist()``.
        gamma: Focusing exponent, non-negative.
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
        _check_gamma(gamma)
        check_reduction(reduction)
        scale = 1.0
        class_weights: Optional[Tensor] = None
        if isinstance(alpha, Tensor):
            raise TypeError(
                "alpha must be None, a number or a list of per-class weights, got a Tensor; pass alpha.tolist()"
            )
        _check_ignore_index(ignore_index)
        if isinstance(alpha, (list, tuple)):
            if len(alpha) == 0 or min(alpha) < 0:
                raise ValueError(f"alpha must hold one non-negative weight per class, got {alpha}")
            class_weights = torch.tensor([float(a) for a in alpha], dtype=torch.float32)
        elif alpha is not None:
            if not alpha >= 0:
                raise ValueError(f"alpha must be non-negative, got {alpha}")
            scale = float(alpha)
        self.register_buffer("class_weights", class_weights, persistent=False)
        self.scale = scale
        self.gamma = float(gamma)
        self.ignore_index = int(ignore_index)
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
