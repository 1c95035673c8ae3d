"""Records torchvision 0.29 Swin, Swin V2 and video Swin fixtures (whole small models, layers, key lists).

Run by ``make parity-fixtures`` (``record``) in the reference environment. Three kinds of fixture, all
named ``swin_*.pt``:

* ``swin_small_*``: one small member of each family (v1, v2, video), built from torchvision's
  ``SwinTransformer`` / ``SwinTransformer3d`` with a tiny configuration (:data:`SMALL_MODELS`) whose
  feature maps are not multiples of the window (padding) and whose last stage is no larger than the
  window (the shift turned off, video's window cut), every parameter re-drawn from a seeded generator:
  state_dict, input and eval output.
* ``swin_layer_*``: torchvision's attention, block, patch-merging and patch-embedding layers
  (:data:`LAYERS`) with re-drawn parameters, on inputs that cover padding, shift and the shrunken window.
* ``swin_keys_*``: the ``(key, shape, dtype)`` list of each named builder, built on the meta device.

This module imports only torch at module level; the test imports :data:`SMALL_MODELS`, :data:`LAYERS`
and :data:`NAMED_BUILDERS` from the torch-only environment.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

__all__ = ["LAYERS", "NAMED_BUILDERS", "SMALL_MODELS", "record"]

NAMED_BUILDERS = (
    "swin_t",
    "swin_s",
    "swin_b",
    "swin_v2_t",
    "swin_v2_s",
    "swin_v2_b",
    "swin3d_t",
    "swin3d_s",
    "swin3d_b",
)

# name -> (configuration shared by torchvision's class and the tvexp example's class, input shape)
SMALL_MODELS: dict[str, tuple[dict[str, Any], tuple[int, ...]]] = {
    "v1": (
        {
            "patch_size": [4, 4],
            "embed_dim": 16,
            "depths": [2, 2],
            "num_heads": [2, 4],
            "window_size": [4, 4],
            "num_classes": 10,
            "version": 1,
        },
        (2, 3, 40, 36),  # 10 x 9 tokens, then 5 x 5
    ),
    "v2": (
        {
            "patch_size": [4, 4],
            "embed_dim": 16,
            "depths": [2, 2],
            "num_heads": [2, 4],
            "window_size": [4, 4],
            "num_classes": 10,
            "version": 2,
        },
        (2, 3, 40, 36),
    ),
    "video": (
        {
            "patch_size": [2, 4, 4],
            "embed_dim": 16,
            "depths": [2, 2],
            "num_heads": [2, 4],
            "window_size": [2, 4, 4],
            "num_classes": 10,
        },
        (2, 3, 5, 36, 28),  # 3 x 9 x 7 tokens, then 3 x 5 x 4
    ),
}

# name -> (layer, constructor arguments as torchvision spells them, input shape)
LAYERS: dict[str, tuple[str, dict[str, Any], tuple[int, ...]]] = {
    "attention_v1_shifted_padded": (
        "attention_v1",
        {"dim": 16, "window_size": [4, 4], "shift_size": [2, 2], "num_heads": 4},
        (2, 9, 10, 16),
    ),
    "attention_v1_shift_off_along_height": (
        "attention_v1",
        {"dim": 16, "window_size": [4, 4], "shift_size": [2, 2], "num_heads": 4},
        (2, 3, 10, 16),
    ),
    "attention_v1_unshifted_no_bias": (
        "attention_v1",
        {"dim": 16, "window_size": [3, 4], "shift_size": [0, 0], "num_heads": 2, "qkv_bias": False},
        (2, 6, 8, 16),
    ),
    "attention_v1_one_dim_shifted": (
        "attention_v1",
        {"dim": 16, "window_size": [4, 4], "shift_size": [0, 3], "num_heads": 4},
        (1, 8, 11, 16),
    ),
    "attention_v2_shifted_padded": (
        "attention_v2",
        {"dim": 16, "window_size": [4, 4], "shift_size": [2, 2], "num_heads": 4},
        (2, 9, 10, 16),
    ),
    "attention_v2_unshifted": (
        "attention_v2",
        {"dim": 16, "window_size": [4, 4], "shift_size": [0, 0], "num_heads": 2},
        (2, 8, 5, 16),
    ),
    "attention_3d_shifted_padded": (
        "attention_3d",
        {"dim": 16, "window_size": [2, 4, 4], "shift_size": [1, 2, 2], "num_heads": 4},
        (2, 3, 9, 10, 16),
    ),
    "attention_3d_shrunken_window": (
        "attention_3d",
        {"dim": 16, "window_size": [2, 4, 4], "shift_size": [1, 2, 2], "num_heads": 4},
        (2, 1, 3, 10, 16),
    ),
    "block_v1_shifted": (
        "block_v1",
        {"dim": 16, "num_heads": 4, "window_size": [4, 4], "shift_size": [2, 2], "mlp_ratio": 2.0},
        (2, 9, 6, 16),
    ),
    "block_v2_shifted": (
        "block_v2",
        {"dim": 16, "num_heads": 4, "window_size": [4, 4], "shift_size": [2, 2], "mlp_ratio": 2.0},
        (2, 9, 6, 16),
    ),
    "block_3d_shifted": (
        "block_3d",
        {"dim": 16, "num_heads": 4, "window_size": [2, 4, 4], "shift_size": [1, 2, 2], "mlp_ratio": 2.0},
        (2, 3, 5, 9, 16),
    ),
    "patch_merging_v1_odd": ("patch_merging_v1", {"dim": 8}, (2, 5, 7, 8)),
    "patch_merging_v2_video": ("patch_merging_v2", {"dim": 8}, (2, 3, 5, 4, 8)),
    "patch_embedding_3d_padded": (
        "patch_embedding_3d",
        {"patch_size": [2, 4, 4], "embed_dim": 8, "norm_layer": "layer_norm"},
        (2, 3, 5, 9, 10),
    ),
}


def _torchvision_small(config: dict[str, Any]) -> torch.nn.Module:
    from torchvision.models import swin_transformer
    from torchvision.models.video import swin_transformer as video

    config = dict(config)
    version = config.pop("version", None)
    if version is None:
        return video.SwinTransformer3d(**config)
    if version == 2:
        config["block"] = swin_transformer.SwinTransformerBlockV2
        config["downsample_layer"] = swin_transformer.PatchMergingV2
    return swin_transformer.SwinTransformer(**config)


def _torchvision_layer(kind: str, arguments: dict[str, Any]) -> torch.nn.Module:
    from torchvision.models import swin_transformer as swin
    from torchvision.models.video import swin_transformer as video

    arguments = dict(arguments)
    if arguments.get("norm_layer") == "layer_norm":
        arguments["norm_layer"] = torch.nn.LayerNorm
    builders = {
        "attention_v1": swin.ShiftedWindowAttention,
        "attention_v2": swin.ShiftedWindowAttentionV2,
        "attention_3d": video.ShiftedWindowAttention3d,
        "block_v1": swin.SwinTransformerBlock,
        "block_v2": swin.SwinTransformerBlockV2,
        "patch_merging_v1": swin.PatchMerging,
        "patch_merging_v2": swin.PatchMergingV2,
        "patch_embedding_3d": video.PatchEmbed3d,
    }
    if kind == "block_3d":
        return swin.SwinTransformerBlock(**arguments, attn_layer=video.ShiftedWindowAttention3d)
    return builders[kind](**arguments)


def _redraw(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Every parameter from a seeded normal: matrices with std 1/sqrt(fan_in), vectors around 1 or 0.

    torchvision zero-initialises biases (v2's key bias included) and the bias tables are small; the
    re-drawn values make every part, the ignored v2 key bias too, change the outputs if mishandled.
    """
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            if name.endswith("logit_scale"):
                parameter.copy_(math.log(10.0) + 0.5 * noise)
            elif name.endswith("relative_position_bias_table"):
                parameter.copy_(0.5 * noise)
            elif parameter.dim() >= 2:
                parameter.copy_(noise / math.sqrt(math.prod(parameter.shape[1:])))
            elif name.endswith("weight") and parameter.dim() == 1:
                parameter.copy_(1.0 + 0.1 * noise)
            else:
                parameter.copy_(0.1 * noise)


