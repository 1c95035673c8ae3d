"""Records torchvision 0.29 feature-pyramid and segmentation fixtures (layers, whole models and key lists).

Run by ``make parity-fixtures`` (``record``) in the reference environment. Three kinds of fixture, all
named ``fpn_*.pt``:

* ``fpn_layer_*``: torchvision's ``FeaturePyramidNetwork`` (with ``LastLevelMaxPool`` and with
  ``LastLevelP6P7``), ``ASPP`` and ``LRASPPHead`` on small channel counts (:data:`LAYERS`), every
  parameter and buffer re-drawn from a seeded generator: state_dict, input and eval output.
* ``fpn_model_*``: whole models (:data:`MODELS`: ``lraspp_mobilenet_v3_large`` and
  ``deeplabv3_mobilenet_v3_large`` with the auxiliary head on a 32x32 image, ``resnet_fpn_backbone('resnet18')``
  on 32x32). Their weights would exceed the fixture budget, so they are not stored: :func:`fill` draws
  every entry of the state dict, in key order, from a seeded generator in both environments, and the
  fixture keeps per-key sums to prove that both drew the same weights, the input and the eval output.
* ``fpn_keys_*``: the ``(key, shape, dtype)`` list of each named builder (:data:`NAMED_BUILDERS`), built
  on the meta device.

This module imports only torch at module level; the test imports its tables and :func:`fill` from the
torch-only environment.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

__all__ = ["LAYERS", "MODELS", "NAMED_BUILDERS", "fill", "record"]

# name -> configuration shared by the torchvision layer and the tvexp layer (see _torchvision_layer, layer_input)
LAYERS: dict[str, dict[str, Any]] = {
    "fpn_p6p7_from_c5": {"kind": "fpn", "in_channels_list": [4, 8, 16], "out_channels": 8, "extra": ("p6p7", 16, 8)},
    "fpn_p6p7_from_p5": {"kind": "fpn", "in_channels_list": [6, 12], "out_channels": 8, "extra": ("p6p7", 8, 8)},
    "fpn_max_pool_batch_norm": {
        "kind": "fpn",
        "in_channels_list": [4, 8, 16],
        "out_channels": 8,
        "extra": ("pool",),
        "norm": True,
    },
    "aspp": {"kind": "aspp", "in_channels": 16, "atrous_rates": (1, 2, 3), "out_channels": 8},
    "lraspp_head": {"kind": "lraspp_head", "low_channels": 8, "high_channels": 16, "num_classes": 5, "inter": 12},
}

# name -> (builder, keyword arguments, input shape)
MODELS: dict[str, tuple[str, dict[str, Any], tuple[int, ...]]] = {
    "lraspp_mobilenet_v3_large": ("lraspp_mobilenet_v3_large", {}, (1, 3, 32, 32)),
    "deeplabv3_mobilenet_v3_large_aux": ("deeplabv3_mobilenet_v3_large", {"aux_loss": True}, (1, 3, 32, 32)),
    "resnet_fpn_backbone_resnet18": ("resnet_fpn_backbone", {"backbone_name": "resnet18"}, (1, 3, 32, 32)),
}

# name -> (builder, keyword arguments for both torchvision's and the example's builder)
NAMED_BUILDERS: dict[str, tuple[str, dict[str, Any]]] = {
    **{
        f"{builder}{'_aux' if aux else ''}": (builder, {"aux_loss": aux})
        for builder in (
            "fcn_resnet50",
            "fcn_resnet101",
            "deeplabv3_resnet50",
            "deeplabv3_resnet101",
            "deeplabv3_mobilenet_v3_large",
        )
        for aux in (False, True)
    },
    "lraspp_mobilenet_v3_large": ("lraspp_mobilenet_v3_large", {}),
    "lraspp_mobilenet_v3_large_7_classes": ("lraspp_mobilenet_v3_large", {"num_classes": 7}),
    **{
        f"resnet_fpn_backbone_{name}": ("resnet_fpn_backbone", {"backbone_name": name})
        for name in (
            "resnet18",
            "resnet34",
            "resnet50",
            "resnet101",
            "resnet152",
            "resnext50_32x4d",
            "resnext101_32x8d",
            "wide_resnet50_2",
            "wide_resnet101_2",
        )
    },
    "resnet_fpn_backbone_resnet50_layers_2_4_p6p7": (
        "resnet_fpn_backbone",
        {"backbone_name": "resnet50", "returned_layers": [2, 4], "extra_blocks": ("p6p7", 256, 256)},
    ),
}


def fill(model: torch.nn.Module, seed: int) -> dict[str, float]:
    """Draws every floating parameter and buffer, in state-dict order, from one seeded generator: weights with
    std 1/sqrt(fan_in), norm weights and running variances around 1, biases and means around 0. Returns the sum
    of each drawn entry (the same in any environment that draws the same numbers)."""
    generator = torch.Generator().manual_seed(seed)
    sums: dict[str, float] = {}
    with torch.no_grad():
        for key, value in model.state_dict(keep_vars=True).items():
            if not value.is_floating_point():
                continue
            noise = torch.randn(value.shape, generator=generator, dtype=torch.float32)
            if value.dim() >= 2:
                drawn = noise / math.sqrt(math.prod(value.shape[1:]))
            elif key.endswith(("running_var", "weight")):
                drawn = 1.0 + 0.2 * noise.abs() if key.endswith("running_var") else 1.0 + 0.1 * noise
            else:
                drawn = 0.1 * noise
            value.copy_(drawn)
            sums[key] = float(drawn.double().sum())
    return sums


def _torchvision_layer(config: dict[str, Any]) -> torch.nn.Module:
    from torchvision.models.segmentation.deeplabv3 import ASPP
    from torchvision.models.segmentation.lraspp import LRASPPHead
    from torchvision.ops.feature_pyramid_network import FeaturePyramidNetwork, LastLevelMaxPool, LastLevelP6P7

    if config["kind"] == "fpn":
        extra = config["extra"]
        blocks = LastLevelMaxPool() if extra[0] == "pool" else LastLevelP6P7(extra[1], extra[2])
        norm = torch.nn.BatchNorm2d if config.get("norm") else None
        return FeaturePyramidNetwork(config["in_channels_list"], config["out_channels"], blocks, norm)
    if config["kind"] == "aspp":
        return ASPP(config["in_channels"], config["atrous_rates"], config["out_channels"])
    return LRASPPHead(config["low_channels"], config["high_channels"], config["num_classes"], config["inter"])


def layer_input(config: dict[str, Any], generator: torch.Generator) -> Any:
    """The input of a :data:`LAYERS` entry: odd sizes, so that the top-down resizing is not a plain 2x."""
    if config["kind"] == "fpn":
        sizes = [(15, 17), (8, 9), (4, 5)][: len(config["in_channels_list"])]
        return OrderedDict(
            (f"c{i + 2}", torch.randn(2, c, h, w, generator=generator))
            for i, (c, (h, w)) in enumerate(zip(config["in_channels_list"], sizes))
        )
    if config["kind"] == "aspp":
        return torch.randn(2, config["in_channels"], 9, 11, generator=generator)
    return {
        "low": torch.randn(2, config["low_channels"], 9, 11, generator=generator),
        "high": torch.randn(2, config["high_channels"], 5, 6, generator=generator),
    }


def _torchvision_builder(builder: str, kwargs: dict[str, Any]) -> torch.nn.Module:
    import torchvision.models.segmentation as segmentation
    from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
    from torchvision.ops.feature_pyramid_network import LastLevelP6P7

    kwargs = dict(kwargs)
    if "extra_blocks" in kwargs:
        kwargs["extra_blocks"] = LastLevelP6P7(*kwargs["extra_blocks"][1:])
    if builder == "resnet_fpn_backbone":
        return resnet_fpn_backbone(weights=None, **kwargs)
    return getattr(segmentation, builder)(weights=None, weights_backbone=None, **kwargs)


def record(out_dir: Path) -> None:
    generator = torch.Generator().manual_seed(21)
    for name, config in LAYERS.items():
        torch.manual_seed(21)
        layer = _torchvision_layer(config).eval()
        fill(layer, seed=len(name))
        x = layer_input(config, generator)
        with torch.no_grad():
            y = layer(x)
        torch.save(
            {"config": config, "state_dict": layer.state_dict(), "input": x, "output": y},
            out_dir / f"fpn_layer_{name}.pt",
        )
    for name, (builder, kwargs, shape) in MODELS.items():
        torch.manual_seed(22)
        model = _torchvision_builder(builder, kwargs).eval()
        sums = fill(model, seed=22)
        x = torch.randn(shape, generator=generator)
        with torch.no_grad():
            y = model(x)
        torch.save({"sums": sums, "input": x, "output": y}, out_dir / f"fpn_model_{name}.pt")
    for name, (builder, kwargs) in NAMED_BUILDERS.items():
        with torch.device("meta"):
            model = _torchvision_builder(builder, kwargs)
        keys = [(key, tuple(value.shape), str(value.dtype)) for key, value in model.state_dict().items()]
        trainable = sorted(key for key, parameter in model.named_parameters() if parameter.requires_grad)
        torch.save({"keys": keys, "trainable": trainable}, out_dir / f"fpn_keys_{name}.pt")
