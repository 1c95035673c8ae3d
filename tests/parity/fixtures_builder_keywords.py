"""Records the keyword arguments every torchvision 0.29 classification and video builder accepts, for
``test_builder_keywords.py`` (run ``record`` in the reference environment; fixture ``builder_keywords.json``).

A keyword counts when the builder accepts it with its default value (``builder(name=default)`` built on the
meta device does not raise ``TypeError``): the model class's own arguments that the builder leaves free,
plus the ones the builder itself consumes (``mobilenet_v3_*``'s ``reduced_tail``/``dilated``, ``vit_*``'s ``image_size``); those it
sets and accepts only with its own value (``ValueError`` otherwise) are listed as ``fixed``. ``weights``
and ``progress`` (every builder's first two) are recorded apart. Also records the state_dict keys and
shapes of a small ViT with a convolutional stem, its seeded weights, input and output.

This module imports only torch at module level.
"""

from __future__ import annotations

import inspect
import json
import warnings
from pathlib import Path
from typing import Any

import torch

__all__ = ["BUILDER_CONSUMED", "CONV_STEM_VIT", "record"]

# Keywords a builder consumes itself (not arguments of the model class).
BUILDER_CONSUMED: dict[str, list[str]] = {
    "mobilenet_v3_large": ["reduced_tail", "dilated"],
    "mobilenet_v3_small": ["reduced_tail", "dilated"],
    **{f"vit_{size}": ["image_size"] for size in ("b_16", "b_32", "l_16", "l_32", "h_14")},
}

# A small VisionTransformer with a 3-layer convolutional stem (strides 2*2*2 = patch 8).
CONV_STEM_VIT: dict[str, Any] = {
    "image_size": 32,
    "patch_size": 8,
    "num_layers": 1,
    "num_heads": 2,
    "hidden_dim": 16,
    "mlp_dim": 32,
    "num_classes": 5,
    "stem": [(8, 3, 2), (8, 3, 2), (12, 3, 2)],
}


def _describe(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(item, (bool, int, float, str)) for item in value):
        return list(value)
    return f"<{getattr(value, '__qualname__', type(value).__qualname__)}>"


def _build(builder: Any, **kwargs: Any) -> torch.nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.device("meta"):
                return builder(**kwargs)
        except NotImplementedError:  # RegNet computes its widths with tensors: build it for real
            return builder(**kwargs)


def builder_keywords(name: str, builder: Any) -> dict[str, Any]:
    model_class = type(_build(builder))
    accepted: dict[str, Any] = {}
    fixed: dict[str, bool] = {}
    for parameter in list(inspect.signature(model_class.__init__).parameters.values())[1:]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD) or parameter.default is parameter.empty:
            continue
        try:
            _build(builder, **{parameter.name: parameter.default})
        except TypeError:
            continue  # the builder sets it and takes no other value (``block``, ``layers``, ...)
        except ValueError:
            # The builder sets it and accepts only its own value (``resnext101_32x8d(groups=32)``).
            fixed[parameter.name] = True
            continue
        accepted[parameter.name] = _describe(parameter.default)
    for keyword in BUILDER_CONSUMED.get(name, []):
        default = {"image_size": 224}.get(keyword, False)
        _build(builder, **{keyword: default})
        accepted[keyword] = default
    return {"class": model_class.__name__, "keywords": accepted, "fixed": sorted(fixed)}


def record(out_dir: Path) -> None:
    import torchvision
    from torchvision import models
    from torchvision.models.vision_transformer import ConvStemConfig, VisionTransformer

    table: dict[str, Any] = {}
    for module in (models, models.video):
        for name in models.list_models(module=module):
            builder = models.get_model_builder(name)
            if name.startswith("regnet_"):
                # Every RegNet builder passes the same free keywords; probing the big ones for real is slow.
                smallest = f"{name[:9]}400mf"
                if smallest not in table:
                    table[smallest] = builder_keywords(smallest, models.get_model_builder(smallest))
                table[name] = table[smallest]
                continue
            table[name] = builder_keywords(name, builder)
            signature = inspect.signature(builder).parameters
            assert "weights" in signature and "progress" in signature, name
    payload = {"torchvision": torchvision.__version__, "builders": table}
    (out_dir / "builder_keywords.json").write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")

    config = CONV_STEM_VIT
    torch.manual_seed(0)
    model = VisionTransformer(
        config["image_size"],
        config["patch_size"],
        config["num_layers"],
        config["num_heads"],
        config["hidden_dim"],
        config["mlp_dim"],
        num_classes=config["num_classes"],
        conv_stem_configs=[ConvStemConfig(*row) for row in config["stem"]],
    ).eval()
    for parameter in model.parameters():  # non-zero head and visible stem statistics
        parameter.data.normal_(0, 0.2)
    for buffer_name, buffer in model.named_buffers():
        if buffer_name.endswith("running_var"):
            buffer.data.uniform_(0.5, 1.5)
        elif buffer_name.endswith("running_mean"):
            buffer.data.normal_(0, 0.1)
    x = torch.randn(2, 3, config["image_size"], config["image_size"], generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = model(x)
    torch.save({"state_dict": model.state_dict(), "input": x, "output": out}, out_dir / "builder_vit_conv_stem.pt")


if __name__ == "__main__":
    record(Path(__file__).resolve().parent / "fixtures")
