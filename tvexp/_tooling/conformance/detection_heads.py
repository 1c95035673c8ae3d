"""Conformance entries for the detection and segmentation blocks: the feature pyramid and its extra levels,
ASPP and the LR-ASPP head. Their inputs and outputs are dicts and lists of feature maps."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from torch import Tensor, nn

from tvexp._tooling.conformance.builders import TierBuilder, _prototype
from tvexp._tooling.conformance.table import LayerCase, LossCase, randn

__all__ = ["LAYER_CASES", "LOSS_CASES"]

_FPN_FX = (
    "torch.fx.symbolic_trace cannot iterate the dict of feature maps (a Proxy): torchvision's FeaturePyramidNetwork "
    "fails the same way; torch.jit.script, torch.export and torch.compile take the dict"
)


def _pyramid(*levels: tuple[int, int, int], seed: int) -> OrderedDict[str, Tensor]:
    """Feature maps ``(2, C, H, W)`` named ``"0"``, ``"1"``, ... (as torchvision's backbones name them)."""
    return OrderedDict((str(i), randn(2, c, h, w, seed=seed + i)) for i, (c, h, w) in enumerate(levels))


def _prototype_class(name: str) -> Any:
    """The public prototype class (looked up when a case is built, as :class:`TierBuilder` does)."""
    return TierBuilder("prototype", name).layer_class()


def _fpn_with_p6p7_from_c5() -> nn.Module:
    fpn: nn.Module = _prototype_class("FeaturePyramidNetwork")(
        [4, 8, 16], 8, extra_blocks=_prototype_class("LastLevelP6P7")(16, 8), norm_layer=nn.BatchNorm2d
    )
    return fpn


def _fpn_with_p6p7_from_p5() -> nn.Module:
    fpn: nn.Module = _prototype_class("FeaturePyramidNetwork")(
        [6, 12], 8, extra_blocks=_prototype_class("LastLevelP6P7")(8, 8)
    )
    return fpn


def _fpn_with_max_pool() -> nn.Module:
    fpn: nn.Module = _prototype_class("FeaturePyramidNetwork")(
        [4, 8], 6, extra_blocks=_prototype_class("LastLevelMaxPool")()
    )
    return fpn


def _extra_block_inputs(seed: int, *, coarsest_feature: bool) -> tuple[Any, ...]:
    """``(results, features, names)`` as an FPN passes them. Every input a case gives must receive a gradient,
    so the features hold only what the block reads: ``LastLevelP6P7`` from C5 reads the coarsest input map,
    ``LastLevelMaxPool`` none."""
    results = [randn(2, 8, 9, 9, seed=seed), randn(2, 8, 5, 5, seed=seed + 1)]
    features = [randn(2, 16, 5, 5, seed=seed + 2)] if coarsest_feature else []
    return results, features, ["0", "1"]


LAYER_CASES: list[LayerCase] = [
    LayerCase(
        id="FeaturePyramidNetwork/three-levels",
        build=_prototype("FeaturePyramidNetwork", [4, 8, 16], 8),
        inputs=lambda: (_pyramid((4, 16, 16), (8, 8, 8), (16, 4, 4), seed=180),),
        output_shape={"0": (2, 8, 16, 16), "1": (2, 8, 8, 8), "2": (2, 8, 4, 4)},
        reference=True,
        tags=frozenset({"inductor"}),
        expected_failures={"fx": _FPN_FX},
        rejects={
            "in_channels_list=[]": lambda: _prototype("FeaturePyramidNetwork", [], 8)(),
            "in_channels_list with a 0": lambda: _prototype("FeaturePyramidNetwork", [4, 0], 8)(),
            "extra_blocks not a module": lambda: _prototype("FeaturePyramidNetwork", [4], 8, "pool")(),
            "one feature map fewer": lambda: _prototype("FeaturePyramidNetwork", [4, 8], 8)()(
                OrderedDict(a=randn(1, 4, 8, 8))
            ),
            "wrong channels": lambda: _prototype("FeaturePyramidNetwork", [4, 8], 8)()(
                OrderedDict(a=randn(1, 4, 8, 8), b=randn(1, 4, 4, 4))
            ),
        },
    ),
    LayerCase(
        id="FeaturePyramidNetwork/retinanet-p6p7-from-c5-batch-norm",
        build=_fpn_with_p6p7_from_c5,
        layer="FeaturePyramidNetwork",
        inputs=lambda: (_pyramid((4, 15, 17), (8, 8, 9), (16, 4, 5), seed=183),),
        output_shape={
            "0": (2, 8, 15, 17),
            "1": (2, 8, 8, 9),
            "2": (2, 8, 4, 5),
            "p6": (2, 8, 2, 3),
            "p7": (2, 8, 1, 2),
        },
        expected_failures={"fx": _FPN_FX},
    ),
    LayerCase(
        id="FeaturePyramidNetwork/retinanet-p6p7-from-p5",
        build=_fpn_with_p6p7_from_p5,
        layer="FeaturePyramidNetwork",
        inputs=lambda: (_pyramid((6, 8, 8), (12, 4, 4), seed=186),),
        output_shape={"0": (2, 8, 8, 8), "1": (2, 8, 4, 4), "p6": (2, 8, 2, 2), "p7": (2, 8, 1, 1)},
        expected_failures={"fx": _FPN_FX},
    ),
    LayerCase(
        id="FeaturePyramidNetwork/max-pool-level",
        build=_fpn_with_max_pool,
        layer="FeaturePyramidNetwork",
        inputs=lambda: (_pyramid((4, 8, 8), (8, 5, 5), seed=188),),
        output_shape={"0": (2, 6, 8, 8), "1": (2, 6, 5, 5), "pool": (2, 6, 3, 3)},
        expected_failures={"fx": _FPN_FX},
    ),
    LayerCase(
        id="LastLevelMaxPool/default",
        build=_prototype("LastLevelMaxPool"),
        inputs=lambda: _extra_block_inputs(190, coarsest_feature=False),
        output_shape=([(2, 8, 9, 9), (2, 8, 5, 5), (2, 8, 3, 3)], ["0", "1", "pool"]),
        reference=True,
    ),
    LayerCase(
        id="LastLevelP6P7/from-c5",
        build=_prototype("LastLevelP6P7", 16, 8),
        inputs=lambda: _extra_block_inputs(194, coarsest_feature=True),
        output_shape=([(2, 8, 9, 9), (2, 8, 5, 5), (2, 8, 3, 3), (2, 8, 2, 2)], ["0", "1", "p6", "p7"]),
        reference=True,
        rejects={"in_channels=0": lambda: _prototype("LastLevelP6P7", 0, 8)()},
    ),
    LayerCase(
        id="ASPP/deeplabv3",
        build=_prototype("ASPP", 8, (1, 2, 3), 8),
        inputs=lambda: (randn(2, 8, 9, 9, seed=198),),
        output_shape=(2, 8, 9, 9),
        stochastic=True,
        reference=True,
        tags=frozenset({"inductor"}),
        rejects={
            "atrous_rates=12": lambda: _prototype("ASPP", 8, 12)(),
            "atrous_rates with a 0": lambda: _prototype("ASPP", 8, (0, 2))(),
            "wrong channels": lambda: _prototype("ASPP", 8, (1,))()(randn(2, 4, 5, 5)),
        },
    ),
    LayerCase(
        id="ASPP/no-rates-no-dropout-gelu",
        build=_prototype("ASPP", 6, (), 4, dropout=0.0, activation_layer=nn.GELU),
        inputs=lambda: (randn(3, 6, 5, 7, seed=199),),
        output_shape=(3, 4, 5, 7),
    ),
    LayerCase(
        id="LRASPPHead/mobilenet-v3",
        build=_prototype("LRASPPHead", 8, 16, 5, 12),
        inputs=lambda: ({"low": randn(2, 8, 9, 11, seed=200), "high": randn(2, 16, 5, 6, seed=201)},),
        output_shape=(2, 5, 9, 11),
        reference=True,
        tags=frozenset({"inductor"}),
        rejects={
            "num_classes=0": lambda: _prototype("LRASPPHead", 8, 16, 0, 12)(),
            "missing 'high'": lambda: _prototype("LRASPPHead", 8, 16, 5, 12)()({"low": randn(1, 8, 4, 4)}),
        },
    ),
]
LOSS_CASES: list[LossCase] = []
