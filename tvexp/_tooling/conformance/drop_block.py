"""Conformance entries for DropBlock2d and DropBlock3d."""

from __future__ import annotations

from typing import Any, Callable

from torch import nn

from tvexp._tooling.conformance.builders import _stable
from tvexp._tooling.conformance.table import LayerCase, LossCase, randn

__all__ = ["LAYER_CASES", "LOSS_CASES"]


def _drop_block2d(**kwargs: Any) -> Callable[[], nn.Module]:
    return _stable("DropBlock2d", **kwargs)


def _drop_block3d(**kwargs: Any) -> Callable[[], nn.Module]:
    return _stable("DropBlock3d", **kwargs)


LAYER_CASES: list[LayerCase] = [
    LayerCase(
        id="DropBlock2d/p0.2-block3",
        build=_drop_block2d(p=0.2, block_size=3),
        inputs=lambda: (randn(2, 4, 10, 10, seed=1),),
        output_shape=(2, 4, 10, 10),
        stochastic=True,
        reference=True,
        tags=frozenset({"inductor", "onnx"}),
    ),
    LayerCase(
        id="DropBlock2d/even-rectangular-block",
        build=_drop_block2d(p=0.1, block_size=(2, 4)),
        inputs=lambda: (randn(2, 3, 9, 12, seed=2),),
        output_shape=(2, 3, 9, 12),
        stochastic=True,
    ),
    LayerCase(
        id="DropBlock2d/shared-mask",
        build=_drop_block2d(p=0.1, block_size=4, shared_mask=True),
        inputs=lambda: (randn(2, 3, 8, 8, seed=3),),
        output_shape=(2, 3, 8, 8),
        stochastic=True,
    ),
    LayerCase(
        id="DropBlock3d/p0.2-block3",
        build=_drop_block3d(p=0.2, block_size=3),
        inputs=lambda: (randn(2, 3, 6, 7, 8, seed=4),),
        output_shape=(2, 3, 6, 7, 8),
        stochastic=True,
        reference=True,
    ),
    LayerCase(
        id="DropBlock3d/cuboid-block",
        build=_drop_block3d(p=0.1, block_size=(1, 2, 3)),
        inputs=lambda: (randn(2, 3, 4, 6, 6, seed=5),),
        output_shape=(2, 3, 4, 6, 6),
        stochastic=True,
    ),
]
LOSS_CASES: list[LossCase] = []
