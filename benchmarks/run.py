"""tvexp's benchmark suite: each stable layer against torchvision, timm and the bare tensor ops.

Usage::

    python benchmarks/run.py [--tiny] [--out DIR] [--only SUBSTRING ...]

Everything is timed in this one process on the CPU with ``torch.set_num_threads(2)``. The
candidates of one case are *interleaved*: every round times each candidate once (a few calls),
in a rotating order, and the table reports the median over rounds, so a slow spell of a shared
machine hits all candidates alike. torchvision and timm are optional (install them with
``requirements-ref.txt``); without them each layer is compared with the floor only, the bare
tensor operations it is made of.

Writes ``DIR/results.md`` (markdown tables of medians and ratios) and ``DIR/results.png`` (a chart;
skipped with a message when matplotlib is missing). ``--tiny`` runs every case once on tiny sizes:
that is what ``make test`` does to prove the suite works; it never asserts a time.
"""

from __future__ import annotations

import argparse
import copy
import ctypes
import importlib
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("TVEXP_PROTOTYPE_OPT_IN", "1")

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils._pytree import tree_leaves, tree_map

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

THREADS = 2


def optional(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except Exception:
        return None


# --------------------------------------------------------------------------- timing


def steady_allocator() -> str:
    """Makes glibc's malloc keep freed memory and serve large tensors from its heap; says what it did.

    By default glibc returns the top of its heap to the OS when more than a threshold is free and maps
    blocks above another threshold afresh, both thresholds adapting to the sizes freed so far. So the
    first cases of a run paid page faults on every call for some candidates and not for others
    (torchvision's and timm's identical LayerNorm2d differed by 40% there, by 2% in later cases). Fixed
    thresholds give every case the steady state of a long training loop, where memory is reused.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return "default allocator"
    trim_threshold, mmap_threshold = -1, -3  # glibc's M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
    if libc.mallopt(mmap_threshold, 32 << 20) and libc.mallopt(trim_threshold, 1 << 30):
        return "glibc malloc with fixed thresholds (no trimming; blocks up to 32 MiB from the heap)"
    return "default allocator"


def interleaved_samples(
    candidates: dict[str, Callable[[], Any]], rounds: int, calls: int, warmup: int = 3
) -> dict[str, list[float]]:
    """Seconds per call of each candidate in every round; candidates alternate within every round.

    Each candidate first runs ``warmup`` times untimed: with one call, the first case of a run still
    paid for the allocator's growth (torchvision's and timm's identical LayerNorm2d differed by 40%).
    """
    names = list(candidates)
    for name in names:
        for _ in range(warmup):
            candidates[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            function = candidates[name]
            start = time.perf_counter()
            for _ in range(calls):
                function()
            samples[name].append((time.perf_counter() - start) / calls)
    return samples


def interleaved(candidates: dict[str, Callable[[], Any]], rounds: int, calls: int, warmup: int = 3) -> dict[str, float]:
    """Median seconds per call of each candidate (see :func:`interleaved_samples`)."""
    samples = interleaved_samples(candidates, rounds, calls, warmup)
    return {name: statistics.median(values) for name, values in samples.items()}


def round_ratios(samples: dict[str, list[float]], numerator: str = "tvexp") -> dict[str, float]:
    """For each other candidate, the median over rounds of ``numerator``'s time / its time in the same round.

    A slow spell of the shared machine hits every candidate of a round alike, so per-round ratios are
    steadier than the ratio of two medians taken over different rounds.
    """
    ours = samples[numerator]
    return {
        name: statistics.median(a / b for a, b in zip(ours, values))
        for name, values in samples.items()
        if name != numerator
    }


@dataclass
class Row:
    section: str
    case: str
    variant: str
    medians: dict[str, float]  # candidate -> seconds
    notes: str = ""
    ratios: dict[str, float] = field(default_factory=dict)  # other candidate -> median per-round tvexp/other


@dataclass
class Settings:
    tiny: bool
    rounds: int
    calls: int
    only: list[str] = field(default_factory=list)

    def wanted(self, name: str) -> bool:
        return not self.only or any(part.lower() in name.lower() for part in self.only)


# --------------------------------------------------------------------------- layer cases


@dataclass
class LayerBench:
    """One layer: how to build each candidate and the floor, and its input."""

    name: str
    make_input: Callable[[], Any]  # a tensor, or a dict of them (a feature pyramid's levels)
    tvexp: Callable[[], nn.Module] | None
    torchvision: Callable[[], nn.Module] | None = None
    timm: Callable[[], nn.Module] | None = None
    floor: Callable[[nn.Module], Callable[[Tensor], Tensor]] | None = None  # from the tvexp module
    spatial: bool = True  # has a channels_last variant
    modes: tuple[str, ...] = ("eval", "train")


def _conv_norm_act_floor(module: nn.Module) -> Callable[[Tensor], Tensor]:
    conv, norm = module[0], module[1]

    def run(x: Tensor) -> Tensor:
        y = F.conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation, conv.groups)
        y = F.batch_norm(
            y,
            norm.running_mean,
            norm.running_var,
            norm.weight,
            norm.bias,
            module.training,
            norm.momentum or 0.0,
            norm.eps,
        )
        return F.relu(y, inplace=True)

    return run


def _conv3d_norm_act_floor(module: nn.Module) -> Callable[[Tensor], Tensor]:
    conv, norm = module[0], module[1]

    def run(x: Tensor) -> Tensor:
        y = F.conv3d(x, conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation, conv.groups)
        y = F.batch_norm(
            y,
            norm.running_mean,
            norm.running_var,
            norm.weight,
            norm.bias,
            module.training,
            norm.momentum or 0.0,
            norm.eps,
        )
        return F.relu(y, inplace=True)

    return run


def _se_floor(module: nn.Module) -> Callable[[Tensor], Tensor]:
    fc1, fc2 = module.fc1, module.fc2

    def run(x: Tensor) -> Tensor:
        scale = x.mean((2, 3), keepdim=True)
        scale = torch.sigmoid(F.conv2d(F.relu(F.conv2d(scale, fc1.weight, fc1.bias)), fc2.weight, fc2.bias))
        return x * scale

    return run


def _mlp_floor(module: nn.Module) -> Callable[[Tensor], Tensor]:
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]

    def run(x: Tensor) -> Tensor:
        for index, linear in enumerate(linears):
            x = F.linear(x, linear.weight, linear.bias)
            if index < len(linears) - 1:
                x = F.relu(x)
        return x

    return run


def _permute_floor(module: nn.Module) -> Callable[[Tensor], Tensor]:  # noqa: ARG001  (floors share a signature)
    return lambda x: torch.permute(x, (0, 2, 3, 1))


def _frozen_bn_floor(module: nn.Module) -> Callable[[Tensor], Tensor]:
    def run(x: Tensor) -> Tensor:
        scale = module.weight * (module.running_var + module.eps).rsqrt()
        shift = module.bias - module.running_mean * scale
        return x * scale.reshape(1, -1, 1, 1) + shift.reshape(1, -1, 1, 1)

    return run


def _stochastic_depth_floor(module: nn.Module) -> Callable[[Tensor], Tensor]:
    def run(x: Tensor) -> Tensor:
        if not module.training:
            return x
        keep = 1.0 - module.p
        mask = torch.empty((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype).bernoulli_(keep)
        return x * mask.div_(keep)

    return run


def _scale_floor(module: nn.Module) -> Callable[[Tensor], Tensor]:
    """DropBlock's floor: the one multiplication every implementation has to do in training."""
    return lambda x: x * 1.1 if module.training else x


def _layer_norm_2d_floor(module: nn.Module) -> Callable[[Tensor], Tensor]:
    def run(x: Tensor) -> Tensor:
        y = F.layer_norm(x.permute(0, 2, 3, 1), module.normalized_shape, module.weight, module.bias, module.eps)
        return y.permute(0, 3, 1, 2)

    return run


def _encoder_block_floor(module: nn.Module) -> Callable[[Tensor], Tensor]:
    attention, mlp = module.self_attention, module.mlp
    heads = attention.num_heads

    def run(x: Tensor) -> Tensor:
        y = F.layer_norm(x, module.ln_1.normalized_shape, module.ln_1.weight, module.ln_1.bias, module.ln_1.eps)
        q, k, v = (
            F.linear(y, attention.in_proj_weight, attention.in_proj_bias)
            .unflatten(-1, (3, heads, -1))
            .permute(2, 0, 3, 1, 4)
        )
        y = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).flatten(2)
        x = x + F.linear(y, attention.out_proj.weight, attention.out_proj.bias)
        y = F.layer_norm(x, module.ln_2.normalized_shape, module.ln_2.weight, module.ln_2.bias, module.ln_2.eps)
        y = F.linear(F.gelu(F.linear(y, mlp[0].weight, mlp[0].bias)), mlp[3].weight, mlp[3].bias)
        return x + y

    return run


