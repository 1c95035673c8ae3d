"""Conformance entries for the losses: each configuration runs in function and module form."""

from __future__ import annotations

import functools

import torch
from torch import Tensor

from tvexp._losses.complete_box_iou_loss import CompleteBoxIoULoss, complete_box_iou_loss
from tvexp._losses.dice_loss import DiceLoss, dice_loss
from tvexp._losses.distance_box_iou_loss import DistanceBoxIoULoss, distance_box_iou_loss
from tvexp._losses.focal_loss import SigmoidFocalLoss, sigmoid_focal_loss
from tvexp._losses.generalized_box_iou_loss import GeneralizedBoxIoULoss, generalized_box_iou_loss
from tvexp._losses.softmax_focal_loss import SoftmaxFocalLoss, softmax_focal_loss
from tvexp._tooling.conformance.table import LayerCase, LossCase, randn

__all__ = ["LAYER_CASES", "LOSS_CASES", "boxes"]


def boxes(n: int, seed: int = 0) -> Tensor:
    """``n`` well-formed ``xyxy`` boxes with positive width and height (deterministic)."""
    corners = randn(n, 2, seed=seed).abs() * 4
    sizes = randn(n, 2, seed=seed + 1).abs() * 3 + 0.5
    return torch.cat((corners, corners + sizes), dim=1)


def _box_pair() -> tuple[Tensor, Tensor]:
    # Rows 0-1 overlap, 2 is nested, 3 is disjoint, 4 is identical, 5 only touches, the rest random.
    target = boxes(8, seed=1)
    prediction = boxes(8, seed=3)
    prediction[0:2] = target[0:2] + torch.tensor([0.5, 0.3, 0.4, 0.6])
    prediction[2] = target[2] + torch.tensor([0.1, 0.1, -0.1, -0.1])
    prediction[3] = target[3] + 20.0
    prediction[4] = target[4]
    prediction[5] = target[5] + torch.tensor([0.0, 0.0, 0.0, 0.0])
    width = target[5, 2] - target[5, 0]
    prediction[5, 0] += width
    prediction[5, 2] += width
    return prediction.requires_grad_(), target


def _binary_logits() -> tuple[Tensor, Tensor]:
    logits = (randn(4, 3, 5, seed=4) * 2).requires_grad_()
    return logits, (randn(4, 3, 5, seed=5) > 0.3).float()


def _class_logits() -> tuple[Tensor, Tensor]:
    logits = (randn(2, 4, 3, 3, seed=6) * 2).requires_grad_()
    target = (randn(2, 3, 3, seed=7).abs() * 2).long().clamp(max=3)
    target[0, 0, 0] = -100
    return logits, target


def _binary_masks() -> tuple[Tensor, Tensor]:
    logits = (randn(2, 1, 6, 6, seed=8) * 2).requires_grad_()
    return logits, (randn(2, 6, 6, seed=9) > 0).float()


def _degenerate_box_pair() -> tuple[Tensor, Tensor]:
    """Points, zero-width or zero-height boxes and inverted corners, against valid and degenerate targets."""
    prediction = torch.tensor(
        [
            [1.0, 1.0, 1.0, 1.0],  # point
            [1.0, 1.0, 3.0, 1.0],  # zero height
            [1.0, 1.0, 1.0, 4.0],  # zero width
            [3.0, 3.0, 1.0, 1.0],  # x2 < x1 and y2 < y1
            [3.0, 1.0, 1.0, 2.0],  # x2 < x1 only
            [0.0, 0.0, 0.0, 0.0],  # point, against the same point
            [2.0, 2.0, 2.0, 2.0],
            [0.0, 0.0, 2.0, 2.0],  # valid, against a degenerate target
        ],
        requires_grad=True,
    )
    target = torch.tensor(
        [
            [0.0, 0.0, 2.0, 2.0],
            [0.0, 0.0, 2.0, 2.0],
            [0.0, 0.0, 2.0, 2.0],
            [0.0, 0.0, 2.0, 2.0],
            [2.0, 2.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0],
            [2.0, 2.0, 2.0, 5.0],
            [1.0, 1.0, 1.0, 1.0],
        ],
        requires_grad=True,
    )
    return prediction, target


def _smooth_box_pair(same_aspect: bool = False) -> tuple[Tensor, Tensor]:
    # No touching edges or equal coordinates: gradcheck's finite differences need a smooth point.
    target = boxes(6, seed=11).double()
    prediction = target + torch.tensor(
        [
            [0.3, -0.2, 0.5, 0.1],
            [1.1, 0.7, -0.4, 0.9],
            [-0.6, 0.2, 0.3, -0.3],
            [7.0, 6.0, 8.0, 9.0],
            [0.2, 0.25, -0.15, -0.35],
            [-2.1, 0.4, 0.6, 1.3],
        ],
        dtype=torch.float64,
    )
    if same_aspect:
        # Scaled copies of the target, shifted: the aspect-ratio term v and its derivative are 0 here.
        sizes = (target[:, 2:] - target[:, :2]) * torch.tensor(
            [[1.3], [0.7], [1.1], [0.9], [1.6], [0.8]], dtype=torch.float64
        )
        corners = prediction[:, :2]
        prediction = torch.cat((corners, corners + sizes), dim=1)
    return prediction.requires_grad_(), target.requires_grad_()


