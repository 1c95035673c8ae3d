"""The full conformance table: every public layer and loss, gathered from the per-area tables."""

from __future__ import annotations

from tvexp._conformance import losses, prototype_layers, stable_layers
from tvexp._conformance.table import LayerCase, LossCase

__all__ = ["LAYER_CASES", "LOSS_CASES"]

LAYER_CASES: list[LayerCase] = [*stable_layers.LAYER_CASES, *prototype_layers.LAYER_CASES]
LOSS_CASES: list[LossCase] = [*losses.LOSS_CASES, *stable_layers.LOSS_CASES, *prototype_layers.LOSS_CASES]
