"""Records torchvision 0.29 Vision Transformer and ConvNeXt fixtures (whole models and key lists).

Run by ``make parity-fixtures`` (``record``) in the reference environment. Two kinds of fixture, all
named ``transformers_*.pt``:

* ``transformers_small_*``: the smallest member of each family, built from torchvision's model class
  with a tiny configuration (:data:`SMALL_MODELS`), every parameter re-drawn from a seeded generator
  (torchvision zero-initialises the classifier and ConvNeXt's layer scale is ``1e-6``, which would
  hide the blocks): state_dict, input and eval output.
* ``transformers_keys_*``: the ``(key, shape, dtype)`` list of each named builder, built on the meta
  device (no memory, no weights).

This module imports only torch at module level; the test imports :data:`SMALL_MODELS` and
:data:`NAMED_BUILDERS` from the torch-only environment.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

__all__ = ["NAMED_BUILDERS", "SMALL_MODELS", "record"]

NAMED_BUILDERS = (
    "vit_b_16",
    "vit_b_32",
    "vit_l_16",
    "vit_l_32",
    "vit_h_14",
    "convnext_tiny",
    "convnext_small",
    "convnext_base",
    "convnext_large",
)

# name -> (family, configuration shared by torchvision's class and the tvexp example's class)
SMALL_MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "vit": (
        "vit",
        {
            "image_size": 32,
            "patch_size": 16,
            "num_layers": 2,
            "num_heads": 2,
            "hidden_dim": 32,
            "mlp_dim": 64,
            "num_classes": 10,
        },
    ),
    "convnext": (
        "convnext",
        {"block_setting": [(8, 16, 2), (16, None, 1)], "num_classes": 10},
    ),
}


def _torchvision_small(family: str, config: dict[str, Any]) -> torch.nn.Module:
    from torchvision.models import convnext, vision_transformer

    if family == "vit":
        return vision_transformer.VisionTransformer(**config)
    setting = [convnext.CNBlockConfig(*stage) for stage in config["block_setting"]]
    return convnext.ConvNeXt(setting, num_classes=config["num_classes"])


def _redraw(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Every parameter from a seeded normal: matrices with std 1/sqrt(fan_in), vectors around 1 or 0."""
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            if name.endswith("layer_scale"):
                parameter.copy_(0.5 + 0.1 * noise)
            elif parameter.dim() >= 2 and not name.endswith(("pos_embedding", "class_token")):
                parameter.copy_(noise / math.sqrt(math.prod(parameter.shape[1:])))
            elif name.endswith("weight") and parameter.dim() == 1:
                parameter.copy_(1.0 + 0.1 * noise)
            else:
                parameter.copy_(0.1 * noise)


def record(out_dir: Path) -> None:
    import torchvision.models as models

    generator = torch.Generator().manual_seed(12)
    for name, (family, config) in SMALL_MODELS.items():
        torch.manual_seed(12)
        model = _torchvision_small(family, config).eval()
        _redraw(model, generator)
        x = torch.randn(2, 3, 32, 32, generator=generator)
        with torch.no_grad():
            y = model(x)
        torch.save(
            {"family": family, "config": config, "state_dict": model.state_dict(), "input": x, "output": y},
            out_dir / f"transformers_small_{name}.pt",
        )
    for name in NAMED_BUILDERS:
        with torch.device("meta"):
            model = getattr(models, name)(weights=None)
        keys = [(key, tuple(value.shape), str(value.dtype)) for key, value in model.state_dict().items()]
        torch.save({"builder": name, "keys": keys}, out_dir / f"transformers_keys_{name}.pt")
