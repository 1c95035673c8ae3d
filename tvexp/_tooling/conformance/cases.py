"""The full conformance table: every public layer and loss, gathered from the per-area tables."""

from __future__ import annotations

from tvexp._tooling.conformance import (
    basic_layers,
    blocks,
    classification_blocks,
    detection_heads,
    drop_block,
    losses,
    maxvit,
    mvit,
    quantizable,
    swin,
    transformers,
    video,
)
from tvexp._tooling.conformance.table import LayerCase, LossCase

__all__ = ["LAYER_CASES", "LOSS_CASES"]

_AREAS = (
    basic_layers,
    blocks,
    classification_blocks,
    detection_heads,
    drop_block,
    losses,
    maxvit,
    mvit,
    quantizable,
    swin,
    transformers,
    video,
)
LAYER_CASES: list[LayerCase] = [case for area in _AREAS for case in area.LAYER_CASES]
LOSS_CASES: list[LossCase] = [case for area in _AREAS for case in area.LOSS_CASES]
