"""Conformance entries for MaxViT's layers: the pre-norm MBConv, partition attention, the MaxViT block, and the
relative-position bias of the attention."""

from __future__ import annotations

from tvexp._tooling.conformance.builders import (
    _prototype,
    _stable,  # noqa: F401  (`tvexp-api promote` retargets cases to it)
)
from tvexp._tooling.conformance.table import LayerCase, LossCase, randn

__all__ = ["LAYER_CASES", "LOSS_CASES"]

_ONNX_AND_INDUCTOR = frozenset({"inductor", "onnx"})

LAYER_CASES: list[LayerCase] = [
    LayerCase(
        id="PreNormMBConv/identity-shortcut",
        build=_prototype("PreNormMBConv", 8, 8),
        inputs=lambda: (randn(2, 8, 6, 5, seed=140),),
        output_shape=(2, 8, 6, 5),
        reference=True,
        tags=_ONNX_AND_INDUCTOR,
        rejects={
            "stride=3": _prototype("PreNormMBConv", 8, 8, stride=3),
            "se_ratio=0.01 (no squeeze channel)": _prototype("PreNormMBConv", 8, 8, se_ratio=0.01),
            "input with 4 channels for 8": lambda: _prototype("PreNormMBConv", 8, 8)()(randn(1, 4, 5, 5)),
        },
    ),
    LayerCase(
        id="PreNormMBConv/stride2-projection-stochastic-depth",
        build=_prototype("PreNormMBConv", 8, 16, expand_ratio=2, stride=2, stochastic_depth_prob=0.2),
        inputs=lambda: (randn(4, 8, 7, 6, seed=141),),
        output_shape=(4, 16, 4, 3),
        stochastic=True,
    ),
    LayerCase(
        id="PartitionAttentionBlock/window",
        build=_prototype("PartitionAttentionBlock", 16, 8, 2, "window"),
        inputs=lambda: (randn(2, 16, 4, 6, seed=142),),
        output_shape=(2, 16, 4, 6),
        reference=True,
        tags=_ONNX_AND_INDUCTOR,
        rejects={
            "head_dim=5 for 16 channels": _prototype("PartitionAttentionBlock", 16, 5, 2),
            'partition_type="block"': _prototype("PartitionAttentionBlock", 16, 8, 2, "block"),
            "input of height 5 for partition_size=2": lambda: _prototype("PartitionAttentionBlock", 16, 8, 2)()(
                randn(1, 16, 5, 4)
            ),
        },
    ),
    LayerCase(
        id="PartitionAttentionBlock/grid-stochastic-depth",
        build=_prototype(
            "PartitionAttentionBlock", 16, 4, 2, "grid", mlp_ratio=2, mlp_dropout=0.1, stochastic_depth_prob=0.2
        ),
        inputs=lambda: (randn(3, 16, 6, 4, seed=143),),
        output_shape=(3, 16, 6, 4),
        stochastic=True,
        tags=frozenset({"onnx"}),
    ),
    LayerCase(
        id="MaxViTBlock/stride2",
        build=_prototype("MaxViTBlock", 8, 16, 8, 2, stride=2),
        inputs=lambda: (randn(2, 8, 8, 7, seed=144),),
        output_shape=(2, 16, 4, 4),
        reference=True,
        tags=frozenset({"inductor"}),
        rejects={
            "partition_size=0": _prototype("MaxViTBlock", 8, 16, 8, 0),
            "input whose 3x3 stride-2 output (3x3) is not divisible by partition_size=2": lambda: _prototype(
                "MaxViTBlock", 8, 16, 8, 2, stride=2
            )()(randn(1, 8, 6, 6)),
        },
    ),
    LayerCase(
        id="MultiheadSelfAttention/maxvit-relative-position-bias",
        build=_prototype("MultiheadSelfAttention", 16, 2, layout="maxvit", relative_position_window=(2, 3), scale=0.25),
        inputs=lambda: (randn(2, 6, 16, seed=145),),
        output_shape=(2, 6, 16),
        tags=frozenset({"onnx"}),
        rejects={
            "6-token window, 5 tokens": lambda: _prototype(
                "MultiheadSelfAttention", 16, 2, relative_position_window=(2, 3)
            )()(randn(1, 5, 16)),
            "relative_position_window=(2, 0)": _prototype(
                "MultiheadSelfAttention", 16, 2, relative_position_window=(2, 0)
            ),
        },
    ),
]
LOSS_CASES: list[LossCase] = []
