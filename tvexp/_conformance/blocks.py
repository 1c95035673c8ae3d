"""Conformance entries for the residual blocks, LayerNorm2d and batch-norm conversion."""

from __future__ import annotations

from tvexp._conformance.table import LayerCase, LossCase, randn

__all__ = ["LAYER_CASES", "LOSS_CASES"]

LAYER_CASES: list[LayerCase] = []
LOSS_CASES: list[LossCase] = []
