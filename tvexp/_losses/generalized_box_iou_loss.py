"""Generalized IoU loss, from Rezatofighi et al., "Generalized Intersection over Union" (CVPR 2019)."""

from __future__ import annotations

import torch
from torch import Tensor

from tvexp._api.tiers import prototype, stable
from tvexp._losses._box_geometry import as_float_boxes, check_box_loss_options, check_box_shapes, iou_and_enclosure
from tvexp._losses._box_loss_module import BoxLossModule
from tvexp._losses._reduction import check_reduction, reduce_loss

__all__ = ["GeneralizedBoxIoULoss", "generalized_box_iou_loss"]


@stable(since="0.1.0")
def generalized_box_iou_loss(
    boxes1: Tensor,
    boxes2: Tensor,
    reduction: str = "none",
    eps: float = 1e-7,
) -> Tensor:
    r"""IoU loss that stays informative for disjoint boxes, through the smallest enclosing box.

    From `Generalized Intersection over Union <https://arxiv.org/abs/1902.09630>`_, with :math:`C`
    the smallest box enclosing both:

    .. math::
        \mathcal{L} = 1 - \mathrm{IoU} + \frac{|C| - |B_1 \cup B_2|}{|C| + \epsilon}

    Row ``i`` of ``boxes1`` is compared with row ``i`` of ``boxes2``; the loss is symmetric. Same
    arguments and results as :func:`torchvision.ops.generalized_box_iou_loss`, but compile-clean
    (no boolean-mask assignment: zero graph breaks, dynamic ``N`` under ``torch.export``), and a box
    with ``x2 < x1`` or ``y2 < y1`` counts as empty, so degenerate boxes give finite values and
    gradients.

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
        >>> generalized_box_iou_loss(boxes1, boxes2)
        tensor([1.0794, 1.7778])
    """
    if torch.jit.is_scripting():
        check_reduction(reduction)
    else:
        eps = check_box_loss_options(reduction, eps)
    check_box_shapes(boxes1, boxes2)
    boxes1 = as_float_boxes(boxes1)
    boxes2 = as_float_boxes(boxes2)
    iou, union, enclosing_w, enclosing_h = iou_and_enclosure(boxes1, boxes2, eps)
    enclosing_area = enclosing_w * enclosing_h
    generalized_iou = iou - ((enclosing_area - union) / (enclosing_area + eps))
    return reduce_loss(1 - generalized_iou, reduction)


@prototype(since="0.1.0")
class GeneralizedBoxIoULoss(BoxLossModule):
    r"""Module form of :func:`generalized_box_iou_loss`, which also reads ``cxcywh`` boxes.

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
        >>> loss = GeneralizedBoxIoULoss(reduction="mean", box_format="cxcywh")
        >>> loss(torch.tensor([[1.0, 1.0, 2.0, 2.0]]), torch.tensor([[2.0, 2.0, 2.0, 2.0]]))
        tensor(1.0794)
    """

    def forward(self, boxes1: Tensor, boxes2: Tensor) -> Tensor:
        xyxy1, xyxy2 = self._as_xyxy(boxes1, boxes2)
        return generalized_box_iou_loss(xyxy1, xyxy2, self.reduction, self.eps)
