"""Conformance entries for the quantizable blocks (float behaviour, before any fusion or quantization)."""

from __future__ import annotations

from torch import nn

from tvexp._tooling.conformance.builders import (
    _prototype,
    _stable,  # noqa: F401  (`tvexp-api promote` retargets cases to it)
    v3_squeeze_excitation,
)
from tvexp._tooling.conformance.table import LayerCase, LossCase, randn

__all__ = ["LAYER_CASES", "LOSS_CASES"]


LAYER_CASES: list[LayerCase] = [
    LayerCase(
        id="QuantizableConv2dNormActivation/bn-relu",
        build=_prototype("QuantizableConv2dNormActivation", 4, 8, stride=2),
        inputs=lambda: (randn(2, 4, 8, 8, seed=300),),
        output_shape=(2, 8, 4, 4),
        reference=True,
    ),
    LayerCase(
        id="QuantizableSqueezeExcitation/relu-sigmoid",
        build=_prototype("QuantizableSqueezeExcitation", 8, 4),
        inputs=lambda: (randn(2, 8, 5, 5, seed=302),),
        output_shape=(2, 8, 5, 5),
        reference=True,
    ),
    LayerCase(
        id="QuantizableBasicBlock/identity",
        build=_prototype("QuantizableBasicBlock", 8, 8),
        inputs=lambda: (randn(2, 8, 8, 8, seed=303),),
        output_shape=(2, 8, 8, 8),
        reference=True,
    ),
    LayerCase(
        id="QuantizableBasicBlock/stride2-se-hardswish",
        build=_prototype("QuantizableBasicBlock", 8, 16, 2, se_ratio=0.25, activation_layer=nn.Hardswish),
        inputs=lambda: (randn(2, 8, 8, 8, seed=304),),
        output_shape=(2, 16, 4, 4),
    ),
    LayerCase(
        id="QuantizableBottleneck/identity",
        build=_prototype("QuantizableBottleneck", 32, 8),
        inputs=lambda: (randn(2, 32, 6, 6, seed=305),),
        output_shape=(2, 32, 6, 6),
        reference=True,
    ),
    LayerCase(
        id="QuantizableInvertedResidual/v2-residual",
        build=_prototype("QuantizableInvertedResidual", 8, 8, 1, 4.0),
        inputs=lambda: (randn(2, 8, 8, 8, seed=306),),
        output_shape=(2, 8, 8, 8),
        reference=True,
    ),
    LayerCase(
        id="QuantizableInvertedResidual/v3-se-hardswish",
        build=_prototype(
            "QuantizableInvertedResidual",
            8,
            8,
            expanded_channels=24,
            kernel_size=5,
            activation_layer=nn.Hardswish,
            se_layer=v3_squeeze_excitation,
            layout="mobilenet_v3",
        ),
        inputs=lambda: (randn(2, 8, 8, 8, seed=307),),
        output_shape=(2, 8, 8, 8),
    ),
    LayerCase(
        id="QuantizableMBConv/residual-se-silu",
        build=_prototype("QuantizableMBConv", 8, 8, expand_ratio=4, kernel_size=3, stride=1),
        inputs=lambda: (randn(2, 8, 8, 8, seed=308),),
        output_shape=(2, 8, 8, 8),
        reference=True,
        tags=frozenset({"inductor"}),
    ),
    LayerCase(
        id="QuantizableFusedMBConv/residual",
        build=_prototype("QuantizableFusedMBConv", 8, 8, expand_ratio=4, kernel_size=3, stride=1),
        inputs=lambda: (randn(2, 8, 8, 8, seed=310),),
        output_shape=(2, 8, 8, 8),
        reference=True,
    ),
    LayerCase(
        id="QuantizableMLP/relu",
        build=_prototype("QuantizableMLP", 8, [16, 4]),
        inputs=lambda: (randn(3, 8, seed=311),),
        output_shape=(3, 4),
        reference=True,
    ),
]
LOSS_CASES: list[LossCase] = []
