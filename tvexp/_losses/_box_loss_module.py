"""Shared constructor, box-format handling and ``repr`` of the box-IoU loss modules."""

from __future__ import annotations

from torch import Tensor, nn

from tvexp._losses._box_geometry import check_box_format, check_box_loss_options, check_box_shapes, cxcywh_to_xyxy

__all__ = ["BoxLossModule"]


class BoxLossModule(nn.Module):
    """Base of the box-IoU loss modules: validates the options once, at construction."""

    def __init__(self, *, reduction: str = "none", eps: float = 1e-7, box_format: str = "xyxy") -> None:
        super().__init__()
        eps = check_box_loss_options(reduction, eps)
        check_box_format(box_format)
        self.reduction = reduction
        self.eps = eps
        self.box_format = box_format

    def _as_xyxy(self, boxes1: Tensor, boxes2: Tensor) -> tuple[Tensor, Tensor]:
        """Both inputs in ``(x1, y1, x2, y2)``; the loss function itself checks ``xyxy`` shapes."""
        if self.box_format == "cxcywh":
            check_box_shapes(boxes1, boxes2)  # before unpacking the four coordinates
            return cxcywh_to_xyxy(boxes1), cxcywh_to_xyxy(boxes2)
        return boxes1, boxes2

    def extra_repr(self) -> str:
        return f"reduction='{self.reduction}', eps={self.eps}, box_format='{self.box_format}'"