def _convnext_block_floor(module: nn.Module) -> Callable[[Tensor], Tensor]:
    conv, _, norm, fc1, _, fc2, _ = module.block

    def run(x: Tensor) -> Tensor:
        y = F.conv2d(x, conv.weight, conv.bias, padding=conv.padding, groups=conv.groups).permute(0, 2, 3, 1)
        y = F.layer_norm(y, norm.normalized_shape, norm.weight, norm.bias, norm.eps)
        y = F.linear(F.gelu(F.linear(y, fc1.weight, fc1.bias)), fc2.weight, fc2.bias).permute(0, 3, 1, 2)
        return x + module.layer_scale * y

    return run


def _swin_block_floor(module: nn.Module) -> Callable[[Tensor], Tensor]:
    """The block's norms, linear layers and SDPA on windows of consecutive tokens: no padding, shift,
    partition, position bias or mask (the work any window attention block does)."""
    attention, mlp = module.attn, module.mlp
    heads, tokens = attention.num_heads, attention.num_tokens
    post_norm = module.version == 2

    def norm(x: Tensor, layer: nn.Module) -> Tensor:
        return F.layer_norm(x, layer.normalized_shape, layer.weight, layer.bias, layer.eps)

    def attend(x: Tensor) -> Tensor:
        windows = x.reshape(-1, tokens, x.shape[-1])
        q, k, v = (
            F.linear(windows, attention.qkv.weight, attention.qkv.bias)
            .unflatten(-1, (3, heads, -1))
            .permute(2, 0, 3, 1, 4)
        )
        y = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).flatten(2)
        return F.linear(y, attention.proj.weight, attention.proj.bias).view(x.shape)

    def feed_forward(x: Tensor) -> Tensor:
        return F.linear(F.gelu(F.linear(x, mlp[0].weight, mlp[0].bias)), mlp[3].weight, mlp[3].bias)

    def run(x: Tensor) -> Tensor:
        if post_norm:
            x = x + norm(attend(x), module.norm1)
            return x + norm(feed_forward(x), module.norm2)
        x = x + attend(norm(x, module.norm1))
        return x + feed_forward(norm(x, module.norm2))

    return run


def _partition_block_floor(module: nn.Module) -> Callable[[Tensor], Tensor]:
    """MaxViT's partition block without the partition: one NCHW -> tokens copy, then the norms, linear
    layers and SDPA on groups of consecutive tokens (no relative position bias), output left token-major."""
    norm1, attention = module.attn_layer[0], module.attn_layer[1]
    norm2, fc1, fc2 = module.mlp_layer[0], module.mlp_layer[1], module.mlp_layer[3]
    qkv_weight, qkv_bias = attention._input_projection()
    proj = attention._output_projection()
    heads, tokens = attention.num_heads, module.partition_size**2

    def run(x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        x = x.permute(0, 2, 3, 1).reshape(-1, tokens, c)
        y = F.layer_norm(x, norm1.normalized_shape, norm1.weight, norm1.bias, norm1.eps)
        q, k, v = F.linear(y, qkv_weight, qkv_bias).unflatten(-1, (3, heads, -1)).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, scale=attention.scale).transpose(1, 2).flatten(2)
        x = x + F.linear(y, proj.weight, proj.bias)
        y = F.layer_norm(x, norm2.normalized_shape, norm2.weight, norm2.bias, norm2.eps)
        x = x + F.linear(F.gelu(F.linear(y, fc1.weight, fc1.bias)), fc2.weight, fc2.bias)
        return x.view(n, h, w, c).permute(0, 3, 1, 2)

    return run