def _sigmoid_gradcheck_inputs() -> tuple[Tensor, Tensor]:
    # The target is a label tensor: finite differences only for the logits.
    logits, target = _binary_logits()
    return logits.detach().double().requires_grad_(), target.double()


# Output shapes for reduction="none", from (prediction, target).
def _elementwise(prediction: Tensor, target: Tensor) -> tuple[int, ...]:  # noqa: ARG001 (a shape rule's signature)
    return tuple(prediction.shape)


def _per_box(prediction: Tensor, target: Tensor) -> tuple[int, ...]:  # noqa: ARG001
    return tuple(prediction.shape[:-1])


def _per_target(prediction: Tensor, target: Tensor) -> tuple[int, ...]:  # noqa: ARG001
    return tuple(target.shape)


def _per_sample(prediction: Tensor, target: Tensor) -> tuple[int, ...]:  # noqa: ARG001
    return (prediction.shape[0],)


_BOX_LOSSES = (
    ("generalized_box_iou_loss", generalized_box_iou_loss, GeneralizedBoxIoULoss),
    ("distance_box_iou_loss", distance_box_iou_loss, DistanceBoxIoULoss),
    ("complete_box_iou_loss", complete_box_iou_loss, CompleteBoxIoULoss),
)

LAYER_CASES: list[LayerCase] = []
LOSS_CASES: list[LossCase] = [
    LossCase(
        "sigmoid_focal_loss/default",
        sigmoid_focal_loss,
        _binary_logits,
        module=SigmoidFocalLoss,
        tags=frozenset({"inductor"}),
        none_shape=_elementwise,
        gradcheck_inputs=_sigmoid_gradcheck_inputs,
    ),
    LossCase(
        "sigmoid_focal_loss/no-alpha-gamma0-mean",
        sigmoid_focal_loss,
        _binary_logits,
        kwargs={"alpha": -1, "gamma": 0, "reduction": "mean"},
        module=SigmoidFocalLoss,
        none_shape=_elementwise,
        gradcheck_inputs=_sigmoid_gradcheck_inputs,
    ),
    LossCase(
        "sigmoid_focal_loss/sum",
        sigmoid_focal_loss,
        _binary_logits,
        kwargs={"alpha": 0.6, "gamma": 1.5, "reduction": "sum"},
        module=SigmoidFocalLoss,
        none_shape=_elementwise,
        gradcheck_inputs=_sigmoid_gradcheck_inputs,
    ),
    *[
        LossCase(
            f"{name}/{reduction}",
            function,
            _box_pair,
            kwargs={"reduction": reduction},
            module=module,
            tags=frozenset({"inductor"}) if reduction == "mean" and name == "complete_box_iou_loss" else frozenset(),
            none_shape=_per_box,
            degenerate_inputs=_degenerate_box_pair,
            # CIoU's trade-off weight alpha is a constant by design (no gradient), which finite differences
            # cannot know: gradcheck it where v = 0 (tests/losses/test_box_iou_losses.py checks its full
            # gradient against a reference with alpha held fixed).
            gradcheck_inputs=functools.partial(_smooth_box_pair, same_aspect=name == "complete_box_iou_loss"),
            output_dtype=torch.float32,
        )
        for name, function, module in _BOX_LOSSES
        for reduction in ("none", "mean", "sum")
    ],
    *[
        LossCase(
            f"{name}/eps",
            function,
            _box_pair,
            kwargs={"eps": 1e-3},
            module=module,
            none_shape=_per_box,
            degenerate_inputs=_degenerate_box_pair,
            gradcheck_inputs=functools.partial(_smooth_box_pair, same_aspect=name == "complete_box_iou_loss"),
            output_dtype=torch.float32,
        )
        for name, function, module in _BOX_LOSSES
    ],
    LossCase(
        "softmax_focal_loss/default", softmax_focal_loss, _class_logits, module=SoftmaxFocalLoss, none_shape=_per_target
    ),
    LossCase(
        "softmax_focal_loss/class-alpha-none",
        softmax_focal_loss,
        _class_logits,
        kwargs={"alpha": [0.25, 0.5, 1.0, 1.0], "gamma": 1.0, "reduction": "none"},
        module=SoftmaxFocalLoss,
        none_shape=_per_target,
    ),
    LossCase(
        "softmax_focal_loss/scalar-alpha-sum",
        softmax_focal_loss,
        _class_logits,
        kwargs={"alpha": 0.5, "gamma": 0.0, "reduction": "sum"},
        module=SoftmaxFocalLoss,
        none_shape=_per_target,
    ),
    LossCase("dice_loss/binary", dice_loss, _binary_masks, module=DiceLoss, none_shape=_per_sample),
    LossCase(
        "dice_loss/binary-same-shape-none",
        dice_loss,
        _binary_logits,
        kwargs={"smooth": 0.5, "reduction": "none"},
        module=DiceLoss,
        none_shape=_per_sample,
    ),
    LossCase(
        "dice_loss/multiclass-sum",
        dice_loss,
        _class_logits,
        kwargs={"reduction": "sum"},
        module=DiceLoss,
        none_shape=_per_sample,
    ),
]
