"""Conformance entries for the residual blocks, LayerNorm2d and batch-norm conversion."""

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
        id="LayerNorm2d/affine",
        build=_prototype("LayerNorm2d", 8),
        inputs=lambda: (randn(2, 8, 5, 6, seed=40),),
        output_shape=(2, 8, 5, 6),
        reference=True,
        rejects={
            'num_channels="8" (a string)': _prototype("LayerNorm2d", "8"),
            "eps=-1.0": _prototype("LayerNorm2d", 8, eps=-1.0),
            "input with 6 channels for 8": lambda: _prototype("LayerNorm2d", 8)()(randn(2, 6, 4, 4)),
        },
        tags=frozenset({"inductor"}),
    ),
    LayerCase(
        id="LayerNorm2d/no-bias-eps1e-5",
        build=_prototype("LayerNorm2d", 6, eps=1e-5, bias=False),
        inputs=lambda: (randn(3, 6, 4, 4, seed=41),),
        output_shape=(3, 6, 4, 4),
    ),
    LayerCase(
        id="BasicBlock/identity",
        build=_prototype("BasicBlock", 8, 8),
        inputs=lambda: (randn(2, 8, 8, 8, seed=42),),
        output_shape=(2, 8, 8, 8),
        reference=True,
        tags=frozenset({"inductor"}),
    ),
    LayerCase(
        id="BasicBlock/stride2-projection-se-stochastic-depth",
        build=_prototype("BasicBlock", 8, 16, 2, se_ratio=0.25, stochastic_depth_prob=0.2),
        inputs=lambda: (randn(4, 8, 8, 8, seed=43),),
        output_shape=(4, 16, 4, 4),
        stochastic=True,
    ),
    LayerCase(
        id="Bottleneck/identity",
        build=_prototype("Bottleneck", 16, 4),
        inputs=lambda: (randn(2, 16, 8, 8, seed=44),),
        output_shape=(2, 16, 8, 8),
        reference=True,
    ),
    LayerCase(
        id="Bottleneck/grouped-stride2-dilated",
        build=_prototype("Bottleneck", 16, 8, 2, groups=4, base_width=32, dilation=2),
        inputs=lambda: (randn(2, 16, 8, 8, seed=45),),
        output_shape=(2, 32, 4, 4),
    ),
    LayerCase(
        id="InvertedResidual/mobilenet_v2-expand6",
        build=_prototype("InvertedResidual", 8, 8, 1, 6),
        inputs=lambda: (randn(2, 8, 8, 8, seed=46),),
        output_shape=(2, 8, 8, 8),
        reference=True,
        tags=frozenset({"onnx"}),
    ),
    LayerCase(
        id="InvertedResidual/mobilenet_v3-se-hardswish-stride2",
        build=_prototype(
            "InvertedResidual",
            16,
            24,
            2,
            expanded_channels=72,
            kernel_size=5,
            activation_layer=nn.Hardswish,
            se_layer=v3_squeeze_excitation,
            layout="mobilenet_v3",
        ),
        inputs=lambda: (randn(2, 16, 8, 8, seed=47),),
        output_shape=(2, 24, 4, 4),
        tags=frozenset({"onnx"}),
    ),
    LayerCase(
        id="InvertedResidual/mobilenet_v3-stochastic-depth",
        build=_prototype(
            "InvertedResidual",
            16,
            16,
            expanded_channels=48,
            layout="mobilenet_v3",
            activation_layer=nn.ReLU,
            stochastic_depth_prob=0.2,
        ),
        inputs=lambda: (randn(4, 16, 6, 6, seed=48),),
        output_shape=(4, 16, 6, 6),
        stochastic=True,
    ),
    LayerCase(
        id="MBConv/residual-stochastic-depth",
        build=_prototype("MBConv", 16, 16, stochastic_depth_prob=0.2),
        inputs=lambda: (randn(4, 16, 6, 6, seed=49),),
        output_shape=(4, 16, 6, 6),
        reference=True,
        stochastic=True,
    ),
    LayerCase(
        id="FusedMBConv/residual-stochastic-depth",
        build=_prototype("FusedMBConv", 16, 16, stochastic_depth_prob=0.2),
        inputs=lambda: (randn(4, 16, 6, 6, seed=51),),
        output_shape=(4, 16, 6, 6),
        reference=True,
        stochastic=True,
    ),
]
LOSS_CASES: list[LossCase] = []
