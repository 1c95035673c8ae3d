"""An example user program that the compatibility guide runs ``tvexp-api audit`` on."""

import torch
from torch import nn

import tvexp.prototype as tvp
import tvexp.stable as tvs
from tvexp.prototype.losses import SoftmaxFocalLoss
from tvexp.stable.losses import generalized_box_iou_loss

backbone = nn.Sequential(
    tvs.Conv2dNormActivation(3, 32, stride=2),
    tvp.LayerNorm2d(32),
    tvs.SqueezeExcitation(32, 8),
)
classification_loss = SoftmaxFocalLoss(gamma=2.0)


def box_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return generalized_box_iou_loss(predicted, target, reduction="mean")
