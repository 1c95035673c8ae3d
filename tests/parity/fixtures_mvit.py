"""Records torchvision 0.29 MViT fixtures: small whole models, single attention layers and blocks, key lists.

Run by ``make parity-fixtures`` (``record``) in the reference environment. All files are named ``mvit_*.pt``:

* ``mvit_small_*``: a small MViT v1 and v2 built from torchvision's ``MViT`` class (:data:`SMALL_MODELS`,
  a ``(2, 3, 4, 32, 32)`` clip), every parameter re-drawn from a seeded generator (torchvision's truncated
  normal std 0.02 would make the blocks nearly linear): state_dict, input and eval output.
* ``mvit_layer_*``: torchvision's ``MultiscaleAttention`` and ``MultiscaleBlock`` in the v1 and v2
  configurations (:data:`LAYERS`), re-drawn the same way, with input and eval output.
* ``mvit_keys_*``: the ``(key, shape, dtype)`` list of each named builder, built on the meta device.

This module imports only torch at module level; the test imports :data:`SMALL_MODELS`, :data:`LAYERS` and
:data:`NAMED_BUILDERS` from the torch-only environment.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

__all__ = ["LAYERS", "NAMED_BUILDERS", "SMALL_MODELS", "record"]

NAMED_BUILDERS = ("mvit_v1_b", "mvit_v2_s")

_V1 = {"residual_pool": False, "residual_with_cls_embed": False, "rel_pos_embed": False, "proj_after_attn": False}
_V2 = {"residual_pool": True, "residual_with_cls_embed": False, "rel_pos_embed": True, "proj_after_attn": True}


def _block(heads: int, width_in: int, width_out: int, kq: list[int], sq: list[int], skv: list[int]) -> dict[str, Any]:
    return {
        "num_heads": heads,
        "input_channels": width_in,
        "output_channels": width_out,
        "kernel_q": kq,
        "kernel_kv": [3, 3, 3],
        "stride_q": sq,
        "stride_kv": skv,
    }


# name -> keyword arguments of torchvision's MViT (block_setting as MSBlockConfig fields) and of the example's.
SMALL_MODELS: dict[str, dict[str, Any]] = {
    "v1": {
        "spatial_size": (32, 32),
        "temporal_size": 4,
        "block_setting": [
            _block(1, 8, 16, [], [], [1, 4, 4]),
            _block(2, 16, 16, [3, 3, 3], [1, 2, 2], [1, 2, 2]),
            _block(2, 16, 32, [], [], [1, 1, 1]),
        ],
        "num_classes": 10,
        **_V1,
    },
    "v2": {
        "spatial_size": (32, 32),
        "temporal_size": 4,
        "block_setting": [
            _block(1, 8, 8, [3, 3, 3], [1, 1, 1], [1, 4, 4]),
            _block(2, 8, 16, [3, 3, 3], [1, 2, 2], [1, 2, 2]),
            _block(2, 16, 32, [3, 3, 3], [1, 1, 1], [1, 1, 1]),
        ],
        "num_classes": 10,
        **_V2,
    },
}

# name -> (torchvision class, block config, flags, token grid); inputs are (2, 1 + T * H * W, input_channels).
LAYERS: dict[str, tuple[str, dict[str, Any], dict[str, bool], tuple[int, int, int]]] = {
    "attention_v1": ("MultiscaleAttention", _block(2, 16, 16, [3, 3, 3], [1, 2, 2], [1, 2, 2]), _V1, (2, 4, 4)),
    "attention_v2": ("MultiscaleAttention", _block(2, 16, 32, [3, 3, 3], [1, 2, 2], [1, 2, 2]), _V2, (2, 4, 4)),
    "block_v1": ("MultiscaleBlock", _block(2, 16, 32, [3, 3, 3], [1, 2, 2], [1, 2, 2]), _V1, (2, 4, 4)),
    "block_v2": ("MultiscaleBlock", _block(2, 16, 32, [3, 3, 3], [1, 2, 2], [1, 2, 2]), _V2, (2, 4, 4)),
}


def _redraw(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Every parameter from a seeded normal: matrices with std 1/sqrt(fan_in), norm weights around 1."""
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            if name.endswith(("_pos", "class_token", "rel_pos_h", "rel_pos_w", "rel_pos_t")):
                parameter.copy_(0.3 * noise)
            elif parameter.dim() >= 2:
                parameter.copy_(noise / math.sqrt(math.prod(parameter.shape[1:])))
            elif name.endswith("weight"):
                parameter.copy_(1.0 + 0.1 * noise)
            else:
                parameter.copy_(0.1 * noise)


def _torchvision_layer(kind: str, block: dict[str, Any], flags: dict[str, bool], grid: tuple[int, int, int]) -> Any:
    from functools import partial

    from torchvision.models.video import mvit

    norm = partial(torch.nn.LayerNorm, eps=1e-6)
    if kind == "MultiscaleAttention":
        width = block["output_channels"] if flags["proj_after_attn"] else block["input_channels"]
        return mvit.MultiscaleAttention(
            list(grid),
            block["input_channels"],
            width,
            block["num_heads"],
            block["kernel_q"],
            block["kernel_kv"],
            block["stride_q"],
            block["stride_kv"],
            flags["residual_pool"],
            flags["residual_with_cls_embed"],
            flags["rel_pos_embed"],
            norm_layer=norm,
        )
    return mvit.MultiscaleBlock(list(grid), mvit.MSBlockConfig(**block), **flags, norm_layer=norm)


def record(out_dir: Path) -> None:
    from torchvision.models.video import mvit

    generator = torch.Generator().manual_seed(21)
    for name, config in SMALL_MODELS.items():
        torch.manual_seed(21)
        setting = [mvit.MSBlockConfig(**block) for block in config["block_setting"]]
        model = mvit.MViT(**{**config, "block_setting": setting}).eval()
        _redraw(model, generator)
        x = torch.randn(2, 3, config["temporal_size"], *config["spatial_size"], generator=generator)
        with torch.no_grad():
            y = model(x)
        torch.save(
            {"config": config, "state_dict": model.state_dict(), "input": x, "output": y},
            out_dir / f"mvit_small_{name}.pt",
        )
    for name, (kind, block, flags, grid) in LAYERS.items():
        torch.manual_seed(22)
        layer = _torchvision_layer(kind, block, flags, grid).eval()
        _redraw(layer, generator)
        x = torch.randn(2, 1 + math.prod(grid), block["input_channels"], generator=generator)
        with torch.no_grad():
            y, thw = layer(x, grid)
        torch.save(
            {"state_dict": layer.state_dict(), "input": x, "output": y, "output_size": tuple(thw)},
            out_dir / f"mvit_layer_{name}.pt",
        )
    for name in NAMED_BUILDERS:
        with torch.device("meta"):
            model = getattr(mvit, name)(weights=None)
        keys = [(key, tuple(value.shape), str(value.dtype)) for key, value in model.state_dict().items()]
        torch.save({"builder": name, "keys": keys}, out_dir / f"mvit_keys_{name}.pt")
