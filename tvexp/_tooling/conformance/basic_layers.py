"""Conformance entries for the basic layers (conv-norm-activation, SE, MLP, Permute, frozen BN, stochastic depth)."""

from __future__ import annotations

from torch import nn

from tvexp._tooling.conformance.builders import _prototype, _stable
from tvexp._tooling.conformance.table import LayerCase, LossCase, randn

__all__ = ["LAYER_CASES", "LOSS_CASES"]


_ONNX_AND_INDUCTOR = frozenset({"inductor", "onnx"})

LAYER_CASES: list[LayerCase] = [
    # ------------------------------------------------------------------------------ conv blocks
    LayerCase(
        id="Conv2dNormActivation/3x3-bn-relu",
        build=_stable("Conv2dNormActivation", 3, 8),
        inputs=lambda: (randn(2, 3, 9, 9, seed=1),),
        output_shape=(2, 8, 9, 9),
        reference=True,
        rejects={
            "in_channels=0": _stable("Conv2dNormActivation", 0, 8),
            "kernel_size=(3, 3, 3) for a 2-d convolution": _stable("Conv2dNormActivation", 3, 8, (3, 3, 3)),
            "input with 4 channels for 3": lambda: _stable("Conv2dNormActivation", 3, 8)()(randn(1, 4, 5, 5)),
        },
        tags=_ONNX_AND_INDUCTOR,
    ),
    LayerCase(
        id="Conv2dNormActivation/rect-kernel-stride2-dilation-groups-gelu",
        build=_stable("Conv2dNormActivation", 4, 8, (3, 5), 2, None, 2, nn.BatchNorm2d, nn.GELU, 2),
        inputs=lambda: (randn(2, 4, 11, 12, seed=2),),
        output_shape=(2, 8, 6, 6),
    ),
    LayerCase(
        id="Conv2dNormActivation/no-norm-hardswish",
        build=_stable("Conv2dNormActivation", 3, 6, 1, norm_layer=None, activation_layer=nn.Hardswish),
        inputs=lambda: (randn(2, 3, 5, 7, seed=3),),
        output_shape=(2, 6, 5, 7),
    ),
    LayerCase(
        id="Conv3dNormActivation/3x3x3-bn-relu",
        build=_stable("Conv3dNormActivation", 3, 4),
        inputs=lambda: (randn(2, 3, 4, 6, 6, seed=4),),
        output_shape=(2, 4, 4, 6, 6),
        reference=True,
        rejects={"out_channels=-1": _stable("Conv3dNormActivation", 3, -1)},
    ),
    LayerCase(
        id="Conv3dNormActivation/1x3x3-stride-no-act",
        build=_stable("Conv3dNormActivation", 4, 4, (1, 3, 3), (1, 2, 2), groups=2, activation_layer=None),
        inputs=lambda: (randn(2, 4, 3, 6, 6, seed=5),),
        output_shape=(2, 4, 3, 3, 3),
    ),
    LayerCase(
        id="Conv1dNormActivation/k5-bn-relu",
        build=_stable("Conv1dNormActivation", 3, 6, 5),
        inputs=lambda: (randn(2, 3, 16, seed=6),),
        output_shape=(2, 6, 16),
        reference=True,
        rejects={"stride=0": _stable("Conv1dNormActivation", 3, 6, 5, 0)},
    ),
    LayerCase(
        id="ConvTranspose1dNormActivation/k3-stride2",
        build=_prototype("ConvTranspose1dNormActivation", 4, 3, 3, 2),
        inputs=lambda: (randn(2, 4, 8, seed=7),),
        output_shape=(2, 3, 16),
        reference=True,
    ),
    LayerCase(
        id="ConvTranspose2dNormActivation/k4-stride2",
        build=_prototype("ConvTranspose2dNormActivation", 4, 3, 4, 2),
        inputs=lambda: (randn(2, 4, 5, 6, seed=8),),
        output_shape=(2, 3, 10, 12),
        reference=True,
    ),
    LayerCase(
        id="ConvTranspose2dNormActivation/no-norm-explicit-padding-groups",
        build=_prototype("ConvTranspose2dNormActivation", 4, 4, 3, 2, 1, 2, None, nn.SiLU, output_padding=1),
        inputs=lambda: (randn(2, 4, 5, 5, seed=9),),
        output_shape=(2, 4, 10, 10),
    ),
    LayerCase(
        id="ConvTranspose3dNormActivation/k3-stride122",
        build=_prototype("ConvTranspose3dNormActivation", 4, 2, 3, (1, 2, 2)),
        inputs=lambda: (randn(2, 4, 3, 4, 4, seed=10),),
        output_shape=(2, 2, 3, 8, 8),
        reference=True,
    ),
    # ---------------------------------------------------------------------- squeeze-excitation
    LayerCase(
        id="SqueezeExcitation/relu-sigmoid",
        build=_stable("SqueezeExcitation", 8, 4),
        inputs=lambda: (randn(2, 8, 5, 5, seed=11),),
        output_shape=(2, 8, 5, 5),
        reference=True,
        rejects={
            "squeeze_channels=0": _stable("SqueezeExcitation", 8, 0),
            'activation="relu" (a string)': _stable("SqueezeExcitation", 8, 4, activation="relu"),
        },
        tags=_ONNX_AND_INDUCTOR,
    ),
    LayerCase(
        id="SqueezeExcitation/silu-hardsigmoid",
        build=_stable("SqueezeExcitation", 6, 2, nn.SiLU, nn.Hardsigmoid),
        inputs=lambda: (randn(2, 6, 4, 7, seed=12),),
        output_shape=(2, 6, 4, 7),
    ),
    # ------------------------------------------------------------------------ linear blocks
    LayerCase(
        id="MLP/two-layer-relu",
        build=_stable("MLP", 8, [16, 4]),
        inputs=lambda: (randn(2, 3, 8, seed=13),),
        output_shape=(2, 3, 4),
        reference=True,
        rejects={"hidden_channels=[]": _stable("MLP", 8, []), "dropout=1.5": _stable("MLP", 8, [4], dropout=1.5)},
    ),
    LayerCase(
        id="MLP/layernorm-gelu-dropout",
        build=_stable("MLP", 8, [16, 16, 4], nn.LayerNorm, nn.GELU, None, False, 0.1),
        inputs=lambda: (randn(4, 8, seed=14),),
        output_shape=(4, 4),
        stochastic=True,
    ),
    LayerCase(
        id="MLP/no-activation",
        build=_stable("MLP", 8, [6, 4], activation_layer=None),
        inputs=lambda: (randn(4, 8, seed=15),),
        output_shape=(4, 4),
    ),
    LayerCase(
        id="LinearNormActivation/linear-relu",
        build=_prototype("LinearNormActivation", 8, 6),
        inputs=lambda: (randn(4, 8, seed=16),),
        output_shape=(4, 6),
        reference=True,
    ),
    LayerCase(
        id="LinearNormActivation/layernorm-gelu-dropout",
        build=_prototype("LinearNormActivation", 8, 6, nn.LayerNorm, nn.GELU, dropout=0.2),
        inputs=lambda: (randn(2, 3, 8, seed=17),),
        output_shape=(2, 3, 6),
        stochastic=True,
    ),
    # ------------------------------------------------------------------------------ utilities
    LayerCase(
        id="Permute/nchw-to-nhwc",
        build=_stable("Permute", [0, 2, 3, 1]),
        inputs=lambda: (randn(2, 3, 4, 5, seed=18),),
        output_shape=(2, 4, 5, 3),
        reference=True,
        rejects={
            "dims=[0, 2, 3, 3] (not a permutation)": _stable("Permute", [0, 2, 3, 3]),
            "3-d input for 4 dims": lambda: _stable("Permute", [0, 2, 3, 1])()(randn(2, 3, 4)),
        },
        expected_failures={
            "channels_last": "changing the layout is the point: permuting a channels_last NCHW tensor to NHWC "
            "gives a contiguous NHWC tensor (the same data order), not a channels_last one",
        },
    ),
    LayerCase(
        id="Permute/negative-dims",
        build=_stable("Permute", [0, -1, 1]),
        inputs=lambda: (randn(2, 3, 4, seed=19),),
        output_shape=(2, 4, 3),
    ),
    LayerCase(
        id="FrozenBatchNorm2d/c8",
        build=_stable("FrozenBatchNorm2d", 8),
        inputs=lambda: (randn(2, 8, 4, 5, seed=20),),
        output_shape=(2, 8, 4, 5),
        reference=True,
        rejects={
            "num_features=0": _stable("FrozenBatchNorm2d", 0),
            "eps=-1.0": _stable("FrozenBatchNorm2d", 8, eps=-1.0),
        },
    ),
    LayerCase(
        id="FrozenBatchNorm2d/eps0",
        build=_stable("FrozenBatchNorm2d", 3, 0.0),
        inputs=lambda: (randn(2, 3, 3, 3, seed=21),),
        output_shape=(2, 3, 3, 3),
    ),
    LayerCase(
        id="FrozenBatchNorm1d/c6",
        build=_prototype("FrozenBatchNorm1d", 6),
        inputs=lambda: (randn(2, 6, 7, seed=22),),
        output_shape=(2, 6, 7),
        reference=True,
    ),
    LayerCase(
        id="FrozenBatchNorm3d/c4",
        build=_prototype("FrozenBatchNorm3d", 4),
        inputs=lambda: (randn(2, 4, 3, 4, 4, seed=23),),
        output_shape=(2, 4, 3, 4, 4),
        reference=True,
    ),
    LayerCase(
        id="StochasticDepth/row",
        build=_stable("StochasticDepth", 0.5, "row"),
        inputs=lambda: (randn(4, 3, 5, 5, seed=24),),
        output_shape=(4, 3, 5, 5),
        stochastic=True,
        reference=True,
        rejects={"p=1.5": _stable("StochasticDepth", 1.5, "row"), 'mode="col"': _stable("StochasticDepth", 0.5, "col")},
    ),
    LayerCase(
        id="StochasticDepth/batch",
        build=_stable("StochasticDepth", 0.2, "batch"),
        inputs=lambda: (randn(3, 6, seed=25),),
        output_shape=(3, 6),
        stochastic=True,
    ),
]
LOSS_CASES: list[LossCase] = []