def record(out_dir: Path) -> None:
    import torchvision.models as models
    import torchvision.models.video as video_models

    generator = torch.Generator().manual_seed(29)
    for name, (config, shape) in SMALL_MODELS.items():
        torch.manual_seed(29)
        model = _torchvision_small(config).eval()
        _redraw(model, generator)
        x = torch.randn(shape, generator=generator)
        with torch.no_grad():
            y = model(x)
        torch.save(
            {"config": config, "state_dict": model.state_dict(), "input": x, "output": y},
            out_dir / f"swin_small_{name}.pt",
        )
    for name, (kind, arguments, shape) in LAYERS.items():
        torch.manual_seed(29)
        layer = _torchvision_layer(kind, arguments).eval()
        _redraw(layer, generator)
        x = torch.randn(shape, generator=generator)
        with torch.no_grad():
            y = layer(x)
        torch.save({"state_dict": layer.state_dict(), "input": x, "output": y}, out_dir / f"swin_layer_{name}.pt")
    for name in NAMED_BUILDERS:
        namespace = video_models if name.startswith("swin3d") else models
        with torch.device("meta"):
            model = getattr(namespace, name)(weights=None)
        keys = [(key, tuple(value.shape), str(value.dtype)) for key, value in model.state_dict().items()]
        buffers = sorted(name for name, _ in model.named_buffers())
        persistent = sorted(key for key in model.state_dict() if key in set(buffers))
        torch.save(
            {"builder": name, "keys": keys, "buffers": buffers, "persistent_buffers": persistent},
            out_dir / f"swin_keys_{name}.pt",
        )
