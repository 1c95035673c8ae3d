"""Complete IoU loss, from Zheng et al., "Distance-IoU Loss" (AAAI 2020)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from tvexp._api.tiers import prototype, stable
from tvexp._losses._box_geometry import as_float_boxes, check_box_loss_options, check_box_shapes, distance_iou_terms
from tvexp._losses._box_loss_module import BoxLossModule
from tvexp._losses._reduction import check_reduction, reduce_loss

__all__ = ["CompleteBoxIoULoss", "complete_box_iou_loss"]


def _aspect_angle(width: Tensor, height: Tensor) -> Tensor:
    """``atan(width / height)``; ``pi/2`` for zero height, ``0`` for a point, with finite gradients."""
    has_height = height > 0
    # The safe denominator keeps the unselected branch finite, so torch.where's gradient is too.
    angle = torch.atan(width / torch.where(has_height, height, torch.ones_like(height)))
    flat = torch.where(width > 0, torch.full_like(width, math.pi / 2), torch.zeros_like(width))
    return torch.where(has_height, angle, flat)


@stable(since="0.1.0")
def complete_box_iou_loss(
    boxes1: Tensor,
    boxes2: Tensor,
    reduction: str = "none",
    eps: float = 1e-7,
) -> Tensor:
    r"""Distance-IoU loss plus a penalty for differing aspect ratios.

    From `Distance-IoU Loss <https://arxiv.org/abs/1911.08287>`_ (the CIoU variant):

    .. math::
        \mathcal{L} = \mathcal{L}_\mathrm{DIoU} + \alpha v, \qquad
        v = \frac{4}{\pi^2}\left(\arctan\frac{w_2}{h_2} - \arctan\frac{w_1}{h_1}\right)^2, \qquad
        \alpha = \frac{v}{1 - \mathrm{IoU} + v + \epsilon}

    where :math:`\alpha` is treated as a constant (no gradient), as in the paper. Row ``i`` of
    ``boxes1`` is compared with row ``i`` of ``boxes2``. Same arguments as
    :func:`torchvision.ops.complete_box_iou_loss` and the same results at the default ``eps``;
    unlike torchvision, ``eps`` is used in the IoU and distance terms too (torchvision uses it only
    in :math:`\alpha`), the function is compile-clean, and degenerate boxes (zero height, or
    ``x2 < x1``, counted as empty) give finite values and gradients.

    Args:
        boxes1: Boxes ``(x1, y1, x2, y2)``, usually the prediction.
        boxes2: Boxes ``(x1, y1, x2, y2)`` of the same shape (no broadcasting), usually the target.
        reduction: ``"none"`` (per box), ``"mean"`` (``0`` for no boxes, with a gradient) or ``"sum"``.
        eps: Added to the denominators against division by zero; finite and non-negative.

    Shape:
        - boxes1, boxes2: :math:`(*, 4)`, for example :math:`(N, 4)`.
        - Output: :math:`(*)` for ``"none"``, otherwise a scalar. Float16, bfloat16 and integer
          boxes are computed and returned in float32.

    Returns:
        The loss with ``reduction`` applied.

    Example:
        >>> boxes1 = torch.tensor([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 2.0]])
        >>> boxes2 = torch.tensor([[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 2.0, 1.0]])
        >>> complete_box_iou_loss(boxes1, boxes2)
        tensor([0.9683, 0.7629])
    """
    if torch.jit.is_scripting():
        check_reduction(reduction)
    else:
        eps = check_box_loss_options(reduction, eps)
    check_box_shapes(boxes1, boxes2)
    boxes1 = as_float_boxes(boxes1)
    boxes2 = as_float_boxes(boxes2)
    distance_loss, iou = distance_iou_terms(boxes1, boxes2, eps)
    x1, y1, x2, y2 = boxes1.unbind(-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(-1)
    angle1 = _aspect_angle((x2 - x1).clamp(min=0.0), (y2 - y1).clamp(min=0.0))
    angle2 = _aspect_angle((x2g - x1g).clamp(min=0.0), (y2g - y1g).clamp(min=0.0))
    v = (4 / (math.pi**2)) * torch.pow(angle2 - angle1, 2)
    alpha = (v / (1 - iou + v + eps)).detach()
    return reduce_loss(distance_loss + alpha * v, reduction)


@prototype(since="0.1.0")
class CompleteBoxIoULoss(BoxLossModule):
    r"""Module form of :func:`complete_box_iou_loss`, which also reads ``cxcywh`` boxes.

    Args:
        reduction: ``"none"`` (per box), ``"mean"`` or ``"sum"``.
        eps: Added to the denominators against division by zero; must be non-negative.
        box_format: ``"xyxy"`` for ``(x1, y1, x2, y2)`` or ``"cxcywh"`` for ``(cx, cy, w, h)``;
            both inputs use it.

    Shape:
        - boxes1, boxes2: :math:`(*, 4)`.
        - Output: :math:`(*)` for ``"none"``, otherwise a scalar.

    Example:
        >>> loss = CompleteBoxIoULoss()
        >>> loss(torch.tensor([[0.0, 0.0, 1.0, 2.0]]), torch.tensor([[0.0, 0.0, 2.0, 1.0]]))
        tensor([0.7629])
    """

    def forward(self, boxes1: Tensor, boxes2: Tensor) -> Tensor:
        xyxy1, xyxy2 = self._as_xyxy(boxes1, boxes2)
        return complete_box_iou_loss(xyxy1, xyxy2, self.reduction, self.eps)
