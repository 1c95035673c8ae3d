"""DropBlock2d/3d against torchvision 0.29 fixtures (recorded by ``fixtures_drop_block.py``).

Eval mode and ``p=0`` must return the input exactly; training mode must have torchvision's
statistics (random draws differ, so means and per-position rates are compared with tolerances of
six standard errors, computed from both samples; the draws are seeded, so the tests are deterministic).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from tvexp.stable import DropBlock2d, DropBlock3d
from tvexp.stable.functional import drop_block2d, drop_block3d

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def load(name: str) -> dict:  # type: ignore[type-arg]
    return torch.load(FIXTURES / name, weights_only=False)


def test_eval_and_zero_p_match_torchvision_exactly() -> None:
    reference = load("dropblock_identity.pt")
    x2, x3 = reference["x2"], reference["x3"]
    assert torch.equal(DropBlock2d(0.5, 3).eval()(x2), reference["eval2"])
    assert torch.equal(DropBlock3d(0.5, 3).eval()(x3), reference["eval3"])
    assert torch.equal(drop_block2d(x2, 0.0, 3, training=True), reference["p0_2"])
    assert torch.equal(drop_block3d(x3, 0.0, 3, training=True), reference["p0_3"])
    assert torch.equal(DropBlock2d(0.5, 4).eval()(x2), reference["eval_even_block"])


def test_state_dict_keys_repr_and_class_hierarchy_match_torchvision() -> None:
    reference = load("dropblock_identity.pt")
    assert sorted(DropBlock2d(0.1, 3).state_dict()) == reference["keys2"]
    assert sorted(DropBlock3d(0.1, 3).state_dict()) == reference["keys3"]
    assert repr(DropBlock2d(0.1, 3)) == reference["repr2"]
    assert repr(DropBlock3d(0.2, 5, inplace=True)) == reference["repr3"]
    assert issubclass(DropBlock3d, DropBlock2d) == reference["is_subclass"]


STATISTICS = load("dropblock_statistics.pt")


@pytest.mark.parametrize("name", sorted(STATISTICS))
def test_training_statistics_match_torchvision(name: str) -> None:
    reference = STATISTICS[name]
    functional = drop_block2d if reference["dims"] == 2 else drop_block3d
    x = torch.ones(reference["shape"])
    draws = reference["draws"]
    torch.manual_seed(2024)
    fractions = []
    rate = torch.zeros(reference["shape"][2:], dtype=torch.float64)
    for _ in range(draws):
        out = functional(x, reference["p"], reference["block_size"])
        dropped = out == 0
        fractions.append(dropped.double().mean().item())
        rate += dropped.double().mean((0, 1))
        kept = int((~dropped).sum())
        # The same normalisation as torchvision: every kept value is numel / (eps + kept).
        torch.testing.assert_close(out[~dropped], torch.full((kept,), x.numel() / (1e-6 + kept)))
    assert reference["normalised"]
    ours = torch.tensor(fractions, dtype=torch.float64)
    standard_error = math.sqrt(ours.var().item() / draws + reference["std"] ** 2 / draws)
    assert abs(ours.mean().item() - reference["mean"]) < 6 * standard_error + 1e-3, (
        ours.mean().item(),
        reference["mean"],
    )
    # Per-position drop rates (the block geometry: blocks inside the map, corners dropped less).
    rate /= draws
    samples = draws * reference["shape"][0] * reference["shape"][1]
    variance = rate * (1 - rate) + reference["rate"] * (1 - reference["rate"])
    tolerance = 6 * (variance / samples).sqrt() + 0.01
    assert ((rate - reference["rate"]).abs() <= tolerance).all()
