"""Records torchvision 0.29 classification families for ``test_parity_classification.py``.

Run (``record``) in the reference environment. Fixtures, all named ``cls_*.pt``:

* ``cls_keys.pt`` (zlib-compressed JSON): for every named builder of the families (RegNet, DenseNet, GoogLeNet, Inception v3,
  MNASNet, ShuffleNetV2, SqueezeNet, EfficientNet B4-B7 and V2, AlexNet, VGG, ResNeXt-101, Wide
  ResNet-101), built with default arguments on the meta device: the state_dict key/shape/dtype list
  and the ``eps``/``momentum`` of every norm (they do not show in the keys).
* ``cls_model_*.pt``: a full-size model (the smallest member of its family) whose weights are
  regenerated from its keys by ``fixtures_blocks.deterministic_state_dict`` (seeded by each key; the
  test calls the same function): the input and the eval output (GoogLeNet also the training-mode
  outputs with its auxiliary heads, dropout 0). No weights are stored.
* ``cls_small_*.pt``: a reduced configuration (RegNet from small design-space parameters, DenseNet with
  small growth rate and blocks) with its seeded random weights stored (float16-rounded, the reference
  output computed from the rounded weights), the input and the eval output.
* ``cls_features_*.pt``: the ``features`` part of VGG-11-BN and AlexNet (their classifiers alone hold
  120M/58M parameters), deterministic weights, input and output.

This module imports only torch at module level.
"""

from __future__ import annotations

import json
import warnings
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

__all__ = ["KEY_BUILDERS", "MODEL_FIXTURES", "SMALL_FIXTURES", "FEATURE_FIXTURES", "norm_settings", "record"]

KEY_BUILDERS: list[str] = [
    *(f"regnet_y_{size}" for size in ("400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf", "32gf", "128gf")),
    *(f"regnet_x_{size}" for size in ("400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf", "32gf")),
    "densenet121",
    "densenet161",
    "densenet169",
    "densenet201",
    "googlenet",
    "inception_v3",
    "mnasnet0_5",
    "mnasnet0_75",
    "mnasnet1_0",
    "mnasnet1_3",
    "shufflenet_v2_x0_5",
    "shufflenet_v2_x1_0",
    "shufflenet_v2_x1_5",
    "shufflenet_v2_x2_0",
    "squeezenet1_0",
    "squeezenet1_1",
    "efficientnet_b4",
    "efficientnet_b5",
    "efficientnet_b6",
    "efficientnet_b7",
    "efficientnet_v2_s",
    "efficientnet_v2_m",
    "efficientnet_v2_l",
    "alexnet",
    *(f"vgg{depth}{bn}" for depth in (11, 13, 16, 19) for bn in ("", "_bn")),
    "resnext101_32x8d",
    "resnext101_64x4d",
    "wide_resnet101_2",
]

# name -> (builder, keyword arguments, input shape, record training-mode outputs too)
MODEL_FIXTURES: dict[str, tuple[str, dict[str, Any], tuple[int, ...], bool]] = {
    "regnet_x_400mf": ("regnet_x_400mf", {}, (1, 3, 64, 64), False),
    "regnet_y_400mf": ("regnet_y_400mf", {}, (1, 3, 64, 64), False),
    "densenet121": ("densenet121", {}, (1, 3, 64, 64), False),
    "squeezenet1_1": ("squeezenet1_1", {}, (1, 3, 64, 64), False),
    "mnasnet0_5": ("mnasnet0_5", {}, (1, 3, 64, 64), False),
    "shufflenet_v2_x0_5": ("shufflenet_v2_x0_5", {}, (1, 3, 64, 64), False),
    "googlenet": ("googlenet", {"init_weights": True, "dropout": 0.0, "dropout_aux": 0.0}, (2, 3, 64, 64), True),
    "googlenet_transform_input": ("googlenet", {"init_weights": True, "transform_input": True}, (1, 3, 64, 64), False),
    "inception_v3": ("inception_v3", {"init_weights": True}, (1, 3, 75, 75), False),
    "efficientnet_v2_s": ("efficientnet_v2_s", {}, (1, 3, 64, 64), False),
}

# name -> (torchvision kind, keyword arguments, input shape); see _small_torchvision_model.
SMALL_FIXTURES: dict[str, tuple[str, dict[str, Any], tuple[int, ...]]] = {
    "regnet_y_reduced": (
        "regnet",
        {"depth": 5, "w_0": 16, "w_a": 12.0, "w_m": 2.0, "group_width": 8, "se_ratio": 0.25, "stem_width": 8},
        (2, 3, 32, 32),
    ),
    "regnet_x_reduced_bottleneck2": (
        "regnet",
        {
            "depth": 4,
            "w_0": 16,
            "w_a": 10.0,
            "w_m": 2.2,
            "group_width": 4,
            "bottleneck_multiplier": 2.0,
            "stem_width": 8,
        },
        (2, 3, 32, 32),
    ),
    "densenet_reduced": (
        "densenet",
        {"growth_rate": 8, "block_config": (2, 3, 2, 2), "num_init_features": 16, "bn_size": 2},
        (2, 3, 32, 32),
    ),
}

