"""Records torchvision 0.29 MaxViT fixtures: a small whole model, its blocks, and maxvit_t's key list.

Run by ``make parity-fixtures`` (``record``) in the reference environment. All fixtures are named
``maxvit_*.pt``:

* ``maxvit_small.pt``: torchvision's ``MaxVit`` class with a tiny configuration (:data:`SMALL_MODEL`),
  every parameter and BatchNorm statistic re-drawn from a seeded generator (torchvision's ``std=0.02``
  initialisation would make the attention nearly uniform and hide it): state_dict, input, eval output.
* ``maxvit_block_<name>.pt``: one torchvision block (:data:`BLOCKS`: its MBConv, relative attention,
  partition attention layer, MaxVitLayer), re-drawn likewise: state_dict, input, eval output.
* ``maxvit_keys_maxvit_t.pt``: the ``(key, shape, dtype)`` list of ``maxvit_t``, built on the meta device.

This module imports only torch at module level; the test imports :data:`SMALL_MODEL` and
:data:`BLOCKS` from the torch-only environment.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

__all__ = ["BLOCKS", "NAMED_BUILDERS", "SMALL_MODEL", "record"]

NAMED_BUILDERS = ("maxvit_t",)

# Arguments shared by torchvision's MaxVit and the example's MaxVit (stage inputs 16x16 and 8x8).
SMALL_MODEL: dict[str, Any] = {
    "input_size": (64, 64),
    "stem_channels": 8,
    "partition_size": 4,
    "block_channels": [8, 16],
    "block_layers": [1, 2],
    "head_dim": 4,
    "stochastic_depth_prob": 0.2,
    "num_classes": 10,
}

# name -> (kind, configuration, input shape). The configurations name the blocks' hyper-parameters
# neutrally; the recorder and the test each translate them to their block's arguments.
BLOCKS: dict[str, tuple[str, dict[str, Any], tuple[int, ...]]] = {
    "mbconv_identity": ("mbconv", {"in_channels": 8, "out_channels": 8, "stride": 1}, (2, 8, 9, 7)),
    "mbconv_projection": ("mbconv", {"in_channels": 8, "out_channels": 16, "stride": 1}, (2, 8, 9, 7)),
    "mbconv_stride2": ("mbconv", {"in_channels": 8, "out_channels": 16, "stride": 2}, (2, 8, 9, 7)),
    "attention": ("attention", {"channels": 16, "head_dim": 4, "partition_size": 3}, (2, 4, 9, 16)),
    "window": ("partition", {"channels": 16, "head_dim": 4, "partition_size": 3, "type": "window"}, (2, 16, 12, 12)),
    "grid": ("partition", {"channels": 16, "head_dim": 4, "partition_size": 3, "type": "grid"}, (2, 16, 12, 12)),
    "layer_stride2": (
        "layer",
        {"in_channels": 8, "out_channels": 16, "head_dim": 4, "partition_size": 2, "stride": 2},
        (2, 8, 12, 12),
    ),
}


def _torchvision_block(kind: str, config: dict[str, Any], input_shape: tuple[int, ...]) -> torch.nn.Module:
    from functools import partial

    from torch import nn
    from torchvision.models import maxvit

    norm = partial(nn.BatchNorm2d, eps=1e-3, momentum=0.01)
    if kind == "mbconv":
        return maxvit.MBConv(
            config["in_channels"], config["out_channels"], 4, 0.25, config["stride"], nn.GELU, norm, 0.1
        )
    if kind == "attention":
        return maxvit.RelativePositionalMultiHeadAttention(
            config["channels"], config["head_dim"], config["partition_size"] ** 2
        )
    if kind == "partition":
        grid = (input_shape[2], input_shape[3])
        return maxvit.PartitionAttentionLayer(
            config["channels"], config["head_dim"], config["partition_size"], config["type"], grid,
            4, nn.GELU, nn.LayerNorm, 0.0, 0.0, 0.1,
        )  # fmt: skip
    grid = ((input_shape[2] - 1) // config["stride"] + 1, (input_shape[3] - 1) // config["stride"] + 1)
    return maxvit.MaxVitLayer(
        config["in_channels"], config["out_channels"], 0.25, 4, config["stride"], norm, nn.GELU,
        config["head_dim"], 4, 0.0, 0.0, 0.1, config["partition_size"], grid,
    )  # fmt: skip


def _redraw(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Parameters and BatchNorm statistics from a seeded normal: matrices with std 1/sqrt(fan_in),
    the bias tables with std 1, vectors around 1 (weights, variances) or 0."""
    with torch.no_grad():
        tensors = [*model.named_parameters(), *((n, b) for n, b in model.named_buffers() if b.is_floating_point())]
        for name, tensor in tensors:
            noise = torch.randn(tensor.shape, generator=generator)
            if name.endswith("relative_position_bias_table"):
                tensor.copy_(noise)
            elif name.endswith("running_var"):
                tensor.copy_(1.0 + 0.2 * noise.abs())
            elif tensor.dim() >= 2:
                tensor.copy_(noise / math.sqrt(math.prod(tensor.shape[1:])))
            elif name.endswith("weight"):
                tensor.copy_(1.0 + 0.1 * noise)
            else:
                tensor.copy_(0.1 * noise)


def _save(model: torch.nn.Module, x: torch.Tensor, path: Path, **extra: Any) -> None:
    model.eval()
    with torch.no_grad():
        y = model(x)
    torch.save({**extra, "state_dict": model.state_dict(), "input": x, "output": y}, path)


def record(out_dir: Path) -> None:
    import torchvision.models as models
    from torchvision.models import maxvit

    generator = torch.Generator().manual_seed(29)
    torch.manual_seed(29)
    model = maxvit.MaxVit(**SMALL_MODEL)
    _redraw(model, generator)
    x = torch.randn(2, 3, *SMALL_MODEL["input_size"], generator=generator)
    _save(model, x, out_dir / "maxvit_small.pt", config=SMALL_MODEL)
    for name, (kind, config, input_shape) in BLOCKS.items():
        block = _torchvision_block(kind, config, input_shape)
        _redraw(block, generator)
        x = torch.randn(input_shape, generator=generator)
        _save(block, x, out_dir / f"maxvit_block_{name}.pt", kind=kind, config=config)
    for name in NAMED_BUILDERS:
        with torch.device("meta"):
            model = getattr(models, name)(weights=None)
        keys = [(key, tuple(value.shape), str(value.dtype)) for key, value in model.state_dict().items()]
        torch.save({"builder": name, "keys": keys}, out_dir / f"maxvit_keys_{name}.pt")
