"""Behaviour of the box-IoU losses beyond the contract: reference values, eps, formats, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tvexp.prototype.losses import CompleteBoxIoULoss, DistanceBoxIoULoss, GeneralizedBoxIoULoss
from tvexp.stable.losses import complete_box_iou_loss, distance_box_iou_loss, generalized_box_iou_loss

PAIRS = np.array(
    [
        [[0, 0, 2, 2], [1, 1, 3, 3]],  # overlap
        [[0, 0, 1, 1], [2, 2, 3, 3]],  # disjoint
        [[0, 0, 4, 2], [1, 0.5, 2, 1.5]],  # nested
        [[0, 0, 1, 3], [0, 0, 3, 1]],  # crossing, different aspect
    ],
    dtype=np.float64,
)


def reference(kind: str, eps: float = 1e-7) -> np.ndarray:
    """The paper formulas, one pair at a time, in NumPy."""
    values = []
    for (x1, y1, x2, y2), (a1, b1, a2, b2) in PAIRS:
        inter = max(0.0, min(x2, a2) - max(x1, a1)) * max(0.0, min(y2, b2) - max(y1, b1))
        union = (x2 - x1) * (y2 - y1) + (a2 - a1) * (b2 - b1) - inter
        iou = inter / (union + eps)
        cw, ch = max(x2, a2) - min(x1, a1), max(y2, b2) - min(y1, b1)
        if kind == "giou":
            values.append(1 - iou + (cw * ch - union) / (cw * ch + eps))
            continue
        distance = ((x1 + x2 - a1 - a2) / 2) ** 2 + ((y1 + y2 - b1 - b2) / 2) ** 2
        diou = 1 - iou + distance / (cw**2 + ch**2 + eps)
        if kind == "diou":
            values.append(diou)
            continue
        v = 4 / math.pi**2 * (math.atan((a2 - a1) / (b2 - b1)) - math.atan((x2 - x1) / (y2 - y1))) ** 2
        values.append(diou + v / (1 - iou + v + eps) * v)
    return np.array(values)


FUNCTIONS = {"giou": generalized_box_iou_loss, "diou": distance_box_iou_loss, "ciou": complete_box_iou_loss}
MODULES = {"giou": GeneralizedBoxIoULoss, "diou": DistanceBoxIoULoss, "ciou": CompleteBoxIoULoss}


@pytest.mark.parametrize("kind", sorted(FUNCTIONS))
@pytest.mark.parametrize("eps", [1e-7, 0.1])
def test_matches_the_paper_formula_with_eps_everywhere(kind: str, eps: float) -> None:
    boxes1, boxes2 = torch.from_numpy(PAIRS[:, 0]), torch.from_numpy(PAIRS[:, 1])
    output = FUNCTIONS[kind](boxes1, boxes2, eps=eps)
    np.testing.assert_allclose(output.numpy(), reference(kind, eps), rtol=1e-12)


@pytest.mark.parametrize("kind", sorted(FUNCTIONS))
def test_symmetric_and_batched(kind: str) -> None:
    boxes1, boxes2 = torch.from_numpy(PAIRS[:, 0]), torch.from_numpy(PAIRS[:, 1])
    function = FUNCTIONS[kind]
    torch.testing.assert_close(function(boxes1, boxes2), function(boxes2, boxes1))
    batched = function(torch.stack((boxes1, boxes2)), torch.stack((boxes2, boxes1)))
    assert batched.shape == (2, 4)
    torch.testing.assert_close(batched[0], function(boxes1, boxes2))
    assert function(boxes1[0], boxes2[0]).shape == ()


def test_complete_box_iou_gradient_treats_alpha_as_constant() -> None:
    boxes1 = torch.from_numpy(PAIRS[:, 0]).requires_grad_()
    boxes2 = torch.from_numpy(PAIRS[:, 1])
    complete_box_iou_loss(boxes1, boxes2).sum().backward()

    def with_fixed_alpha(b: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        w1, h1 = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        w2, h2 = boxes2[:, 2] - boxes2[:, 0], boxes2[:, 3] - boxes2[:, 1]
        v = 4 / math.pi**2 * (torch.atan(w2 / h2) - torch.atan(w1 / h1)) ** 2
        return distance_box_iou_loss(b, boxes2) + alpha * v

    v0 = torch.from_numpy(reference("ciou") - reference("diou"))  # alpha * v at this point
    fixed = boxes1.detach().clone().requires_grad_()
    w1, h1 = PAIRS[:, 0, 2] - PAIRS[:, 0, 0], PAIRS[:, 0, 3] - PAIRS[:, 0, 1]
    w2, h2 = PAIRS[:, 1, 2] - PAIRS[:, 1, 0], PAIRS[:, 1, 3] - PAIRS[:, 1, 1]
    v = 4 / math.pi**2 * (np.arctan(w2 / h2) - np.arctan(w1 / h1)) ** 2
    alpha = torch.from_numpy(np.divide(v0.numpy(), v, out=np.zeros_like(v), where=v > 0))
    with_fixed_alpha(fixed, alpha).sum().backward()
    torch.testing.assert_close(boxes1.grad, fixed.grad)


@pytest.mark.parametrize("kind", sorted(MODULES))
def test_module_reads_cxcywh(kind: str) -> None:
    xyxy1, xyxy2 = torch.from_numpy(PAIRS[:, 0]), torch.from_numpy(PAIRS[:, 1])

    def to_cxcywh(b: torch.Tensor) -> torch.Tensor:
        return torch.stack(((b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]), 1)

    module = MODULES[kind](box_format="cxcywh", reduction="sum")
    torch.testing.assert_close(module(to_cxcywh(xyxy1), to_cxcywh(xyxy2)), FUNCTIONS[kind](xyxy1, xyxy2, "sum"))
    assert "box_format='cxcywh'" in repr(module)


@pytest.mark.parametrize("kind", sorted(MODULES))
def test_module_validates_at_construction(kind: str) -> None:
    with pytest.raises(ValueError, match="box_format must be one of 'xyxy', 'cxcywh', got 'xywh'"):
        MODULES[kind](box_format="xywh")
    with pytest.raises(ValueError, match="eps must be a finite non-negative number, got -1"):
        MODULES[kind](eps=-1.0)


def test_integer_boxes_are_computed_in_float32() -> None:
    boxes1 = torch.tensor([[0, 0, 2, 2]])
    boxes2 = torch.tensor([[1, 1, 3, 3]])
    output = generalized_box_iou_loss(boxes1, boxes2)
    assert output.dtype == torch.float32
    torch.testing.assert_close(output, generalized_box_iou_loss(boxes1.float(), boxes2.float()))


def test_inverted_box_counts_as_empty() -> None:
    inverted = torch.tensor([[2.0, 2.0, 0.0, 0.0]])
    point = torch.tensor([[1.0, 1.0, 1.0, 1.0]])
    target = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    # No area and no overlap: IoU 0; the enclosing box is the target, so the GIoU penalty is 0 too.
    assert generalized_box_iou_loss(inverted, target).item() == pytest.approx(1.0, abs=1e-6)
    assert generalized_box_iou_loss(point, target).item() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("kind", sorted(FUNCTIONS))
def test_functions_reject_boxes_without_four_coordinates(kind: str) -> None:
    good = torch.tensor([[0.0, 0.0, 1.0, 1.0]] * 2)
    with pytest.raises(ValueError, match=r"boxes1 must have shape \(\.\.\., 4\), got \[2, 5\]"):
        FUNCTIONS[kind](torch.zeros(2, 5), good)
    with pytest.raises(ValueError, match=r"boxes2 must have shape \(\.\.\., 4\), got \[2, 3\]"):
        FUNCTIONS[kind](good, torch.zeros(2, 3))
    # The functions check eps with the modules' validator (torchvision accepts a negative eps).
    for eps in (-1e-9, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="eps must be a finite non-negative number"):
            FUNCTIONS[kind](good, good, eps=eps)


@pytest.mark.parametrize("kind", sorted(FUNCTIONS))
def test_box_losses_reject_mismatched_shapes_instead_of_broadcasting(kind: str) -> None:
    boxes = torch.tensor([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 4.0]])
    # (2, 1, 4) against (2, 4) used to broadcast to a pairwise (2, 2) result with a plausible mean.
    with pytest.raises(ValueError, match=r"boxes1 and boxes2 must have the same shape .* got \[2, 1, 4\] and \[2, 4\]"):
        FUNCTIONS[kind](boxes[:, None], boxes, reduction="mean")
    with pytest.raises(ValueError, match="the same shape"):
        FUNCTIONS[kind](boxes[:1], boxes)
    for box_format in ("xyxy", "cxcywh"):
        with pytest.raises(ValueError, match="the same shape"):
            MODULES[kind](box_format=box_format)(boxes, boxes[:1])


@pytest.mark.parametrize("kind", sorted(MODULES))
@pytest.mark.parametrize("box_format", ["xyxy", "cxcywh"])
def test_modules_reject_boxes_without_four_coordinates_and_non_number_eps(kind: str, box_format: str) -> None:
    loss = MODULES[kind](box_format=box_format)
    with pytest.raises(ValueError, match=r"boxes1 must have shape \(\.\.\., 4\), got \[2, 5\]"):
        loss(torch.zeros(2, 5), torch.zeros(2, 4))
    with pytest.raises(TypeError, match="eps must be a finite non-negative number, got 'x' of type str"):
        MODULES[kind](eps="x")
