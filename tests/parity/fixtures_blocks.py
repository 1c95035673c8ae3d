"""Records torchvision 0.29 residual blocks, ConvNeXt's LayerNorm2d and whole classification models.

Run by ``make parity-fixtures`` (``record``) in the reference environment. Three kinds of fixture,
all named ``blocks_*.pt``:

* ``blocks_block_*``: one random-initialised block with small channel counts: config, state_dict,
  input, eval output.
* ``blocks_small_*``: a small-width whole model (10 classes): state_dict stored in float16 (the
  reference output is computed from the float16-rounded weights, so nothing is lost), input, output.
* ``blocks_model_*``: a full-size model whose weights are *not stored*: every entry of its
  state_dict is regenerated from its key by :func:`deterministic_state_dict`, which the test calls
  too. The fixture holds the key/shape list, the input and the eval output. torch's CPU generator
  gives the same numbers in every release we use, and a mismatch would show as a parity failure.

This module imports only torch at module level, so the test can import
:func:`deterministic_state_dict` from the torch-only environment.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path
from typing import Any

import torch

__all__ = ["deterministic_state_dict", "record", "MODEL_FIXTURES", "SMALL_FIXTURES"]

# name -> (torchvision builder name, keyword arguments); the test maps the same names to our builders.
MODEL_FIXTURES: dict[str, tuple[str, dict[str, Any]]] = {
    "resnet18": ("resnet18", {}),
    "resnet50": ("resnet50", {}),
    "resnext50_32x4d": ("resnext50_32x4d", {}),
    "mobilenet_v2": ("mobilenet_v2", {}),
    "mobilenet_v3_small": ("mobilenet_v3_small", {}),
    "mobilenet_v3_large": ("mobilenet_v3_large", {}),
    "mobilenet_v3_large_dilated": ("mobilenet_v3_large", {"dilated": True, "reduced_tail": True}),
    "efficientnet_b0": ("efficientnet_b0", {}),
}

SMALL_FIXTURES: dict[str, tuple[str, dict[str, Any]]] = {
    "mobilenet_v2_w025": ("mobilenet_v2", {"width_mult": 0.25, "num_classes": 10}),
    "mobilenet_v3_small_w050": ("mobilenet_v3_small", {"width_mult": 0.5, "num_classes": 10}),
    "efficientnet_w025_d050": ("efficientnet", {"width_mult": 0.25, "depth_mult": 0.5, "num_classes": 10}),
}


def deterministic_state_dict(shapes: dict[str, tuple[torch.Size, torch.dtype]]) -> dict[str, torch.Tensor]:
    """Weights generated from each key alone, scaled so that a deep network's activations stay finite.

    Convolution and linear weights get std ``1/sqrt(fan_in)``; norm weights ``1 + 0.1 N(0,1)``;
    biases and running means ``0.1 N(0,1)``; running variances ``U(0.5, 1.5)``; integer buffers 0.
    """
    state: dict[str, torch.Tensor] = {}
    for key, (shape, dtype) in shapes.items():
        generator = torch.Generator().manual_seed(zlib.crc32(key.encode()))
        if not dtype.is_floating_point:
            state[key] = torch.zeros(shape, dtype=dtype)
        elif key.endswith("running_var"):
            state[key] = 0.5 + torch.rand(shape, generator=generator)
        elif key.endswith(("running_mean", "bias")):
            state[key] = 0.1 * torch.randn(shape, generator=generator)
        elif len(shape) == 1:
            state[key] = 1.0 + 0.1 * torch.randn(shape, generator=generator)
        else:
            fan_in = math.prod(shape[1:])
            state[key] = torch.randn(shape, generator=generator) / math.sqrt(fan_in)
    return state


def shapes_of(model: torch.nn.Module) -> dict[str, tuple[torch.Size, torch.dtype]]:
    return {key: (value.shape, value.dtype) for key, value in model.state_dict().items()}


def _randomize_norms(module: torch.nn.Module, generator: torch.Generator) -> None:
    """Gives BatchNorm layers non-trivial affine parameters and running statistics."""
    for child in module.modules():
        if isinstance(child, torch.nn.BatchNorm2d):
            with torch.no_grad():
                child.weight.copy_(1 + 0.2 * torch.randn(child.weight.shape, generator=generator))
                child.bias.copy_(0.2 * torch.randn(child.bias.shape, generator=generator))
                child.running_mean.copy_(0.2 * torch.randn(child.running_mean.shape, generator=generator))
                child.running_var.copy_(0.5 + torch.rand(child.running_var.shape, generator=generator))


def _block_configs() -> dict[str, tuple[dict[str, Any], Any, tuple[int, ...]]]:
    """name -> (config recorded for the test, torchvision builder, input shape)."""
    from functools import partial

    from torch import nn
    from torchvision.models import convnext, efficientnet, mobilenetv2, mobilenetv3, resnet

    def downsample(cin: int, cout: int, stride: int) -> nn.Module:
        return nn.Sequential(resnet.conv1x1(cin, cout, stride), nn.BatchNorm2d(cout))

    def v3(cin: int, kernel: int, expanded: int, cout: int, se: bool, act: str, stride: int, dilation: int) -> Any:
        cnf = mobilenetv3.InvertedResidualConfig(cin, kernel, expanded, cout, se, act, stride, dilation, 1.0)
        return lambda: mobilenetv3.InvertedResidual(cnf, partial(nn.BatchNorm2d, eps=0.001, momentum=0.01))

    def mb(kind: str, expand: float, kernel: int, stride: int, cin: int, cout: int, sd: float) -> Any:
        if kind == "mbconv":
            cnf = efficientnet.MBConvConfig(expand, kernel, stride, cin, cout, 1)
            return lambda: efficientnet.MBConv(cnf, sd, nn.BatchNorm2d)
        cnf = efficientnet.FusedMBConvConfig(expand, kernel, stride, cin, cout, 1)
        return lambda: efficientnet.FusedMBConv(cnf, sd, nn.BatchNorm2d)

    configs: dict[str, tuple[dict[str, Any], Any, tuple[int, ...]]] = {
        "basic_identity": (
            {"kind": "basic", "in": 8, "planes": 8, "stride": 1},
            lambda: resnet.BasicBlock(8, 8),
            (2, 8, 9, 9),
        ),
        "basic_downsample": (
            {"kind": "basic", "in": 8, "planes": 16, "stride": 2},
            lambda: resnet.BasicBlock(8, 16, 2, downsample(8, 16, 2)),
            (2, 8, 9, 9),
        ),
        "bottleneck_identity": (
            {"kind": "bottleneck", "in": 16, "planes": 4, "stride": 1},
            lambda: resnet.Bottleneck(16, 4),
            (2, 16, 9, 9),
        ),
        "bottleneck_grouped_s2": (
            {"kind": "bottleneck", "in": 16, "planes": 8, "stride": 2, "groups": 4, "base_width": 32},
            lambda: resnet.Bottleneck(16, 8, 2, downsample(16, 32, 2), groups=4, base_width=32),
            (2, 16, 9, 9),
        ),
        "bottleneck_dilated": (
            {"kind": "bottleneck", "in": 32, "planes": 8, "stride": 1, "dilation": 2},
            lambda: resnet.Bottleneck(32, 8, dilation=2),
            (2, 32, 9, 9),
        ),
        "v2_residual": (
            {"kind": "v2", "in": 8, "out": 8, "stride": 1, "expand_ratio": 6},
            lambda: mobilenetv2.InvertedResidual(8, 8, 1, 6),
            (2, 8, 9, 9),
        ),
        "v2_no_expand_s2": (
            {"kind": "v2", "in": 8, "out": 16, "stride": 2, "expand_ratio": 1},
            lambda: mobilenetv2.InvertedResidual(8, 16, 2, 1),
            (2, 8, 9, 9),
        ),
        "v3_se_hs": (
            {
                "kind": "v3",
                "in": 16,
                "kernel": 5,
                "expanded": 72,
                "out": 16,
                "se": True,
                "act": "HS",
                "stride": 1,
                "dilation": 1,
            },
            v3(16, 5, 72, 16, True, "HS", 1, 1),
            (2, 16, 9, 9),
        ),
        "v3_no_expand_se_s2": (
            {
                "kind": "v3",
                "in": 16,
                "kernel": 3,
                "expanded": 16,
                "out": 16,
                "se": True,
                "act": "RE",
                "stride": 2,
                "dilation": 1,
            },
            v3(16, 3, 16, 16, True, "RE", 2, 1),
            (2, 16, 9, 9),
        ),
        "v3_relu_s2": (
            {
                "kind": "v3",
                "in": 16,
                "kernel": 3,
                "expanded": 64,
                "out": 24,
                "se": False,
                "act": "RE",
                "stride": 2,
                "dilation": 1,
            },
            v3(16, 3, 64, 24, False, "RE", 2, 1),
            (2, 16, 9, 9),
        ),
        "v3_dilated": (
            {
                "kind": "v3",
                "in": 24,
                "kernel": 3,
                "expanded": 48,
                "out": 24,
                "se": True,
                "act": "HS",
                "stride": 1,
                "dilation": 2,
            },
            v3(24, 3, 48, 24, True, "HS", 1, 2),
            (2, 24, 9, 9),
        ),
        "mbconv_residual": (
            {"kind": "mbconv", "expand_ratio": 6, "kernel": 3, "stride": 1, "in": 16, "out": 16},
            mb("mbconv", 6, 3, 1, 16, 16, 0.1),
            (2, 16, 9, 9),
        ),
        "mbconv_k5_s2": (
            {"kind": "mbconv", "expand_ratio": 6, "kernel": 5, "stride": 2, "in": 16, "out": 24},
            mb("mbconv", 6, 5, 2, 16, 24, 0.1),
            (2, 16, 9, 9),
        ),
        "mbconv_no_expand": (
            {"kind": "mbconv", "expand_ratio": 1, "kernel": 3, "stride": 1, "in": 16, "out": 8},
            mb("mbconv", 1, 3, 1, 16, 8, 0.0),
            (2, 16, 9, 9),
        ),
        "fused_residual": (
            {"kind": "fused", "expand_ratio": 4, "kernel": 3, "stride": 1, "in": 16, "out": 16},
            mb("fused", 4, 3, 1, 16, 16, 0.1),
            (2, 16, 9, 9),
        ),
        "fused_no_expand_s2": (
            {"kind": "fused", "expand_ratio": 1, "kernel": 3, "stride": 2, "in": 16, "out": 24},
            mb("fused", 1, 3, 2, 16, 24, 0.1),
            (2, 16, 9, 9),
        ),
        "layer_norm_2d": (
            {"kind": "layer_norm_2d", "channels": 16, "eps": 1e-6},
            lambda: convnext.LayerNorm2d(16, eps=1e-6),
            (2, 16, 5, 7),
        ),
    }
    return configs


def _small_model(name: str, kwargs: dict[str, Any]) -> torch.nn.Module:
    import torchvision.models as models
    from torchvision.models import efficientnet

    if name == "efficientnet":
        kwargs = dict(kwargs)
        setting, last_channel = efficientnet._efficientnet_conf(
            "efficientnet_b0", width_mult=kwargs.pop("width_mult"), depth_mult=kwargs.pop("depth_mult")
        )
        return efficientnet.EfficientNet(setting, 0.2, last_channel=last_channel, **kwargs)
    return getattr(models, name)(**kwargs)


def record(out_dir: Path) -> None:
    import torchvision.models as models

    generator = torch.Generator().manual_seed(0)
    for name, (config, build, input_shape) in _block_configs().items():
        torch.manual_seed(zlib.crc32(name.encode()))
        block = build().eval()
        _randomize_norms(block, generator)
        if config["kind"] == "layer_norm_2d":
            with torch.no_grad():
                block.weight.normal_(1.0, 0.2, generator=generator)
                block.bias.normal_(0.0, 0.2, generator=generator)
        x = torch.randn(input_shape, generator=generator)
        with torch.no_grad():
            y = block(x)
        torch.save(
            {"config": config, "state_dict": block.state_dict(), "input": x, "output": y},
            out_dir / f"blocks_block_{name}.pt",
        )

    for name, (builder, kwargs) in SMALL_FIXTURES.items():
        torch.manual_seed(zlib.crc32(name.encode()))
        model = _small_model(builder, kwargs).eval()
        _randomize_norms(model, generator)
        half = {key: value.half() if value.is_floating_point() else value for key, value in model.state_dict().items()}
        model.load_state_dict(
            {key: value.float() if value.is_floating_point() else value for key, value in half.items()}
        )
        x = torch.randn(1, 3, 32, 32, generator=generator)
        with torch.no_grad():
            y = model(x)
        torch.save(
            {"builder": builder, "kwargs": kwargs, "state_dict": half, "input": x, "output": y},
            out_dir / f"blocks_small_{name}.pt",
        )

    for name, (builder, kwargs) in MODEL_FIXTURES.items():
        model = getattr(models, builder)(**kwargs).eval()
        shapes = shapes_of(model)
        model.load_state_dict(deterministic_state_dict(shapes))
        x = torch.randn(1, 3, 32, 32, generator=generator)
        with torch.no_grad():
            y = model(x)
        keys = [(key, tuple(shape), str(dtype)) for key, (shape, dtype) in shapes.items()]
        torch.save(
            {"builder": builder, "kwargs": kwargs, "keys": keys, "input": x, "output": y},
            out_dir / f"blocks_model_{name}.pt",
        )
