"""Conformance entries for the Swin layers: shifted-window attention, the Swin block, patch merging, 3-D patch embedding."""

from __future__ import annotations

from torch import nn

from tvexp._tooling.conformance.builders import (
    _prototype,
    _stable,  # noqa: F401  (`tvexp-api promote` retargets cases to it)
)
from tvexp._tooling.conformance.table import LayerCase, LossCase, randn

__all__ = ["LAYER_CASES", "LOSS_CASES"]

# Swin layers take channels-last (N, H, W, C) / (N, T, H, W, C) tensors: torch's channels_last memory
# format describes a channels-first (N, C, H, W) tensor, so the battery's conversion does not apply to them.
_CHANNELS_LAST = {
    "channels_last": "the layer's input is already channels-last (N, H, W, C) in its shape; torch's channels_last "
    "memory format is for channels-first (N, C, H, W) tensors and has no meaning here",
}

LAYER_CASES: list[LayerCase] = [
    LayerCase(
        id="ShiftedWindowAttention/v1-shifted-padded",
        build=_prototype("ShiftedWindowAttention", 8, [4, 4], [2, 2], 2),
        inputs=lambda: (randn(2, 6, 9, 8, seed=700),),
        output_shape=(2, 6, 9, 8),
        reference=True,
        tags=frozenset({"inductor"}),
        expected_failures=_CHANNELS_LAST,
        rejects={
            "dim=10, num_heads=4 (not divisible)": _prototype("ShiftedWindowAttention", 10, [4, 4], [2, 2], 4),
            "shift_size=[4, 4] (not below the window)": _prototype("ShiftedWindowAttention", 8, [4, 4], [4, 4], 2),
            "window_size=[0, 4]": _prototype("ShiftedWindowAttention", 8, [0, 4], [0, 0], 2),
            "window_size=[4] (one entry)": _prototype("ShiftedWindowAttention", 8, [4], [0], 2),
            "version=2 with a 3-D window": _prototype("ShiftedWindowAttention", 8, [2, 2, 2], [0, 0, 0], 2, version=2),
            "4-D input of 6 channels": lambda: _prototype("ShiftedWindowAttention", 8, [4, 4], [2, 2], 2)()(
                randn(2, 5, 5, 6)
            ),
            "3-D input": lambda: _prototype("ShiftedWindowAttention", 8, [4, 4], [2, 2], 2)()(randn(2, 25, 8)),
        },
    ),
    LayerCase(
        id="ShiftedWindowAttention/v1-unshifted-exact",
        build=_prototype("ShiftedWindowAttention", 8, [2, 3], [0, 0], 4, qkv_bias=False),
        inputs=lambda: (randn(2, 4, 6, 8, seed=701),),
        output_shape=(2, 4, 6, 8),
        expected_failures=_CHANNELS_LAST,
    ),
    LayerCase(
        id="ShiftedWindowAttention/v2-shifted",
        build=_prototype("ShiftedWindowAttention", 8, [4, 4], [2, 2], 2, version=2),
        inputs=lambda: (randn(2, 7, 8, 8, seed=702),),
        output_shape=(2, 7, 8, 8),
        tags=frozenset({"inductor"}),
        expected_failures=_CHANNELS_LAST,
    ),
    LayerCase(
        id="ShiftedWindowAttention/3d-shifted-shrunken-window",
        build=_prototype("ShiftedWindowAttention", 8, [2, 4, 4], [1, 2, 2], 2),
        inputs=lambda: (randn(2, 2, 5, 3, 8, seed=703),),
        output_shape=(2, 2, 5, 3, 8),
        expected_failures=_CHANNELS_LAST,
    ),
    LayerCase(
        id="ShiftedWindowAttention/dropout",
        build=_prototype("ShiftedWindowAttention", 8, [4, 4], [2, 2], 2, attention_dropout=0.1, dropout=0.1),
        inputs=lambda: (randn(2, 5, 6, 8, seed=704),),
        output_shape=(2, 5, 6, 8),
        stochastic=True,
        expected_failures=_CHANNELS_LAST,
    ),
    LayerCase(
        id="SwinTransformerBlock/v1-shifted-padded",
        build=_prototype("SwinTransformerBlock", 8, 2, [4, 4], [2, 2], 2.0),
        inputs=lambda: (randn(2, 6, 9, 8, seed=705),),
        output_shape=(2, 6, 9, 8),
        reference=True,
        tags=frozenset({"inductor"}),
        rejects={
            "dim=10, num_heads=4 (not divisible)": _prototype("SwinTransformerBlock", 10, 4, [4, 4], [2, 2]),
            "shift_size=[2, -1]": _prototype("SwinTransformerBlock", 8, 2, [4, 4], [2, -1]),
            "mlp_ratio=nan": _prototype("SwinTransformerBlock", 8, 2, [4, 4], [2, 2], float("nan")),
            "stochastic_depth_prob=-0.1": _prototype(
                "SwinTransformerBlock", 8, 2, [4, 4], [2, 2], stochastic_depth_prob=-0.1
            ),
            "version=3": _prototype("SwinTransformerBlock", 8, 2, [4, 4], [2, 2], version=3),
            "5-D input to a 2-D block": lambda: _prototype("SwinTransformerBlock", 8, 2, [4, 4], [2, 2])()(
                randn(1, 2, 4, 4, 8)
            ),
        },
    ),
    LayerCase(
        id="SwinTransformerBlock/v2-shifted",
        build=_prototype("SwinTransformerBlock", 8, 2, [4, 4], [2, 2], 2.0, version=2),
        inputs=lambda: (randn(2, 8, 7, 8, seed=706),),
        output_shape=(2, 8, 7, 8),
        tags=frozenset({"inductor"}),
    ),
    LayerCase(
        id="SwinTransformerBlock/3d-shifted",
        build=_prototype("SwinTransformerBlock", 8, 2, [2, 4, 4], [1, 2, 2], 2.0),
        inputs=lambda: (randn(2, 3, 5, 6, 8, seed=707),),
        output_shape=(2, 3, 5, 6, 8),
    ),
    LayerCase(
        id="SwinTransformerBlock/dropout-stochastic-depth",
        build=_prototype(
            "SwinTransformerBlock", 8, 2, [4, 4], [0, 0], 2.0, 0.1, 0.1, stochastic_depth_prob=0.2, version=2
        ),
        inputs=lambda: (randn(4, 4, 5, 8, seed=708),),
        output_shape=(4, 4, 5, 8),
        stochastic=True,
    ),
    LayerCase(
        id="PatchMerging/v1-odd-size",
        build=_prototype("PatchMerging", 8),
        inputs=lambda: (randn(2, 5, 6, 8, seed=709),),
        output_shape=(2, 3, 3, 16),
        reference=True,
        tags=frozenset({"inductor"}),
        expected_failures=_CHANNELS_LAST,
        rejects={
            "dim=0": _prototype("PatchMerging", 0),
            "version=0": _prototype("PatchMerging", 8, version=0),
            "input of 6 channels": lambda: _prototype("PatchMerging", 8)()(randn(2, 4, 4, 6)),
            "2-D input": lambda: _prototype("PatchMerging", 8)()(randn(4, 8)),
        },
    ),
    LayerCase(
        id="PatchMerging/v2-video",
        build=_prototype("PatchMerging", 8, version=2),
        inputs=lambda: (randn(2, 3, 4, 5, 8, seed=710),),
        output_shape=(2, 3, 2, 3, 16),
        expected_failures=_CHANNELS_LAST,
    ),
    LayerCase(
        id="PatchEmbedding3d/norm-padded",
        build=_prototype("PatchEmbedding3d", [2, 4, 4], 3, 8, nn.LayerNorm),
        inputs=lambda: (randn(2, 3, 3, 9, 8, seed=711),),
        output_shape=(2, 2, 3, 2, 8),
        reference=True,
        tags=frozenset({"inductor"}),
        expected_failures={
            "channels_last": "the output is channels-last (N, T, H, W, C) by design (its shape), not a "
            "channels_last_3d (N, C, T, H, W) tensor",
        },
        rejects={
            "patch_size=[2, 4] (two entries)": _prototype("PatchEmbedding3d", [2, 4]),
            "embed_dim=0": _prototype("PatchEmbedding3d", [2, 4, 4], 3, 0),
            "input of 4 channels": lambda: _prototype("PatchEmbedding3d", [2, 4, 4])()(randn(1, 4, 2, 4, 4)),
            "4-D input": lambda: _prototype("PatchEmbedding3d", [2, 4, 4])()(randn(1, 3, 4, 4)),
        },
    ),
    LayerCase(
        id="PatchEmbedding3d/no-norm",
        build=_prototype("PatchEmbedding3d", [1, 2, 2], 2, 4),
        inputs=lambda: (randn(2, 2, 2, 5, 4, seed=712),),
        output_shape=(2, 2, 3, 2, 4),
        expected_failures={
            "channels_last": "the output is channels-last (N, T, H, W, C) by design (its shape), not a "
            "channels_last_3d (N, C, T, H, W) tensor",
        },
    ),
]
LOSS_CASES: list[LossCase] = []