def _module_builder(module_name: str, name: str, *args: Any, **kwargs: Any) -> Callable[[], nn.Module] | None:
    """A builder for ``module_name.name(*args, **kwargs)`` (a model-internal block), or None when absent."""
    module = optional(module_name)
    if module is None or not hasattr(module, name):
        return None
    return lambda: getattr(module, name)(*args, **kwargs)


def _torchvision_multiscale_block(grid: tuple[int, int, int], **kwargs: Any) -> Callable[[], nn.Module] | None:
    """torchvision's MViT ``MultiscaleBlock`` with its token grid bound, so it is called like tvexp's (and keeps
    the same state_dict keys): ``forward(x)`` returns the tokens only."""
    mvit = optional("torchvision.models.video.mvit")
    if mvit is None:
        return None

    class BoundGrid(mvit.MultiscaleBlock):  # type: ignore[misc, name-defined]
        def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
            return super().forward(x, grid)[0]

    norm_layer = lambda width: nn.LayerNorm(width, eps=1e-6)  # noqa: E731
    config = kwargs.pop("cnf")  # once, here: the builder is called again for the bfloat16 row
    return lambda: BoundGrid(list(grid), mvit.MSBlockConfig(**config), **kwargs, norm_layer=norm_layer)


def _mvit_benches(tvp: Any, tiny: bool) -> list[LayerBench]:
    """MultiscaleBlock in the configurations of mvit_v1_b's and mvit_v2_s's second block (a 16 x 112 x 112 clip:
    an 8 x 28 x 28 token grid pooled to 14 x 14; keys and values to 7 x 7), against torchvision's."""
    grid, width, batch = ((2, 4, 4), 8, 2) if tiny else ((8, 28, 28), 96, 1)
    tokens = lambda: torch.randn(batch, 1 + grid[0] * grid[1] * grid[2], width)  # noqa: E731
    benches = []
    for version, v2 in (("v1", False), ("v2", True)):
        flags = {
            "residual_pool": v2,
            "residual_with_cls_embed": False,
            "rel_pos_embed": v2,
            "proj_after_attn": v2,
        }
        cnf = {
            "num_heads": 2,
            "input_channels": width,
            "output_channels": 2 * width,
            "kernel_q": [3, 3, 3],
            "kernel_kv": [3, 3, 3],
            "stride_q": [1, 2, 2],
            "stride_kv": [1, 4, 4],
        }
        ours = None
        if tvp is not None and hasattr(tvp, "MultiscaleBlock"):
            ours = partial(
                tvp.MultiscaleBlock,
                width,
                2,
                grid,
                output_dim=2 * width,
                query_kernel_size=(3, 3, 3),
                query_stride=(1, 2, 2),
                key_value_kernel_size=(3, 3, 3),
                key_value_stride=(1, 4, 4),
                residual_pooling=v2,
                residual_with_class_token=False,
                relative_position_embedding=v2,
                project_after_attention=v2,
            )
        benches.append(
            LayerBench(
                f"MultiscaleBlock {version} (prototype)",
                tokens,
                ours,
                _torchvision_multiscale_block(grid, cnf=cnf, **flags),
                spatial=False,
            )
        )
    return benches


# The blocks also measured in bfloat16 (parameters and input), with the same references and floor.
BFLOAT16_CASES = (
    "LayerNorm2d",
    "TransformerEncoderBlock",
    "ConvNeXtBlock",
    "MultiscaleBlock v1",
    "MultiscaleBlock v2",
    "SwinTransformerBlock v1",
    "SwinTransformerBlock v2",
    "PartitionAttentionBlock window",
    "PartitionAttentionBlock grid",
)


def _bfloat16(builder: Callable[[], nn.Module] | None) -> Callable[[], nn.Module] | None:
    """The module of ``builder`` with bfloat16 parameters (for a bfloat16 input)."""
    return None if builder is None else (lambda: builder().to(torch.bfloat16))


def in_bfloat16(bench: LayerBench) -> LayerBench:
    """``bench`` with bfloat16 parameters and input, named ``"<case> bfloat16 (prototype)"``."""
    case, _, tier = bench.name.partition(" (")
    make_input = bench.make_input
    return replace(
        bench,
        name=f"{case} bfloat16" + (f" ({tier}" if tier else ""),
        make_input=lambda: make_input().to(torch.bfloat16),
        tvexp=_bfloat16(bench.tvexp),
        torchvision=_bfloat16(bench.torchvision),
        timm=_bfloat16(bench.timm),
    )


