"""Conformance entries for the transformer-era layers: attention, encoder block, ConvNeXt block, LayerScale."""

from __future__ import annotations

from tvexp._tooling.conformance.builders import (
    _prototype,
    _stable,  # noqa: F401  (`tvexp-api promote` retargets cases to it)
)
from tvexp._tooling.conformance.table import LayerCase, LossCase, randn

__all__ = ["LAYER_CASES", "LOSS_CASES"]


LAYER_CASES: list[LayerCase] = [
    LayerCase(
        id="MultiheadSelfAttention/swin-layout",
        build=_prototype("MultiheadSelfAttention", 16, 4),
        inputs=lambda: (randn(2, 6, 16, seed=120),),
        output_shape=(2, 6, 16),
        reference=True,
        tags=frozenset({"inductor", "onnx"}),
    ),
    LayerCase(
        id="MultiheadSelfAttention/vit-layout-attention-dropout",
        build=_prototype("MultiheadSelfAttention", 16, 2, attention_dropout=0.1, layout="vit"),
        inputs=lambda: (randn(3, 5, 16, seed=121),),
        output_shape=(3, 5, 16),
        stochastic=True,
        tags=frozenset({"onnx"}),
    ),
    LayerCase(
        id="MultiheadSelfAttention/maxvit-layout",
        build=_prototype("MultiheadSelfAttention", 8, 2, layout="maxvit"),
        inputs=lambda: (randn(2, 4, 8, seed=122),),
        output_shape=(2, 4, 8),
    ),
    LayerCase(
        id="MultiheadSelfAttention/mvit-layout-no-qkv-bias",
        build=_prototype("MultiheadSelfAttention", 8, 4, qkv_bias=False, layout="mvit"),
        inputs=lambda: (randn(2, 4, 8, seed=123),),
        output_shape=(2, 4, 8),
    ),
    LayerCase(
        id="TransformerEncoderBlock/vit",
        build=_prototype("TransformerEncoderBlock", 2, 16, 32),
        inputs=lambda: (randn(2, 5, 16, seed=124),),
        output_shape=(2, 5, 16),
        reference=True,
        tags=frozenset({"inductor", "onnx"}),
    ),
    LayerCase(
        id="TransformerEncoderBlock/dropout-stochastic-depth",
        build=_prototype("TransformerEncoderBlock", 4, 16, 24, 0.1, 0.1, stochastic_depth_prob=0.2),
        inputs=lambda: (randn(4, 3, 16, seed=125),),
        output_shape=(4, 3, 16),
        stochastic=True,
    ),
    LayerCase(
        id="ConvNeXtBlock/torchvision",
        build=_prototype("ConvNeXtBlock", 8, 0.5),
        inputs=lambda: (randn(2, 8, 7, 7, seed=126),),
        output_shape=(2, 8, 7, 7),
        reference=True,
        tags=frozenset({"inductor", "onnx"}),
    ),
    LayerCase(
        id="ConvNeXtBlock/stochastic-depth-k5-hidden12",
        build=_prototype("ConvNeXtBlock", 6, 0.3, 0.2, kernel_size=5, hidden_channels=12),
        inputs=lambda: (randn(4, 6, 5, 6, seed=127),),
        output_shape=(4, 6, 5, 6),
        stochastic=True,
    ),
    LayerCase(
        id="LayerScale/tokens",
        build=_prototype("LayerScale", 16, 0.1),
        inputs=lambda: (randn(2, 5, 16, seed=128),),
        output_shape=(2, 5, 16),
        reference=True,
        tags=frozenset({"inductor"}),
    ),
    LayerCase(
        id="LayerScale/channels-first-2d",
        build=_prototype("LayerScale", 8, 1e-6, spatial_dims=2),
        inputs=lambda: (randn(2, 8, 4, 5, seed=129),),
        output_shape=(2, 8, 4, 5),
    ),
]
LOSS_CASES: list[LossCase] = []