FEATURE_FIXTURES: dict[str, tuple[int, ...]] = {"vgg11_bn": (1, 3, 32, 32), "alexnet": (1, 3, 64, 64)}


def norm_settings(model: torch.nn.Module) -> dict[str, tuple[str, float, float | None]]:
    """``name -> (class name, eps, momentum)`` of every batch norm: what the keys do not show."""
    return {
        name: (type(module).__name__, float(module.eps), module.momentum)
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm)
    }


def _key_list(model: torch.nn.Module) -> list[tuple[str, tuple[int, ...], str]]:
    return [(key, tuple(value.shape), str(value.dtype)) for key, value in model.state_dict().items()]


def _randomize_norms(module: torch.nn.Module, generator: torch.Generator) -> None:
    for child in module.modules():
        if isinstance(child, torch.nn.BatchNorm2d):
            with torch.no_grad():
                child.weight.copy_(1 + 0.2 * torch.randn(child.weight.shape, generator=generator))
                child.bias.copy_(0.2 * torch.randn(child.bias.shape, generator=generator))
                child.running_mean.copy_(0.2 * torch.randn(child.running_mean.shape, generator=generator))
                child.running_var.copy_(0.5 + torch.rand(child.running_var.shape, generator=generator))


def _small_torchvision_model(kind: str, kwargs: dict[str, Any]) -> torch.nn.Module:
    from torchvision.models import densenet, regnet

    kwargs = dict(kwargs)
    if kind == "regnet":
        stem_width = kwargs.pop("stem_width")
        params = regnet.BlockParams.from_init_params(**kwargs)
        return regnet.RegNet(params, num_classes=10, stem_width=stem_width)
    if kind == "densenet":
        return densenet.DenseNet(num_classes=10, **kwargs)
    raise AssertionError(kind)


def record(out_dir: Path) -> None:
    import torchvision.models as models
    from fixtures_blocks import deterministic_state_dict, shapes_of
    from torchvision.models import vgg

    warnings.filterwarnings("ignore", category=FutureWarning)  # GoogLeNet/Inception's init_weights notice
    # RegNet's width rule calls .tolist() on tensors, which a meta-device context cannot do: run it on CPU.
    from torchvision.models import regnet

    block_params = regnet.BlockParams.from_init_params.__func__  # type: ignore[attr-defined]

    def on_cpu(cls: Any, *args: Any, **kwargs: Any) -> Any:
        with torch.device("cpu"):
            return block_params(cls, *args, **kwargs)

    regnet.BlockParams.from_init_params = classmethod(on_cpu)  # type: ignore[method-assign, assignment]
    keys = {}
    for name in KEY_BUILDERS:
        with torch.device("meta"):
            model = getattr(models, name)()
        keys[name] = {"keys": _key_list(model), "norms": norm_settings(model)}
    regnet.BlockParams.from_init_params = classmethod(block_params)  # type: ignore[method-assign, assignment]
    # The lists are long and repetitive: stored as zlib-compressed JSON (2.2 MB as a pickle, ~0.1 MB so).
    torch.save({"json_zlib": zlib.compress(json.dumps(keys).encode(), 9)}, out_dir / "cls_keys.pt")

    generator = torch.Generator().manual_seed(13)
    for name, (builder, kwargs, input_shape, train) in MODEL_FIXTURES.items():
        torch.manual_seed(zlib.crc32(name.encode()))
        model = getattr(models, builder)(**kwargs).eval()
        weights: Any = OrderedDict(deterministic_state_dict(shapes_of(model)))
        weights._metadata = model.state_dict()._metadata  # type: ignore[attr-defined]  # MNASNet checks its version
        model.load_state_dict(weights)
        x = torch.randn(input_shape, generator=generator)
        with torch.no_grad():
            output = model(x)
        fixture: dict[str, Any] = {"builder": builder, "kwargs": kwargs, "input": x, "output": output}
        if train:
            model.train()
            with torch.no_grad():
                fixture["train_outputs"] = tuple(model(x))
        torch.save(fixture, out_dir / f"cls_model_{name}.pt")

    for name, (kind, kwargs, input_shape) in SMALL_FIXTURES.items():
        torch.manual_seed(zlib.crc32(name.encode()))
        model = _small_torchvision_model(kind, kwargs).eval()
        _randomize_norms(model, generator)
        half = {key: value.half() if value.is_floating_point() else value for key, value in model.state_dict().items()}
        model.load_state_dict(
            {key: value.float() if value.is_floating_point() else value for key, value in half.items()}
        )
        x = torch.randn(input_shape, generator=generator)
        with torch.no_grad():
            output = model(x)
        torch.save(
            {"kind": kind, "kwargs": kwargs, "state_dict": half, "input": x, "output": output},
            out_dir / f"cls_small_{name}.pt",
        )

    for name, input_shape in FEATURE_FIXTURES.items():
        features = vgg.make_layers(vgg.cfgs["A"], batch_norm=True) if name == "vgg11_bn" else models.alexnet().features
        features.eval()
        features.load_state_dict(deterministic_state_dict(shapes_of(features)))
        x = torch.randn(input_shape, generator=generator)
        with torch.no_grad():
            output = features(x)
        torch.save({"input": x, "output": output}, out_dir / f"cls_features_{name}.pt")
