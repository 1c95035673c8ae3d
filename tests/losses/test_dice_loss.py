"""Behaviour of the Dice loss beyond the contract: modes chosen by shape, smoothing, ignore_index."""

from __future__ import annotations

import pytest
import torch

from tvexp.prototype.losses import DiceLoss, dice_loss


def soft_dice(p: torch.Tensor, t: torch.Tensor, smooth: float) -> torch.Tensor:
    return 1 - (2 * (p * t).sum() + smooth) / (p.sum() + t.sum() + smooth)


def test_binary_matches_the_formula_for_every_accepted_shape() -> None:
    logits = torch.randn(2, 5, 5, dtype=torch.float64)
    target = (torch.rand(2, 5, 5) > 0.5).double()
    expected = torch.stack([soft_dice(torch.sigmoid(logits[i]), target[i], 0.5) for i in range(2)])
    torch.testing.assert_close(dice_loss(logits, target, smooth=0.5, reduction="none"), expected)
    torch.testing.assert_close(dice_loss(logits.unsqueeze(1), target, smooth=0.5, reduction="none"), expected)
    torch.testing.assert_close(
        dice_loss(logits.unsqueeze(1), target.unsqueeze(1).long(), smooth=0.5, reduction="none"), expected
    )


def test_multiclass_averages_one_dice_per_class() -> None:
    logits = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    target = torch.randint(0, 3, (2, 4, 4))
    probabilities = torch.softmax(logits, 1)
    expected = torch.stack(
        [
            torch.stack([soft_dice(probabilities[i, c], (target[i] == c).double(), 1.0) for c in range(3)]).mean()
            for i in range(2)
        ]
    )
    torch.testing.assert_close(dice_loss(logits, target, reduction="none"), expected)
    torch.testing.assert_close(dice_loss(logits, target, reduction="mean"), expected.mean())


def test_ignored_elements_leave_every_sum() -> None:
    logits = torch.randn(1, 3, 4, 4, dtype=torch.float64)
    target = torch.randint(0, 3, (1, 4, 4))
    ignored = target.clone()
    ignored[0, 0] = 255
    keep = (ignored != 255)[0]
    probabilities = torch.softmax(logits, 1)[0][:, keep]
    expected = torch.stack([soft_dice(probabilities[c], (target[0][keep] == c).double(), 1.0) for c in range(3)]).mean()
    torch.testing.assert_close(dice_loss(logits, ignored, ignore_index=255), expected)
    binary = dice_loss(logits[:, :1], ignored.clamp(max=1).masked_fill(~keep, 255), ignore_index=255)
    torch.testing.assert_close(
        binary, soft_dice(torch.sigmoid(logits[0, 0][keep]), target[0][keep].clamp(max=1).double(), 1.0)
    )


def test_perfect_prediction_has_near_zero_loss() -> None:
    target = torch.randint(0, 3, (2, 8, 8))
    logits = torch.nn.functional.one_hot(target, 3).movedim(-1, 1).float() * 50
    assert dice_loss(logits, target).item() < 1e-4


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="smooth must be a finite non-negative number, got -1"):
        dice_loss(torch.zeros(2, 4), torch.zeros(2, 4), smooth=-1.0)
    with pytest.raises(ValueError, match="smooth must be a finite non-negative number"):
        DiceLoss(smooth=-1.0)
    with pytest.raises(ValueError, match=r"got shapes \[2, 4\] and \[2, 5\]"):
        dice_loss(torch.zeros(2, 4), torch.zeros(2, 5))
    with pytest.raises(ValueError, match="multi-class target must hold integer class indices"):
        dice_loss(torch.zeros(2, 3, 4), torch.zeros(2, 4))
    assert repr(DiceLoss(smooth=0.5)) == "DiceLoss(smooth=0.5, ignore_index=-100, reduction='mean')"


@pytest.mark.parametrize("target_shape", [(1, 5, 5), (4, 5, 4)])
def test_multiclass_rejects_a_target_that_would_broadcast(target_shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"multi-class target must have the shape of logits without dimension 1"):
        dice_loss(torch.randn(4, 3, 5, 5), torch.zeros(target_shape, dtype=torch.long))


def test_same_shape_target_with_several_channels_is_multi_label() -> None:
    # Documented: sigmoid per channel, all channels of a sample pooled into one Dice.
    logits, target = torch.randn(2, 3, 4, 4), (torch.rand(2, 3, 4, 4) > 0.5).float()
    p = torch.sigmoid(logits).flatten(1)
    t = target.flatten(1)
    expected = 1 - (2 * (p * t).sum(1) + 1) / (p.sum(1) + t.sum(1) + 1)
    torch.testing.assert_close(dice_loss(logits, target, reduction="none"), expected)


def test_ignore_index_must_be_an_int() -> None:
    with pytest.raises(TypeError, match=r"ignore_index must be an int, got 'a' of type str"):
        DiceLoss(ignore_index="a")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"ignore_index must be an int, got 1.5"):
        dice_loss(torch.randn(2, 3, 4), torch.zeros(2, 4, dtype=torch.long), ignore_index=1.5)  # type: ignore[arg-type]
