"""Tier behaviour of the losses: stable names never warn, prototype ones warn once, forward never does."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.subprocess


def test_prototype_losses_warn_once_and_their_modules_not_again_in_forward(python_subprocess) -> None:
    result = python_subprocess(
        """
        import json, warnings
        import torch
        warnings.simplefilter("always")
        with warnings.catch_warnings(record=True) as stable_caught:
            from tvexp.stable.losses import sigmoid_focal_loss, complete_box_iou_loss
            sigmoid_focal_loss(torch.zeros(3), torch.ones(3))
        import tvexp.prototype.losses as losses
        with warnings.catch_warnings(record=True) as caught:
            module = losses.SoftmaxFocalLoss()
            dice = losses.DiceLoss()
            for _ in range(2):
                module(torch.zeros(2, 3), torch.tensor([0, 1]))
                dice(torch.zeros(2, 3), torch.tensor([0, 1]))
            losses.softmax_focal_loss(torch.zeros(2, 3), torch.tensor([0, 1]))
            losses.softmax_focal_loss(torch.zeros(2, 3), torch.tensor([0, 1]))
            scripted = torch.jit.script(losses.dice_loss)
            compiled = torch.compile(losses.softmax_focal_loss, fullgraph=True, backend="eager")
            compiled(torch.zeros(2, 3), torch.tensor([0, 1]))
        messages = [str(w.message).split(" is a prototype")[0] for w in caught
                    if w.category.__name__ == "PrototypeWarning"]
        print(json.dumps({"stable": len(stable_caught), "prototype": messages}))
        """
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["stable"] == 0
    assert report["prototype"] == [
        "tvexp.prototype.losses.SoftmaxFocalLoss",
        "tvexp.prototype.losses.DiceLoss",
        "tvexp.prototype.losses.softmax_focal_loss",
    ]
