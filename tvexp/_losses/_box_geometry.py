"""Pairwise box geometry shared by the IoU losses: overlap, union, enclosing box and format checks.

Boxes are compared row by row (``boxes1[i]`` with ``boxes2[i]``), not as an ``N x M`` matrix.
Every extent is clamped at zero instead of selected with a boolean mask, which keeps the losses
free of data-dependent shapes (no graph breaks, dynamic ``N`` under ``torch.export``). A box with
``x2 < x1`` or ``y2 < y1`` therefore counts as empty along that axis; for well-formed boxes the
values are exactly those of the masked formulation.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from tvexp._api.validation import check_non_negative
from tvexp._losses._reduction import check_reduction

__all__ = [
    "BOX_FORMATS",
    "as_float_boxes",
    "check_box_format",
    "check_box_loss_options",
    "check_box_shapes",
    "cxcywh_to_xyxy",
    "distance_iou_terms",
    "iou_and_enclosure",
]

BOX_FORMATS = ("xyxy", "cxcywh")


def check_box_format(box_format: str) -> None:
    """Raises ``ValueError`` unless ``box_format`` is ``"xyxy"`` or ``"cxcywh"``."""
    if box_format not in ("xyxy", "cxcywh"):
        raise ValueError(f"box_format must be one of 'xyxy', 'cxcywh', got '{box_format}'")


def check_box_loss_options(reduction: str, eps: Any) -> float:
    """The options every box loss shares, checked alike by the functions and the modules: ``eps`` as a float."""
    check_reduction(reduction)
    return check_non_negative(eps, "eps")


def check_box_shapes(boxes1: Tensor, boxes2: Tensor) -> None:
    """Raises ``ValueError`` unless both inputs are ``(..., 4)`` with the same shape (a shape check, compile-safe).

    Equal shapes are required because the losses compare row ``i`` with row ``i``: broadcasting a
    ``(N, 1, 4)`` against an ``(N, 4)`` input (or ``(1, 4)`` against ``(N, 4)``) would silently
    compute a pairwise matrix instead and reduce it to a plausible number.
    """
    if boxes1.dim() == 0 or boxes1.shape[-1] != 4:
        raise ValueError(f"boxes1 must have shape (..., 4), got {list(boxes1.shape)}")
    if boxes2.dim() == 0 or boxes2.shape[-1] != 4:
        raise ValueError(f"boxes2 must have shape (..., 4), got {list(boxes2.shape)}")
    if boxes1.shape != boxes2.shape:
        raise ValueError(
            f"boxes1 and boxes2 must have the same shape (row i is compared with row i; no broadcasting), "
            f"got {list(boxes1.shape)} and {list(boxes2.shape)}"
        )


def cxcywh_to_xyxy(boxes: Tensor) -> Tensor:
    """``(cx, cy, w, h)`` to ``(x1, y1, x2, y2)`` along the last dimension."""
    cx, cy, w, h = boxes.unbind(-1)
    half_w = 0.5 * w
    half_h = 0.5 * h
    return torch.stack((cx - half_w, cy - half_h, cx + half_w, cy + half_h), dim=-1)


def as_float_boxes(boxes: Tensor) -> Tensor:
    """Boxes in float32 unless already float32 or float64.

    Products of coordinates overflow float16 quickly and lose most digits in bfloat16, so
    low-precision (and integer) boxes are computed, and returned, in float32, as torchvision does.
    """
    if boxes.dtype != torch.float32 and boxes.dtype != torch.float64:
        return boxes.float()
    return boxes


def iou_and_enclosure(boxes1: Tensor, boxes2: Tensor, eps: float) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """IoU, union area and the width and height of the smallest enclosing box, per row."""
    x1, y1, x2, y2 = boxes1.unbind(-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(-1)
    # relu (zero gradient at 0) matches a strict "overlap > 0" mask for boxes that only touch.
    overlap_w = (torch.minimum(x2, x2g) - torch.maximum(x1, x1g)).relu()
    overlap_h = (torch.minimum(y2, y2g) - torch.maximum(y1, y1g)).relu()
    intersection = overlap_w * overlap_h
    area1 = (x2 - x1).clamp(min=0.0) * (y2 - y1).clamp(min=0.0)
    area2 = (x2g - x1g).clamp(min=0.0) * (y2g - y1g).clamp(min=0.0)
    union = area1 + area2 - intersection
    iou = intersection / (union + eps)
    enclosing_w = (torch.maximum(x2, x2g) - torch.minimum(x1, x1g)).clamp(min=0.0)
    enclosing_h = (torch.maximum(y2, y2g) - torch.minimum(y1, y1g)).clamp(min=0.0)
    return iou, union, enclosing_w, enclosing_h


def distance_iou_terms(boxes1: Tensor, boxes2: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    """The Distance-IoU loss ``1 - IoU + d^2 / c^2`` and the IoU, per row."""
    iou, _, enclosing_w, enclosing_h = iou_and_enclosure(boxes1, boxes2, eps)
    x1, y1, x2, y2 = boxes1.unbind(-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(-1)
    diagonal_squared = (enclosing_w**2) + (enclosing_h**2) + eps
    center_x = (x2 + x1) / 2
    center_y = (y2 + y1) / 2
    center_xg = (x1g + x2g) / 2
    center_yg = (y1g + y2g) / 2
    center_distance_squared = ((center_x - center_xg) ** 2) + ((center_y - center_yg) ** 2)
    return 1 - iou + (center_distance_squared / diagonal_squared), iou
