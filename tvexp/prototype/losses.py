"""Prototype losses: module forms of the stable losses and new segmentation/classification losses."""

from tvexp._api.deprecation import moved_name_getattr
from tvexp._losses.complete_box_iou_loss import CompleteBoxIoULoss
from tvexp._losses.dice_loss import DiceLoss, dice_loss
from tvexp._losses.distance_box_iou_loss import DistanceBoxIoULoss
from tvexp._losses.focal_loss import SigmoidFocalLoss
from tvexp._losses.generalized_box_iou_loss import GeneralizedBoxIoULoss
from tvexp._losses.softmax_focal_loss import SoftmaxFocalLoss, softmax_focal_loss

__all__: list[str] = [
    "CompleteBoxIoULoss",
    "DiceLoss",
    "DistanceBoxIoULoss",
    "GeneralizedBoxIoULoss",
    "SigmoidFocalLoss",
    "SoftmaxFocalLoss",
    "dice_loss",
    "softmax_focal_loss",
]

__getattr__ = moved_name_getattr(__name__)
