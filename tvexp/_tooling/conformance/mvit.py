"""Conformance entries for MViT's layers: pooling attention and the multiscale block."""

from __future__ import annotations

from tvexp._tooling.conformance.builders import (
    _prototype,
    _stable,  # noqa: F401  (`tvexp-api promote` retargets cases to it)
)
from tvexp._tooling.conformance.table import LayerCase, LossCase, randn

__all__ = ["LAYER_CASES", "LOSS_CASES"]

# MViTv2's configuration on a 2 x 4 x 4 grid: query and key/value pooled 2x spatially, relative positions,
# pooled residual without the class token, the width changed in the attention branch.
_V2 = {
    "query_kernel_size": (3, 3, 3),
    "query_stride": (1, 2, 2),
    "key_value_kernel_size": (3, 3, 3),
    "key_value_stride": (1, 2, 2),
    "residual_pooling": True,
    "residual_with_class_token": False,
    "relative_position_embedding": True,
}

LAYER_CASES: list[LayerCase] = [
    LayerCase(
        id="MultiscaleAttention/v2-pooled-relative-position",
        build=_prototype("MultiscaleAttention", 8, 2, (2, 4, 4), output_dim=16, **_V2),
        inputs=lambda: (randn(2, 33, 8, seed=140),),
        output_shape=(2, 9, 16),
        reference=True,
        tags=frozenset({"inductor", "onnx"}),
        rejects={
            "num_heads=3 for output_dim=16": _prototype("MultiscaleAttention", 8, 3, (2, 4, 4), output_dim=16),
            "query_stride=(2, 2)": _prototype("MultiscaleAttention", 8, 2, (2, 4, 4), query_stride=(2, 2)),
            "input with 30 tokens for 1 + 2 * 4 * 4": lambda: _prototype("MultiscaleAttention", 8, 2, (2, 4, 4))()(
                randn(2, 30, 8)
            ),
        },
    ),
    LayerCase(
        id="MultiscaleAttention/v1-key-value-pooling",
        build=_prototype(
            "MultiscaleAttention", 8, 2, (2, 4, 4), key_value_kernel_size=(3, 3, 3), key_value_stride=(1, 4, 4)
        ),
        inputs=lambda: (randn(2, 33, 8, seed=141),),
        output_shape=(2, 33, 8),
        tags=frozenset({"onnx"}),
    ),
    LayerCase(
        id="MultiscaleAttention/temporal-stride-resized-tables-dropout",
        build=_prototype(
            "MultiscaleAttention",
            4,
            1,
            (4, 3, 5),
            query_kernel_size=(3, 1, 3),
            query_stride=(2, 1, 2),
            relative_position_embedding=True,
            residual_pooling=True,
            dropout=0.1,
        ),
        inputs=lambda: (randn(3, 61, 4, seed=142),),
        output_shape=(3, 19, 4),
        stochastic=True,
    ),
    LayerCase(
        id="MultiscaleBlock/v2",
        build=_prototype("MultiscaleBlock", 8, 2, (2, 4, 4), output_dim=16, project_after_attention=True, **_V2),
        inputs=lambda: (randn(2, 33, 8, seed=143),),
        output_shape=(2, 9, 16),
        reference=True,
        tags=frozenset({"inductor", "onnx"}),
        rejects={
            "num_heads=3 for embed_dim=8": _prototype("MultiscaleBlock", 8, 3, (2, 4, 4)),
            "stochastic_depth_prob=nan": _prototype(
                "MultiscaleBlock", 8, 2, (2, 4, 4), stochastic_depth_prob=float("nan")
            ),
            "input_size=(2, 0, 4)": _prototype("MultiscaleBlock", 8, 2, (2, 0, 4)),
            "input with 6 features for 8": lambda: _prototype("MultiscaleBlock", 8, 2, (2, 4, 4))()(randn(2, 33, 6)),
        },
    ),
    LayerCase(
        id="MultiscaleBlock/v1-downsample-widen-stochastic-depth",
        build=_prototype(
            "MultiscaleBlock",
            8,
            2,
            (2, 4, 4),
            output_dim=16,
            query_kernel_size=(3, 3, 3),
            query_stride=(1, 2, 2),
            key_value_kernel_size=(3, 3, 3),
            key_value_stride=(1, 2, 2),
            dropout=0.1,
            stochastic_depth_prob=0.2,
        ),
        inputs=lambda: (randn(4, 33, 8, seed=144),),
        output_shape=(4, 9, 16),
        stochastic=True,
    ),
]
LOSS_CASES: list[LossCase] = []
