"""Conformance entries for the basic layers (conv-norm-activation, SE, MLP, Permute, frozen BN, stochastic depth)."""

from __future__ import annotations

from tvexp._conformance.table import LayerCase, LossCase, randn

__all__ = ["LAYER_CASES", "LOSS_CASES"]

LAYER_CASES: list[LayerCase] = []
LOSS_CASES: list[LossCase] = []
