"""Conformance entries for the classification-family blocks: RegNet, DenseNet, SqueezeNet, ShuffleNetV2,
GoogLeNet/Inception's named conv layout and MNASNet's inverted-residual layout."""

from __future__ import annotations

from torch import nn

from tvexp._tooling.conformance.builders import _prototype
from tvexp._tooling.conformance.table import LayerCase, LossCase, randn

__all__ = ["LAYER_CASES", "LOSS_CASES"]


LAYER_CASES: list[LayerCase] = [
    LayerCase(
        id="RegNetBottleneck/y-se-stride2-projection",
        build=_prototype("RegNetBottleneck", 16, 32, 2, group_width=8, se_ratio=0.25),
        inputs=lambda: (randn(2, 16, 8, 8, seed=130),),
        output_shape=(2, 32, 4, 4),
        reference=True,
        tags=frozenset({"inductor", "onnx"}),
    ),
    LayerCase(
        id="RegNetBottleneck/x-identity-grouped-bottleneck2",
        build=_prototype("RegNetBottleneck", 16, 16, group_width=4, bottleneck_multiplier=2.0),
        inputs=lambda: (randn(2, 16, 6, 6, seed=131),),
        output_shape=(2, 16, 6, 6),
    ),
    LayerCase(
        id="DenseLayer/default",
        build=_prototype("DenseLayer", 16, 8),
        inputs=lambda: (randn(2, 16, 6, 6, seed=132),),
        output_shape=(2, 8, 6, 6),
        reference=True,
        tags=frozenset({"inductor", "onnx"}),
    ),
    LayerCase(
        id="DenseLayer/memory-efficient-dropout",
        build=_prototype("DenseLayer", 16, 8, bn_size=2, drop_rate=0.2, memory_efficient=True),
        inputs=lambda: (randn(4, 16, 6, 6, seed=133),),
        output_shape=(4, 8, 6, 6),
        stochastic=True,
        expected_failures={
            "fx": "memory_efficient reads requires_grad of the inputs in Python to decide whether to checkpoint, "
            "which symbolic tracing cannot evaluate (the default memory_efficient=False traces)",
        },
    ),
    LayerCase(
        id="DenseBlock/three-layers",
        build=_prototype("DenseBlock", 3, 16, 2, 8),
        inputs=lambda: (randn(2, 16, 6, 6, seed=134),),
        output_shape=(2, 40, 6, 6),
        reference=True,
        tags=frozenset({"inductor"}),
    ),
    LayerCase(
        id="DenseTransition/halve",
        build=_prototype("DenseTransition", 16, 8),
        inputs=lambda: (randn(2, 16, 7, 7, seed=135),),
        output_shape=(2, 8, 3, 3),
        reference=True,
    ),
    LayerCase(
        id="Fire/squeezenet",
        build=_prototype("Fire", 16, 4, 8, 8),
        inputs=lambda: (randn(2, 16, 7, 7, seed=136),),
        output_shape=(2, 16, 7, 7),
        reference=True,
        tags=frozenset({"onnx"}),
    ),
    LayerCase(
        id="ShuffleNetV2Unit/stride2",
        build=_prototype("ShuffleNetV2Unit", 8, 16, 2),
        inputs=lambda: (randn(2, 8, 8, 8, seed=137),),
        output_shape=(2, 16, 4, 4),
        reference=True,
        tags=frozenset({"inductor", "onnx"}),
    ),
    LayerCase(
        id="ShuffleNetV2Unit/stride1-split",
        build=_prototype("ShuffleNetV2Unit", 16, 16),
        inputs=lambda: (randn(2, 16, 5, 5, seed=138),),
        output_shape=(2, 16, 5, 5),
    ),
    LayerCase(
        id="NamedConv2dNormActivation/inception-basic-conv",
        build=_prototype("NamedConv2dNormActivation", 8, 16, 3, 2, 0),
        inputs=lambda: (randn(2, 8, 9, 9, seed=139),),
        output_shape=(2, 16, 4, 4),
        reference=True,
        tags=frozenset({"onnx"}),
    ),
    LayerCase(
        id="NamedConv2dNormActivation/asymmetric-kernel-gelu-no-norm",
        build=_prototype("NamedConv2dNormActivation", 8, 8, (1, 7), norm_layer=None, activation_layer=nn.GELU),
        inputs=lambda: (randn(2, 8, 6, 9, seed=140),),
        output_shape=(2, 8, 6, 9),
    ),
    LayerCase(
        id="QuantizableNamedConv2dNormActivation/bn-relu",
        build=_prototype("QuantizableNamedConv2dNormActivation", 4, 8, 3, 2),
        inputs=lambda: (randn(2, 4, 8, 8, seed=142),),
        output_shape=(2, 8, 4, 4),
        reference=True,
    ),
    LayerCase(
        id="QuantizableShuffleNetV2Unit/stride2",
        build=_prototype("QuantizableShuffleNetV2Unit", 8, 16, 2),
        inputs=lambda: (randn(2, 8, 8, 8, seed=143),),
        output_shape=(2, 16, 4, 4),
        reference=True,
    ),
    LayerCase(
        id="InvertedResidual/mnasnet-k5-residual",
        build=_prototype("InvertedResidual", 8, 8, 1, 3, kernel_size=5, activation_layer=nn.ReLU, layout="mnasnet"),
        inputs=lambda: (randn(2, 8, 7, 7, seed=141),),
        output_shape=(2, 8, 7, 7),
    ),
]
LOSS_CASES: list[LossCase] = []
