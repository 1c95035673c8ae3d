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
import importlib
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
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


def interleaved(candidates: dict[str, Callable[[], Any]], rounds: int, calls: int, warmup: int = 1) -> dict[str, float]:
    """Median seconds per call of each candidate; candidates alternate within every round."""
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
    return {name: statistics.median(values) for name, values in samples.items()}


@dataclass
class Row:
    section: str
    case: str
    variant: str
    medians: dict[str, float]  # candidate -> seconds
    notes: str = ""


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


def _module_builder(module_name: str, name: str, *args: Any, **kwargs: Any) -> Callable[[], nn.Module] | None:
    """A builder for ``module_name.name(*args, **kwargs)`` (a model-internal block), or None when absent."""
    module = optional(module_name)
    if module is None or not hasattr(module, name):
        return None
    return lambda: getattr(module, name)(*args, **kwargs)


def layer_benches(tiny: bool) -> list[LayerBench]:
    tvs = optional("tvexp.stable")
    tvp = optional("tvexp.prototype")
    ops = optional("torchvision.ops")
    tv_models = optional("torchvision.models")
    timm_layers = optional("timm.layers")
    n, c, h = (2, 8, 8) if tiny else (8, 64, 56)
    batch, tokens, dim = (2, 4, 16) if tiny else (64, 196, 256)
    heads = 2 if tiny else 8
    feature = lambda: torch.randn(n, c, h, h)  # noqa: E731
    volume = lambda: torch.randn(n, c // 2, max(h // 7, 2), h // 2, h // 2)  # noqa: E731
    token_batch = lambda: torch.randn(batch, tokens, dim)  # noqa: E731

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

    return [
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
    ]


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
                medians = interleaved(candidates, settings.rounds, settings.calls)
                rows.append(Row("layers", bench.name, f"{mode} {memory_format} {pass_name}", medians))
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


def markdown(rows: list[Row], header: str) -> str:
    lines = [header, ""]
    layer_rows = [r for r in rows if r.section == "layers"]
    if layer_rows:
        lines += [
            "## Stable layers (and prototype blocks) vs torchvision, timm and the floor",
            "",
            "Medians; ratios are tvexp's time divided by the other's (below 1: tvexp is faster; "
            '"not slower" means at most 1.05).',
            "",
            "| layer | mode, format, pass | tvexp | torchvision | timm | floor | tvexp/torchvision | tvexp/timm | tvexp/floor |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in layer_rows:
            m = r.medians
            lines.append(
                f"| {r.case} | {r.variant} | {format_seconds(m.get('tvexp'))} | {format_seconds(m.get('torchvision'))} "
                f"| {format_seconds(m.get('timm'))} | {format_seconds(m.get('floor'))} "
                f"| {ratio(m.get('tvexp'), m.get('torchvision'))} | {ratio(m.get('tvexp'), m.get('timm'))} "
                f"| {ratio(m.get('tvexp'), m.get('floor'))} |"
            )
        slower = [
            (r, other, m_ratio)
            for r in layer_rows
            for other in ("torchvision", "timm")
            if other in r.medians and (m_ratio := r.medians["tvexp"] / r.medians[other]) > 1.05
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
        f"{settings.rounds} interleaved rounds of {settings.calls} call(s), medians."
    )
    if tv is None or timm is None:
        print("torchvision/timm not importable: comparing with the floor only where they are missing")
    rows: list[Row] = []
    for bench in layer_benches(settings.tiny):
        if settings.wanted(bench.name):
            print(f"- {bench.name}", flush=True)
            rows += run_layer(bench, settings)
    for name, runner in (("tier", run_tier_overhead), ("import", run_import_time), ("fusion", run_fusion)):
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
