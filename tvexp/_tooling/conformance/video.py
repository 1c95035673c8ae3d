"""Conformance entries for the video layers: the convolution builders of video ResNets, their residual
blocks and stems, and S3D's temporally separable convolution (all 5-d ``(N, C, D, H, W)``, so the
battery's channels_last check uses ``channels_last_3d``)."""

from __future__ import annotations

from functools import partial

from torch import nn

from tvexp._layers.video_convolutions import Conv2Plus1D, Conv3DNoTemporal, Conv3DSimple
from tvexp._tooling.conformance.builders import _prototype
from tvexp._tooling.conformance.table import LayerCase, LossCase, randn

__all__ = ["LAYER_CASES", "LOSS_CASES"]


LAYER_CASES: list[LayerCase] = [
    LayerCase(
        id="Conv3DSimple/stride2",
        build=_prototype("Conv3DSimple", 4, 8, None, 2),
        inputs=lambda: (randn(2, 4, 4, 6, 6, seed=160),),
        output_shape=(2, 8, 2, 3, 3),
        reference=True,
        tags=frozenset({"onnx"}),
        rejects={
            "stride=0": _prototype("Conv3DSimple", 4, 8, None, 0),
            "4-d input": lambda: _prototype("Conv3DSimple", 4, 8)()(randn(4, 4, 6, 6)),
        },
    ),
    LayerCase(
        id="Conv3DNoTemporal/stride2",
        build=_prototype("Conv3DNoTemporal", 4, 8, None, 2),
        inputs=lambda: (randn(2, 4, 3, 6, 6, seed=161),),
        output_shape=(2, 8, 3, 3, 3),
        reference=True,
        rejects={"midplanes=0": _prototype("Conv3DNoTemporal", 4, 8, 0)},
    ),
    LayerCase(
        id="Conv2Plus1D/stride2",
        build=_prototype("Conv2Plus1D", 4, 8, 6, 2),
        inputs=lambda: (randn(2, 4, 4, 6, 6, seed=162),),
        output_shape=(2, 8, 2, 3, 3),
        reference=True,
        tags=frozenset({"inductor", "onnx"}),
        rejects={
            "padding=-1": _prototype("Conv2Plus1D", 4, 8, 6, 1, -1),
            "input with 5 channels for 4": lambda: _prototype("Conv2Plus1D", 4, 8)()(randn(1, 5, 3, 6, 6)),
        },
    ),
    LayerCase(
        id="Conv2Plus1D/parameter-matched-gelu",
        build=_prototype("Conv2Plus1D", 8, 8, activation_layer=nn.GELU),
        inputs=lambda: (randn(2, 8, 3, 5, 5, seed=163),),
        output_shape=(2, 8, 3, 5, 5),
    ),
    LayerCase(
        id="VideoBasicBlock/simple-identity",
        build=_prototype("VideoBasicBlock", 8, 8, Conv3DSimple),
        inputs=lambda: (randn(2, 8, 3, 5, 5, seed=164),),
        output_shape=(2, 8, 3, 5, 5),
        reference=True,
        tags=frozenset({"inductor", "onnx"}),
        rejects={
            'conv_builder="conv3d" (a string)': _prototype("VideoBasicBlock", 8, 8, "conv3d"),
            "planes=0": _prototype("VideoBasicBlock", 8, 0, Conv3DSimple),
            "4-d input": lambda: _prototype("VideoBasicBlock", 8, 8, Conv3DSimple)()(randn(8, 3, 5, 5)),
        },
    ),
    LayerCase(
        id="VideoBasicBlock/2plus1d-stride2-projection",
        build=_prototype("VideoBasicBlock", 4, 8, Conv2Plus1D, 2),
        inputs=lambda: (randn(2, 4, 4, 6, 6, seed=165),),
        output_shape=(2, 8, 2, 3, 3),
    ),
    LayerCase(
        id="VideoBasicBlock/no-temporal-stride2-projection",
        build=_prototype("VideoBasicBlock", 4, 8, Conv3DNoTemporal, 2),
        inputs=lambda: (randn(2, 4, 3, 6, 6, seed=166),),
        output_shape=(2, 8, 3, 3, 3),
    ),
    LayerCase(
        id="VideoBottleneck/2plus1d-stride2-projection",
        build=_prototype("VideoBottleneck", 8, 4, Conv2Plus1D, 2),
        inputs=lambda: (randn(2, 8, 4, 6, 6, seed=167),),
        output_shape=(2, 16, 2, 3, 3),
        reference=True,
        tags=frozenset({"inductor"}),
        rejects={"stride=0": _prototype("VideoBottleneck", 8, 4, Conv2Plus1D, 0)},
    ),
    LayerCase(
        id="VideoBottleneck/simple-identity",
        build=_prototype("VideoBottleneck", 16, 4, Conv3DSimple),
        inputs=lambda: (randn(2, 16, 3, 5, 5, seed=168),),
        output_shape=(2, 16, 3, 5, 5),
    ),
    LayerCase(
        id="R3DStem/narrow",
        build=_prototype("R3DStem", 3, 8),
        inputs=lambda: (randn(2, 3, 3, 8, 8, seed=169),),
        output_shape=(2, 8, 3, 4, 4),
        reference=True,
        rejects={"out_channels=0": _prototype("R3DStem", 3, 0)},
    ),
    LayerCase(
        id="R2Plus1DStem/narrow",
        build=_prototype("R2Plus1DStem", 3, 8, 6),
        inputs=lambda: (randn(2, 3, 3, 8, 8, seed=170),),
        output_shape=(2, 8, 3, 4, 4),
        reference=True,
        rejects={"midplanes=0": _prototype("R2Plus1DStem", 3, 8, 0)},
    ),
    LayerCase(
        id="TemporalSeparableConv/k3",
        build=_prototype("TemporalSeparableConv", 4, 8, 3, 1, 1, partial(nn.BatchNorm3d, eps=0.001, momentum=0.001)),
        inputs=lambda: (randn(2, 4, 3, 5, 5, seed=171),),
        output_shape=(2, 8, 3, 5, 5),
        reference=True,
        tags=frozenset({"inductor", "onnx"}),
        rejects={
            "kernel_size=0": _prototype("TemporalSeparableConv", 4, 8, 0),
            "input with 3 channels for 4": lambda: _prototype("TemporalSeparableConv", 4, 8, 3)()(randn(1, 3, 3, 5, 5)),
        },
    ),
    LayerCase(
        id="TemporalSeparableConv/k7-stride2",
        build=_prototype("TemporalSeparableConv", 3, 8, 7, 2, 3),
        inputs=lambda: (randn(2, 3, 4, 8, 8, seed=172),),
        output_shape=(2, 8, 2, 4, 4),
    ),
]
LOSS_CASES: list[LossCase] = []
