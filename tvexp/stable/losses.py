"""Stable losses: the loss functions torchvision already proved, compile-clean and correct."""

from tvexp._api.deprecation import moved_name_getattr
from tvexp._losses.complete_box_iou_loss import complete_box_iou_loss
from tvexp._losses.distance_box_iou_loss import distance_box_iou_loss
from tvexp._losses.focal_loss import sigmoid_focal_loss
from tvexp._losses.generalized_box_iou_loss import generalized_box_iou_loss

__all__: list[str] = [
    "complete_box_iou_loss",
    "distance_box_iou_loss",
    "generalized_box_iou_loss",
    "sigmoid_focal_loss",
]

__getattr__ = moved_name_getattr(__name__)
