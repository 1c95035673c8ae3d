"""Distance IoU loss, from Zheng et al., "Distance-IoU Loss" (AAAI 2020)."""

from __future__ import annotations

import torch
from torch import Tensor

from tvexp._api.tiers import prototype, stable
from tvexp._losses._box_geometry import as_float_boxes, check_box_loss_options, check_box_shapes, distance_iou_terms
from tvexp._losses._box_loss_module import BoxLossModule
from tvexp._losses._reduction import check_reduction, reduce_loss

__all__ = ["DistanceBoxIoULoss", "distance_box_iou_loss"]


@stable(since="0.1.0")
def distance_box_iou_loss(
    boxes1: Tensor,
    boxes2: Tensor,
    reduction: str = "none",
    eps: float = 1e-7,
) -> Tensor:
    r"""IoU loss plus the squared distance of the box centres, relative to the enclosing box.

    From `Distance-IoU Loss <https://arxiv.org/abs/1911.08287>`_, with :math:`d` the distance of
    the centres and :math:`c` the diagonal of the smallest box enclosing both:

    .. math::
        \mathcal{L} = 1 - \mathrm{IoU} + \frac{d^2}{c^2 + \epsilon}

    Row ``i`` of ``boxes1`` is compared with row ``i`` of ``boxes2``; the loss is symmetric. Same
    arguments and results as :func:`torchvision.ops.distance_box_iou_loss`, but compile-clean, and
    a box with ``x2 < x1`` or ``y2 < y1`` counts as empty (finite values and gradients).

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
        >>> import torch
        >>> boxes1 = torch.tensor([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0]])
        >>> boxes2 = torch.tensor([[1.0, 1.0, 3.0, 3.0], [2.0, 2.0, 3.0, 3.0]])
        >>> distance_box_iou_loss(boxes1, boxes2)
        tensor([0.9683, 1.4444])
    """
    if torch.jit.is_scripting():
        check_reduction(reduction)
    else:
        eps = check_box_loss_options(reduction, eps)
    check_box_shapes(boxes1, boxes2)
    loss, _ = distance_iou_terms(as_float_boxes(boxes1), as_float_boxes(boxes2), eps)
    return reduce_loss(loss, reduction)


@prototype(since="0.1.0")
class DistanceBoxIoULoss(BoxLossModule):
    r"""Module form of :func:`distance_box_iou_loss`, which also reads ``cxcywh`` boxes.

    Args:
        reduction: ``"none"`` (per box), ``"mean"`` or ``"sum"``.
        eps: Added to the denominators against division by zero; must be non-negative.
        box_format: ``"xyxy"`` for ``(x1, y1, x2, y2)`` or ``"cxcywh"`` for ``(cx, cy, w, h)``;
            both inputs use it.

    Shape:
        - boxes1, boxes2: :math:`(*, 4)`.
        - Output: :math:`(*)` for ``"none"``, otherwise a scalar.

    Example:
        >>> import torch
        >>> loss = DistanceBoxIoULoss(reduction="sum")
        >>> loss(torch.tensor([[0.0, 0.0, 2.0, 2.0]]), torch.tensor([[1.0, 1.0, 3.0, 3.0]]))
        tensor(0.9683)
    """

    def forward(self, boxes1: Tensor, boxes2: Tensor) -> Tensor:
        xyxy1, xyxy2 = self._as_xyxy(boxes1, boxes2)
        return distance_box_iou_loss(xyxy1, xyxy2, self.reduction, self.eps)
