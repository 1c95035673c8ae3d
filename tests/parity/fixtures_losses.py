"""Records torchvision 0.29's losses: inputs, outputs and input gradients, in ``losses_parity.pt``.

Run by ``make parity-fixtures`` (``record``) in the reference environment. Each entry holds the
function name, its keyword arguments, the inputs, the output and the gradients of ``output.sum()``
with respect to the float inputs. Boxes mix overlapping, nested, disjoint, identical and touching
pairs. ``losses_deliberate.pt`` records torchvision results that tvexp deliberately does not
reproduce (CIoU at a non-default ``eps``, focal ``mean`` over an empty input), for the docs.

This module imports only torch at module level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

__all__ = ["BOX_LOSSES", "box_pairs", "record"]

BOX_LOSSES = ("generalized_box_iou_loss", "distance_box_iou_loss", "complete_box_iou_loss")


def box_pairs(dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """32 pairs of ``xyxy`` boxes: overlapping, nested, disjoint, identical, touching, random."""
    generator = torch.Generator().manual_seed(0)
    corners = torch.rand(32, 2, generator=generator, dtype=torch.float64) * 20
    sizes = torch.rand(32, 2, generator=generator, dtype=torch.float64) * 10 + 0.5
    target = torch.cat((corners, corners + sizes), dim=1)
    prediction = target + torch.randn(32, 4, generator=generator, dtype=torch.float64) * 0.8  # overlapping
    prediction[8:12] = target[8:12] + torch.tensor([0.2, 0.3, -0.2, -0.1], dtype=torch.float64)  # nested
    prediction[12:16] = target[12:16] + 40.0  # disjoint
    prediction[16:18] = target[16:18]  # identical
    width = target[18, 2] - target[18, 0]
    prediction[18] = target[18] + torch.stack((width, 0 * width, width, 0 * width))  # touching along x
    prediction[19] = torch.cat((target[19, :2] - 3.0, target[19, 2:] + 3.0))  # target nested in prediction
    prediction[:, 2:] = torch.maximum(prediction[:, 2:], prediction[:, :2] + 0.1)  # keep x1 < x2, y1 < y2
    return prediction.to(dtype), target.to(dtype)


def _focal_inputs(dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(6, 9, generator=generator, dtype=torch.float64) * 3
    targets = (torch.rand(6, 9, generator=generator, dtype=torch.float64) > 0.7).to(torch.float64)
    targets[0, :3] = torch.tensor([0.2, 0.5, 0.9], dtype=torch.float64)  # soft labels
    return logits.to(dtype), targets.to(dtype)


def _configurations() -> list[tuple[str, dict[str, Any], str]]:
    """(function name, keyword arguments, dtype name) for every recorded call."""
    configurations: list[tuple[str, dict[str, Any], str]] = []
    for reduction in ("none", "mean", "sum"):
        for alpha, gamma in ((0.25, 2), (-1, 2), (0.25, 0), (0.8, 1.5)):
            configurations.append(
                ("sigmoid_focal_loss", {"alpha": alpha, "gamma": gamma, "reduction": reduction}, "float32")
            )
        for name in BOX_LOSSES:
            configurations.append((name, {"reduction": reduction}, "float32"))
    configurations.append(("sigmoid_focal_loss", {}, "float64"))
    configurations.append(("sigmoid_focal_loss", {}, "float16"))
    for name in BOX_LOSSES:
        configurations.append((name, {}, "float64"))
        configurations.append((name, {"eps": 1e-7}, "float16"))
        if name != "complete_box_iou_loss":  # torchvision's CIoU ignores most of a custom eps
            configurations.append((name, {"eps": 1e-2}, "float32"))
    return configurations


def _call(function: Any, name: str, kwargs: dict[str, Any], dtype: torch.dtype) -> dict[str, Any]:
    inputs = _focal_inputs(dtype) if name == "sigmoid_focal_loss" else box_pairs(dtype)
    leaves = [x.clone().requires_grad_(name != "sigmoid_focal_loss" or i == 0) for i, x in enumerate(inputs)]
    output = function(*leaves, **kwargs)
    output.sum().backward()
    return {
        "name": name,
        "kwargs": kwargs,
        "inputs": [x.detach() for x in leaves],
        "output": output.detach(),
        "grads": [x.grad for x in leaves],
    }


def record(out_dir: Path) -> None:
    import torchvision
    import torchvision.ops as ops

    entries = [
        _call(getattr(ops, name), name, kwargs, getattr(torch, dtype)) for name, kwargs, dtype in _configurations()
    ]
    torch.save(
        {"torchvision": str(torchvision.__version__), "torch": str(torch.__version__), "entries": entries},
        out_dir / "losses_parity.pt",
    )

    prediction, target = box_pairs(torch.float64)
    empty_logits = torch.zeros(0, 3, requires_grad=True)
    deliberate = {
        "torchvision": str(torchvision.__version__),
        "ciou_eps": 1e-2,
        "ciou_boxes": (prediction, target),
        "ciou_torchvision": ops.complete_box_iou_loss(prediction, target, eps=1e-2),
        "focal_empty_mean_torchvision": ops.sigmoid_focal_loss(
            empty_logits, torch.zeros(0, 3), reduction="mean"
        ).detach(),
    }
    torch.save(deliberate, out_dir / "losses_deliberate.pt")