def layer_benches(tiny: bool) -> list[LayerBench]:
    tvs = optional("tvexp.stable")
    tvp = optional("tvexp.prototype")
    ops = optional("torchvision.ops")
    tv_models = optional("torchvision.models")
    timm_layers = optional("timm.layers")
    tv_video = optional("torchvision.models.video.resnet")
    n, c, h = (2, 8, 8) if tiny else (8, 64, 56)
    batch, tokens, dim = (2, 4, 16) if tiny else (64, 196, 256)
    heads = 2 if tiny else 8
    feature = lambda: torch.randn(n, c, h, h)  # noqa: E731
    volume = lambda: torch.randn(n, c // 2, max(h // 7, 2), h // 2, h // 2)  # noqa: E731
    token_batch = lambda: torch.randn(batch, tokens, dim)  # noqa: E731
    # Swin stage 1 of swin_t (v2: window 8): 56 x 56 tokens of 96 channels, 3 heads, shifted windows.
    swin_n, swin_size, swin_dim, swin_heads = (2, 20, 16, 2) if tiny else (4, 56, 96, 3)
    swin_map = lambda: torch.randn(swin_n, swin_size, swin_size, swin_dim)  # noqa: E731
    swin_window = 4 if tiny else 7

    def tv(name: str, *args: Any, **kwargs: Any) -> Callable[[], nn.Module] | None:
        return None if ops is None or not hasattr(ops, name) else (lambda: getattr(ops, name)(*args, **kwargs))

    def tv_block(path: str, *args: Any) -> Callable[[], nn.Module] | None:
        """A block class private to a torchvision model file, e.g. ``"regnet.ResBottleneckBlock"``."""
        if tv_models is None:
            return None
        module_name, class_name = path.split(".")
        return lambda: getattr(getattr(tv_models, module_name), class_name)(*args)

    def tm(name: str, *args: Any, **kwargs: Any) -> Callable[[], nn.Module] | None:
        if timm_layers is None or not hasattr(timm_layers, name):
            return None
        return lambda: getattr(timm_layers, name)(*args, **kwargs)

    def ours(namespace: Any, name: str, *args: Any, **kwargs: Any) -> Callable[[], nn.Module] | None:
        return (
            None
            if namespace is None or not hasattr(namespace, name)
            else (lambda: getattr(namespace, name)(*args, **kwargs))
        )

    benches = [
        LayerBench(
            "Conv2dNormActivation",
            feature,
            ours(tvs, "Conv2dNormActivation", c, c, 3),
            tv("Conv2dNormActivation", c, c, 3),
            tm("ConvNormAct", c, c, 3, act_layer=nn.ReLU),
            _conv_norm_act_floor,
        ),
        LayerBench(
            "Conv3dNormActivation",
            volume,
            ours(tvs, "Conv3dNormActivation", c // 2, c // 2, 3),
            tv("Conv3dNormActivation", c // 2, c // 2, 3),
            None,
            _conv3d_norm_act_floor,
        ),
        LayerBench(
            "SqueezeExcitation",
            feature,
            ours(tvs, "SqueezeExcitation", c, c // 4),
            tv("SqueezeExcitation", c, c // 4),
            tm("SqueezeExcite", c, rd_channels=c // 4, act_layer=nn.ReLU),
            _se_floor,
        ),
        LayerBench(
            "MLP",
            token_batch,
            ours(tvs, "MLP", dim, [4 * dim, dim]),
            tv("MLP", dim, [4 * dim, dim]),
            tm("Mlp", dim, 4 * dim, dim, act_layer=nn.ReLU),
            _mlp_floor,
            spatial=False,
        ),
        LayerBench(
            "Permute", feature, ours(tvs, "Permute", [0, 2, 3, 1]), tv("Permute", [0, 2, 3, 1]), None, _permute_floor
        ),
        LayerBench(
            "FrozenBatchNorm2d",
            feature,
            ours(tvs, "FrozenBatchNorm2d", c),
            tv("FrozenBatchNorm2d", c),
            tm("FrozenBatchNorm2d", c),
            _frozen_bn_floor,
        ),
        LayerBench(
            "StochasticDepth(row)",
            feature,
            ours(tvs, "StochasticDepth", 0.1, "row"),
            tv("StochasticDepth", 0.1, "row"),
            tm("DropPath", 0.1),
            _stochastic_depth_floor,
        ),
        LayerBench(
            "DropBlock2d(per-channel)",
            feature,
            ours(tvs, "DropBlock2d", 0.1, 7),
            tv("DropBlock2d", 0.1, 7),
            tm("DropBlock2d", 0.1, 7, couple_channels=False),
            _scale_floor,
            modes=("train", "eval"),
        ),
        LayerBench(
            "DropBlock2d(shared_mask)",
            feature,
            ours(tvs, "DropBlock2d", 0.1, 7, shared_mask=True),
            None,
            tm("DropBlock2d", 0.1, 7),
            _scale_floor,
            modes=("train",),
        ),
        LayerBench(
            "DropBlock3d(per-channel)",
            volume,
            ours(tvs, "DropBlock3d", 0.1, 3),
            tv("DropBlock3d", 0.1, 3),
            None,
            _scale_floor,
            modes=("train",),
        ),
        LayerBench(
            "RegNetBottleneck Y (prototype)",
            feature,
            ours(tvp, "RegNetBottleneck", c, c, group_width=min(16, c), se_ratio=0.25),
            tv_block("regnet.ResBottleneckBlock", c, c, 1, nn.BatchNorm2d, nn.ReLU, min(16, c), 1.0, 0.25),
        ),
        LayerBench(
            "DenseLayer (prototype)",
            feature,
            ours(tvp, "DenseLayer", c, c // 2),
            tv_block("densenet._DenseLayer", c, c // 2, 4, 0.0),
        ),
        LayerBench(
            "LayerNorm2d (prototype)",
            feature,
            ours(tvp, "LayerNorm2d", c),
            _module_builder("torchvision.models.convnext", "LayerNorm2d", c, eps=1e-6),
            tm("LayerNorm2d", c),
            _layer_norm_2d_floor,
        ),
        LayerBench(
            "TransformerEncoderBlock (prototype)",
            token_batch,
            ours(tvp, "TransformerEncoderBlock", heads, dim, 4 * dim),
            _module_builder("torchvision.models.vision_transformer", "EncoderBlock", heads, dim, 4 * dim, 0.0, 0.0),
            _module_builder("timm.models.vision_transformer", "Block", dim, heads, qkv_bias=True),
            _encoder_block_floor,
            spatial=False,
        ),
        LayerBench(
            "FeaturePyramidNetwork+LastLevelMaxPool (prototype)",
            lambda: _pyramid(n, c, h),
            ours(tvp, "FeaturePyramidNetwork", [c, 2 * c, 4 * c, 8 * c], 2 * c, _extra(tvp, "LastLevelMaxPool")),
            tv("FeaturePyramidNetwork", [c, 2 * c, 4 * c, 8 * c], 2 * c, _extra(ops, "LastLevelMaxPool")),
            modes=("eval",),  # no norm, no dropout: training mode runs the same ops
        ),
        LayerBench(
            "ASPP (prototype)",
            lambda: torch.randn(n, 2 * c, h // 2, h // 2),
            ours(tvp, "ASPP", 2 * c, (6, 12, 18), c),
            _module_builder("torchvision.models.segmentation.deeplabv3", "ASPP", 2 * c, (6, 12, 18), c),
        ),
        LayerBench(
            "ConvNeXtBlock (prototype)",
            feature,
            ours(tvp, "ConvNeXtBlock", c),
            _module_builder("torchvision.models.convnext", "CNBlock", c, 1e-6, 0.0),
            _module_builder("timm.models.convnext", "ConvNeXtBlock", c, ls_init_value=1e-6),
            _convnext_block_floor,
        ),
        *[
            LayerBench(
                f"VideoBasicBlock {label} (prototype)",
                volume,
                None if tvp is None else ours(tvp, "VideoBasicBlock", c // 2, c // 2, getattr(tvp, builder)),
                None
                if tv_video is None
                else (lambda b=builder: tv_video.BasicBlock(c // 2, c // 2, getattr(tv_video, b))),
                spatial=False,  # channels_last_3d: the Conv3dNormActivation row covers it
            )
            for label, builder in (("3D", "Conv3DSimple"), ("(2+1)D", "Conv2Plus1D"))
        ],
        *_mvit_benches(tvp, tiny),
        LayerBench(
            "SwinTransformerBlock v1 (prototype)",
            swin_map,
            ours(tvp, "SwinTransformerBlock", swin_dim, swin_heads, [swin_window] * 2, [swin_window // 2] * 2),
            _module_builder(
                "torchvision.models.swin_transformer",
                "SwinTransformerBlock",
                swin_dim,
                swin_heads,
                [swin_window] * 2,
                [swin_window // 2] * 2,
            ),
            _module_builder(
                "timm.models.swin_transformer",
                "SwinTransformerBlock",
                swin_dim,
                (swin_size, swin_size),
                swin_heads,
                window_size=swin_window,
                shift_size=swin_window // 2,
            ),
            _swin_block_floor,
            spatial=False,
        ),
        LayerBench(
            "SwinTransformerBlock v2 (prototype)",
            swin_map,
            ours(
                tvp,
                "SwinTransformerBlock",
                swin_dim,
                swin_heads,
                [swin_window + 1] * 2,
                [(swin_window + 1) // 2] * 2,
                version=2,
            ),
            _module_builder(
                "torchvision.models.swin_transformer",
                "SwinTransformerBlockV2",
                swin_dim,
                swin_heads,
                [swin_window + 1] * 2,
                [(swin_window + 1) // 2] * 2,
            ),
            _module_builder(
                "timm.models.swin_transformer_v2",
                "SwinTransformerV2Block",
                swin_dim,
                (swin_size, swin_size),
                swin_heads,
                window_size=swin_window + 1,
                shift_size=(swin_window + 1) // 2,
            ),
            _swin_block_floor,
            spatial=False,
        ),
        *_partition_attention_benches(tiny, feature, c, h, tvp),
    ]
    return benches + [in_bfloat16(bench) for bench in benches if bench.name.partition(" (")[0] in BFLOAT16_CASES]


class _ChannelsLastAdapter(nn.Module):
    """Runs a channels-last (N, H, W, C) layer on (N, C, H, W) input (timm's MaxViT permutes once per stage)."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: Tensor) -> Tensor:
        return self.layer(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def _partition_attention_benches(
    tiny: bool, feature: Callable[[], Tensor], c: int, h: int, tvp: Any
) -> list[LayerBench]:
    """MaxViT's window and grid attention (MaxViT-T's first stage: 64 channels, 56x56, partition 7, head_dim 32)."""
    if tvp is None or not hasattr(tvp, "PartitionAttentionBlock"):
        return []
    size, head_dim = (2, 4) if tiny else (7, 32)
    maxvit = optional("torchvision.models.maxvit")
    maxxvit = optional("timm.models.maxxvit")
    benches = []
    for kind, timm_kind in (("window", "block"), ("grid", "grid")):
        torchvision = None
        if maxvit is not None:
            torchvision = partial(
                maxvit.PartitionAttentionLayer,
                c, head_dim, size, kind, (h, h), 4, nn.GELU, nn.LayerNorm, 0.0, 0.0, 0.0,
            )  # fmt: skip
        timm = None
        if maxxvit is not None:
            config = maxxvit.MaxxVitTransformerCfg(
                dim_head=head_dim, window_size=(size, size), grid_size=(size, size), norm_eps=1e-5
            )
            timm = partial(
                lambda kind, config: _ChannelsLastAdapter(maxxvit.PartitionAttentionCl(c, kind, config)),
                timm_kind,
                config,
            )
        benches.append(
            LayerBench(
                f"PartitionAttentionBlock {kind} (prototype)",
                feature,
                partial(tvp.PartitionAttentionBlock, c, head_dim, size, kind),
                torchvision,
                timm,
                _partition_block_floor,
                spatial=False,
                modes=("eval",),
            )
        )
    return benches


def _pyramid(n: int, c: int, h: int) -> dict[str, Tensor]:
    """Four levels as a ResNet's stages give them: channels doubling and sizes halving from ``(c, h, h)``."""
    return {str(i): torch.randn(n, c * 2**i, max(h // 2**i, 1), max(h // 2**i, 1)) for i in range(4)}


def _extra(namespace: Any, name: str) -> Any:
    """An FPN extra block by name: tvexp's from its namespace, torchvision's from ``ops.feature_pyramid_network``."""
    if namespace is None:
        return None
    module = getattr(namespace, "feature_pyramid_network", namespace)
    return getattr(module, name)() if hasattr(module, name) else None


def run_layer(bench: LayerBench, settings: Settings) -> list[Row]:
    if bench.tvexp is None:
        print(f"  {bench.name}: not in tvexp yet, skipped")
        return []
    rows = []
    torch.manual_seed(0)
    modules = {"tvexp": bench.tvexp()}
    if bench.torchvision is not None:
        modules["torchvision"] = bench.torchvision()
    if bench.timm is not None:
        modules["timm"] = bench.timm()
    # Same weights everywhere where the layouts agree, so the work is identical.
    reference_state = modules["tvexp"].state_dict()
    for name, module in modules.items():
        if name != "tvexp":
            try:
                module.load_state_dict(reference_state, strict=False)
            except Exception:
                pass
    formats = ["contiguous", "channels_last"] if bench.spatial else ["contiguous"]
    base_input = bench.make_input()
    for mode in bench.modes:
        for memory_format in formats:
            for pass_name in ("forward", "forward+backward"):
                if pass_name == "forward+backward" and bench.name == "Permute" and mode == "train":
                    pass  # still meaningful: the backward of a permute is a permute
                x = base_input
                rank = tree_leaves(x)[0].dim()
                target = torch.channels_last_3d if rank == 5 else torch.channels_last
                if memory_format == "channels_last":
                    x = tree_map(lambda t, target=target: t.contiguous(memory_format=target), x)
                candidates: dict[str, Callable[[], Any]] = {}
                for name, module in modules.items():
                    module.train(mode == "train")
                    if memory_format == "channels_last":
                        module.to(memory_format=target)
                    candidates[name] = _callable(module, x, pass_name)
                if bench.floor is not None:
                    candidates["floor"] = _callable(bench.floor(modules["tvexp"]), x, pass_name)
                samples = interleaved_samples(candidates, settings.rounds, settings.calls)
                medians = {name: statistics.median(values) for name, values in samples.items()}
                variant = f"{mode} {memory_format} {pass_name}"
                rows.append(Row("layers", bench.name, variant, medians, ratios=round_ratios(samples)))
    return rows


def _callable(module: Callable[[Any], Any], x: Any, pass_name: str) -> Callable[[], Any]:
    """``module(x)`` without gradients, or forward and backward; ``x`` and the output may be dicts of tensors."""
    if pass_name == "forward":

        def forward() -> Any:
            with torch.no_grad():
                return module(x)

        return forward
    leaf = tree_map(lambda t: t.detach().clone(memory_format=torch.preserve_format).requires_grad_(), x)

    def forward_backward() -> Any:
        # A non-leaf input, as inside a network (in-place layers refuse leaves).
        out = module(tree_map(lambda t: t * 1.0, leaf))
        outputs = [t for t in tree_leaves(out) if isinstance(t, Tensor)]
        torch.autograd.backward(outputs, [torch.ones_like(t) for t in outputs])
        return out

    return forward_backward


# --------------------------------------------------------------------------- tier machinery


def run_tier_overhead(settings: Settings) -> list[Row]:
    from tvexp._api.tiers import prototype

    class Plain(nn.Module):
        def __init__(self, channels: int) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(channels, 1, 1))

        def forward(self, x: Tensor) -> Tensor:
            return x * self.weight

    class Marked(Plain):
        pass

    prototype(since="0.1.0")(Marked)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Marked(8)  # the first construction announces; later ones are what we time
    x = torch.randn(*((2, 8, 8, 8) if settings.tiny else (8, 64, 56, 56)))
    plain, marked = Plain(x.shape[1]), Marked(x.shape[1])
    rows = [
        Row(
            "tier",
            "prototype layer vs undecorated",
            "forward",
            interleaved(
                {"prototype": lambda: marked(x), "undecorated": lambda: plain(x)}, settings.rounds, settings.calls
            ),
        )
    ]
    construction_calls = 50 if settings.tiny else 2000
    rows.append(
        Row(
            "tier",
            "prototype layer vs undecorated",
            "construction",
            interleaved(
                {"prototype": lambda: Marked(8), "undecorated": lambda: Plain(8)}, settings.rounds, construction_calls
            ),
        )
    )
    tvs = optional("tvexp.stable")
    if tvs is not None and hasattr(tvs, "DropBlock2d"):
        cls = tvs.DropBlock2d
        raw_init = cls.__init__.__wrapped__

        def undecorated() -> nn.Module:
            instance = cls.__new__(cls)
            raw_init(instance, 0.1, 7)
            return instance

        rows.append(
            Row(
                "tier",
                "stable layer with @prototype_parameters vs undecorated __init__",
                "construction DropBlock2d(0.1, 7)",
                interleaved(
                    {"prototype": lambda: cls(0.1, 7), "undecorated": undecorated}, settings.rounds, construction_calls
                ),
            )
        )
    return rows


# --------------------------------------------------------------------------- import time


def import_seconds(python: str, statement: str, repetitions: int) -> float | None:
    code = f"import time, torch; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    values = []
    for _ in range(repetitions):
        result = subprocess.run(
            [python, "-c", code], capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}
        )
        if result.returncode != 0:
            return None
        values.append(float(result.stdout.strip().splitlines()[-1]))
    return statistics.median(values)


def run_import_time(settings: Settings) -> list[Row]:
    repetitions = 1 if settings.tiny else 7
    medians: dict[str, float] = {}
    for name, statement in (
        ("tvexp.stable", "import tvexp.stable"),
        ("torchvision", "import torchvision"),
        ("timm", "import timm"),
    ):
        if name != "tvexp.stable" and optional(name) is None:
            continue
        seconds = import_seconds(sys.executable, statement, repetitions)
        if seconds is not None:
            medians[name] = seconds
    return [Row("import", "import on top of `import torch` (fresh process)", f"median of {repetitions}", medians)]


# --------------------------------------------------------------------------- conv-norm fusion


def run_fusion(settings: Settings) -> list[Row]:
    models = optional("examples.torchvision_models")
    tvp = optional("tvexp.prototype")
    if models is None or tvp is None or not hasattr(tvp, "fuse_conv_norm"):
        print("  fusion: examples/torchvision_models.py or fuse_conv_norm missing, skipped")
        return []
    tv_models = optional("torchvision.models")
    batch, size = (1, 32) if settings.tiny else (8, 224)
    rows = []
    for name in ("resnet18", "mobilenet_v3_small"):
        if not hasattr(models, name):
            continue
        torch.manual_seed(0)
        unfused = getattr(models, name)().eval()
        fused = tvp.fuse_conv_norm(unfused)
        x = torch.randn(batch, 3, size, size)
        with torch.no_grad():
            difference = (fused(x) - unfused(x)).abs().max().item()
        candidates = {"tvexp fused": fused, "tvexp unfused": unfused}
        if tv_models is not None:
            candidates["torchvision unfused"] = getattr(tv_models, name)(weights=None).eval()
        medians = interleaved({k: _inference(m, x) for k, m in candidates.items()}, 1 if settings.tiny else 9, 1)
        rows.append(
            Row(
                "fusion",
                name,
                f"eval, batch {batch} at {size}x{size}",
                medians,
                notes=f"max |fused - unfused| = {difference:.2e}",
            )
        )
    return rows


def _inference(model: nn.Module, x: Tensor) -> Callable[[], Any]:
    def run() -> Any:
        with torch.inference_mode():
            return model(x)

    return run


# --------------------------------------------------------------------------- eager int8 quantization


def _eager_int8(model: nn.Module, batches: list[Tensor]) -> nn.Module:
    """torchvision's ``quantize_model`` recipe (fbgemm): fuse, min/max activations, per-channel weights."""
    from torch.ao.quantization import QConfig, convert, default_observer, default_per_channel_weight_observer, prepare

    model.eval().fuse_model()  # type: ignore[operator]
    model.qconfig = QConfig(activation=default_observer, weight=default_per_channel_weight_observer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.ao.quantization's prepare/convert
        warnings.simplefilter("ignore", UserWarning)  # quantized tensor creation
        prepared = prepare(model)
        with torch.no_grad():
            for batch in batches:
                prepared(batch)
        return convert(prepared)


def run_quantization(settings: Settings) -> list[Row]:
    models = optional("examples.torchvision_models")
    name = "quantizable_shufflenet_v2_x0_5"
    if models is None or not hasattr(models, name) or "fbgemm" not in torch.backends.quantized.supported_engines:
        print("  quantization: the quantizable models or the fbgemm engine are missing, skipped")
        return []
    tv_quantization = optional("torchvision.models.quantization")
    # 64x64 at least: the quantized mean over a 1x1 map (32x32 inputs) fails in torch's kernel,
    # for torchvision's quantized ShuffleNetV2 as well.
    batch, size = (1, 64) if settings.tiny else (8, 224)
    previous_engine = torch.backends.quantized.engine
    torch.backends.quantized.engine = "fbgemm"  # the backend of torchvision's quantized weights
    try:
        torch.manual_seed(0)
        tvexp_float = getattr(models, name)().eval()
        if tv_quantization is not None:
            # torchvision's quantizable model, and tvexp's loading its float weights (same keys), so both
            # int8 models start from the same numbers.
            torchvision_float = tv_quantization.shufflenet_v2_x0_5(weights=None, quantize=False).eval()
            tvexp_float.load_state_dict(torchvision_float.state_dict(), strict=True)
        generator = torch.Generator().manual_seed(1)
        batches = [torch.randn(batch, 3, size, size, generator=generator) for _ in range(2)]
        x = torch.randn(batch, 3, size, size, generator=generator)
        candidates = {"tvexp float": tvexp_float, "tvexp int8": _eager_int8(copy.deepcopy(tvexp_float), batches)}
        if tv_quantization is not None:
            candidates["torchvision float"] = torchvision_float
            candidates["torchvision int8"] = _eager_int8(copy.deepcopy(torchvision_float), batches)
        with torch.no_grad():
            reference = tvexp_float(x)
            int8 = candidates["tvexp int8"](x)
            notes = f"tvexp int8 vs float cosine {F.cosine_similarity(int8.flatten(), reference.flatten(), dim=0):.4f}"
            if "torchvision int8" in candidates:
                difference = (int8 - candidates["torchvision int8"](x)).abs().max().item()
                notes += f"; max |tvexp int8 - torchvision int8| = {difference:.2e}"
        medians = interleaved({k: _inference(m, x) for k, m in candidates.items()}, settings.rounds, settings.calls)
    finally:
        torch.backends.quantized.engine = previous_engine
    return [Row("quantization", name, f"eager, fbgemm, batch {batch} at {size}x{size}", medians, notes=notes)]


# --------------------------------------------------------------------------- report


def ratio(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or denominator is None or denominator == 0:
        return ""
    return f"{numerator / denominator:.2f}"


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.3f} ms"


def _ratio_of(row: Row, other: str) -> str:
    if other in row.ratios:
        return f"{row.ratios[other]:.2f}"
    return ratio(row.medians.get("tvexp"), row.medians.get(other))


def markdown(rows: list[Row], header: str) -> str:
    lines = [header, ""]
    layer_rows = [r for r in rows if r.section == "layers"]
    if layer_rows:
        lines += [
            "## Stable layers (and prototype blocks) vs torchvision, timm and the floor",
            "",
            "Medians of the times; ratios are the medians over rounds of tvexp's time divided by the other's in "
            'the same round (below 1: tvexp is faster; "not slower" means at most 1.05).',
            "",
            "| layer | mode, format, pass | tvexp | torchvision | timm | floor | tvexp/torchvision | tvexp/timm | tvexp/floor |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in layer_rows:
            m = r.medians
            lines.append(
                f"| {r.case} | {r.variant} | {format_seconds(m.get('tvexp'))} | {format_seconds(m.get('torchvision'))} "
                f"| {format_seconds(m.get('timm'))} | {format_seconds(m.get('floor'))} "
                f"| {_ratio_of(r, 'torchvision')} | {_ratio_of(r, 'timm')} | {_ratio_of(r, 'floor')} |"
            )
        slower = [
            (r, other, m_ratio)
            for r in layer_rows
            for other in ("torchvision", "timm")
            if other in r.medians and (m_ratio := r.ratios.get(other, r.medians["tvexp"] / r.medians[other])) > 1.05
        ]
        lines += ["", "### Slower than a reference (ratio > 1.05)", ""]
        lines += [f"- {r.case}, {r.variant}: {m_ratio:.2f}x {other}" for r, other, m_ratio in slower] or ["- none"]
        speedups = [
            r
            for r in layer_rows
            if r.case.startswith("DropBlock") and "torchvision" in r.medians and r.variant.startswith("train")
        ]
        if speedups:
            lines += ["", "### DropBlock speed-up over torchvision (training)", ""]
            lines += [
                f"- {r.case}, {r.variant}: {r.medians['torchvision'] / r.medians['tvexp']:.1f}x faster"
                for r in speedups
            ]
    for section, title in (
        ("tier", "## Tier machinery"),
        ("import", "## Import time"),
        ("fusion", "## Conv-norm fusion (inference)"),
        ("quantization", "## Eager int8 quantization (inference)"),
    ):
        section_rows = [r for r in rows if r.section == section]
        if not section_rows:
            continue
        lines += ["", title, "", "| case | variant | medians | notes |", "|---|---|---|---|"]
        for r in section_rows:
            medians = ", ".join(f"{k}: {format_seconds(v)}" for k, v in r.medians.items())
            notes = r.notes
            if section == "import" and "tvexp.stable" in r.medians:
                notes = f"tvexp.stable adds {r.medians['tvexp.stable'] * 1e3:.1f} ms (target: at most 50 ms)"
            if section == "tier" and len(r.medians) == 2:
                a, b = r.medians.values()
                notes = (
                    f"ratio {a / b:.3f}, difference {format_seconds(a - b) if a >= b else '-' + format_seconds(b - a)}"
                )
            if section == "fusion":
                fused = r.medians.get("tvexp fused")
                others = {k: v for k, v in r.medians.items() if k != "tvexp fused"}
                notes += "; " + ", ".join(f"fused is {v / fused:.2f}x faster than {k}" for k, v in others.items())
            if section == "quantization":
                speedups = [
                    f"{owner} int8 is {r.medians[f'{owner} float'] / r.medians[f'{owner} int8']:.2f}x faster than float"
                    for owner in ("tvexp", "torchvision")
                    if f"{owner} int8" in r.medians
                ]
                notes = "; ".join([*speedups, notes])
            lines.append(f"| {r.case} | {r.variant} | {medians} | {notes} |")
    return "\n".join(lines) + "\n"


def chart(rows: list[Row], path: Path) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:
        return "matplotlib is not installed: chart skipped (install requirements-ref.txt for it)"
    layer_rows = [r for r in rows if r.section == "layers" and "forward" in r.variant]
    labels = [f"{r.case}\n{r.variant}" for r in layer_rows]
    candidates = ["torchvision", "timm", "floor"]
    fig, ax = plt.subplots(figsize=(10, max(4, 0.32 * len(labels))))
    height = 0.8 / len(candidates)
    for index, name in enumerate(candidates):
        values = [r.medians["tvexp"] / r.medians[name] if name in r.medians else 0 for r in layer_rows]
        ax.barh([i + index * height for i in range(len(labels))], values, height=height, label=f"tvexp / {name}")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks([i + height for i in range(len(labels))])
    ax.set_yticklabels(labels, fontsize=6)
    ax.set_xscale("log")
    ax.set_xlabel("time ratio (below 1: tvexp faster)")
    ax.legend(fontsize=7)
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return f"chart written to {path}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny sizes, one quick round (smoke test)")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "bench")
    parser.add_argument("--only", nargs="*", default=[], help="run only cases whose name contains one of these")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 15; tiny 2)")
    parser.add_argument("--calls", type=int, default=None, help="calls per candidate per round (default 3)")
    arguments = parser.parse_args(argv)
    torch.set_num_threads(THREADS)
    allocator = steady_allocator()
    settings = Settings(
        tiny=arguments.tiny,
        rounds=arguments.rounds or (2 if arguments.tiny else 15),
        calls=arguments.calls or (1 if arguments.tiny else 3),
        only=arguments.only,
    )
    tv, timm = optional("torchvision"), optional("timm")
    header = (
        f"# tvexp benchmarks\n\n{time.strftime('%Y-%m-%d %H:%M')}, torch {torch.__version__}, "
        f"torchvision {getattr(tv, '__version__', 'absent')}, timm {getattr(timm, '__version__', 'absent')}, "
        f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}, "
        f"{'tiny sizes' if settings.tiny else '8x64x56x56 feature maps, 64x196x256 tokens'}; "
        f"{settings.rounds} interleaved rounds of {settings.calls} call(s), medians; {allocator}."
    )
    if tv is None or timm is None:
        print("torchvision/timm not importable: comparing with the floor only where they are missing")
    rows: list[Row] = []
    arguments.out.mkdir(parents=True, exist_ok=True)
    for bench in layer_benches(settings.tiny):
        if settings.wanted(bench.name):
            print(f"- {bench.name}", flush=True)
            rows += run_layer(bench, settings)
            (arguments.out / "results.md").write_text(markdown(rows, header))  # so far, should a later case fail
    for name, runner in (
        ("tier", run_tier_overhead),
        ("import", run_import_time),
        ("fusion", run_fusion),
        ("quantization", run_quantization),
    ):
        if settings.wanted(name):
            print(f"- {name}", flush=True)
            rows += runner(settings)
    arguments.out.mkdir(parents=True, exist_ok=True)
    text = markdown(rows, header)
    (arguments.out / "results.md").write_text(text)
    print(text)
    print(chart(rows, arguments.out / "results.png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
