"""Records torchvision 0.29's basic layers for the parity tests (run by ``make parity-fixtures``).

One file per class, ``layers_<class>.pt``, maps a configuration name to what torchvision's module
did with it: its ``state_dict`` (with randomised weights and norm statistics), the ``(key, shape)``
list, an input, the eval-mode output, the input gradient for a fixed upstream gradient and, for
layers with batch norms, the training-mode output. ``CONFIGS`` below is shared with
``test_parity_layers.py``, which builds the tvexp layer from the same arguments; each record also
stores ``repr(args, kwargs)`` so a changed configuration is noticed before a stale fixture is trusted.

Only ``record`` imports torchvision; the rest of this module runs in the torch-only environment.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

__all__ = ["CONFIGS", "Config", "describe", "randomise", "record"]


class Config(NamedTuple):
    name: str
    cls: str  # class name, the same in torchvision.ops and tvexp.stable
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    input_shape: tuple[int, ...]
    load_batch_norm: int = 0  # FrozenBatchNorm2d only: load a BatchNorm2d(n) state dict first


CONFIGS: list[Config] = [
    Config("default", "Conv2dNormActivation", (3, 8), {}, (2, 3, 7, 7)),
    Config(
        "tuple_kernel_stride_groups_dilation_hardswish",
        "Conv2dNormActivation",
        (4, 8, (3, 5), (2, 1)),
        {"groups": 2, "dilation": (1, 2), "activation_layer": nn.Hardswish},
        (2, 4, 9, 10),
    ),
    Config(
        "no_norm_silu_stride2",
        "Conv2dNormActivation",
        (3, 6, 3, 2),
        {"norm_layer": None, "activation_layer": nn.SiLU},
        (2, 3, 8, 8),
    ),
    Config(
        "same_padding_even_kernel_partial_norm_no_act",
        "Conv2dNormActivation",
        (4, 4, 4),
        {"padding": "same", "norm_layer": functools.partial(nn.BatchNorm2d, eps=1e-3), "activation_layer": None},
        (2, 4, 6, 6),
    ),
    Config("default", "Conv3dNormActivation", (3, 4), {}, (2, 3, 3, 4, 4)),
    Config(
        "tuple_kernel_groups_no_norm_gelu",
        "Conv3dNormActivation",
        (4, 6, (1, 3, 3), (1, 2, 2)),
        {"groups": 2, "norm_layer": None, "activation_layer": nn.GELU, "inplace": None},
        (2, 4, 2, 6, 6),
    ),
    Config(
        "dilation_bias_relu6",
        "Conv3dNormActivation",
        (2, 4, 3),
        {"dilation": 2, "bias": True, "activation_layer": nn.ReLU6},
        (1, 2, 5, 5, 5),
    ),
    Config("default", "SqueezeExcitation", (8, 4), {}, (2, 8, 5, 5)),
    Config("silu_hardsigmoid", "SqueezeExcitation", (6, 2, nn.SiLU, nn.Hardsigmoid), {}, (2, 6, 4, 7)),
    Config("prelu", "SqueezeExcitation", (4, 3), {"activation": nn.PReLU}, (3, 4, 3, 3)),
    Config("default", "MLP", (8, [16, 4]), {}, (2, 3, 8)),
    Config(
        "layernorm_gelu_no_bias",
        "MLP",
        (8, [12, 10, 4], nn.LayerNorm, nn.GELU),
        {"bias": False, "dropout": 0.1},
        (3, 8),
    ),
    Config(
        "batchnorm_inplace",
        "MLP",
        (6, [10, 3]),
        {"norm_layer": nn.BatchNorm1d, "inplace": True},
        (4, 6),
    ),
    Config("nchw_to_nhwc", "Permute", ([0, 2, 3, 1],), {}, (2, 3, 4, 5)),
    Config("rotate", "Permute", ([2, 0, 1],), {}, (2, 3, 4)),
    Config("negative", "Permute", ([0, -1, 1, 2],), {}, (2, 3, 4, 5)),
    Config("random_buffers", "FrozenBatchNorm2d", (8,), {}, (2, 8, 4, 5)),
    Config("eps0", "FrozenBatchNorm2d", (3,), {"eps": 0.0}, (2, 3, 3, 3)),
    Config("from_batch_norm", "FrozenBatchNorm2d", (5,), {}, (2, 5, 3, 4), load_batch_norm=5),
]


def describe(config: Config) -> str:
    """A stable text form of the arguments (stored with the record; partials and classes by name)."""

    def text(value: Any) -> str:
        if isinstance(value, functools.partial):
            return f"partial({text(value.func)}, {value.args!r}, {sorted(value.keywords.items())!r})"
        if isinstance(value, type):
            return f"{value.__module__}.{value.__qualname__}"
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(text(item) for item in value) + "]"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{key}: {text(value[key])}" for key in sorted(value)) + "}"
        return repr(value)

    return f"{config.cls}({text(config.args)}, {text(config.kwargs)}) load_batch_norm={config.load_batch_norm}"


def randomise(module: nn.Module, generator: torch.Generator) -> None:
    """Random weights and norm statistics (running variances positive), so parity is not trivial."""
    with torch.no_grad():
        for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
            if not tensor.is_floating_point():
                continue
            values = torch.randn(tensor.shape, generator=generator, dtype=tensor.dtype)
            if name.endswith("running_var"):
                values = values.abs() + 0.5
            tensor.copy_(values)


def _gradient_and_output(module: nn.Module, x: torch.Tensor, grad_output: torch.Tensor) -> tuple[torch.Tensor, ...]:
    leaf = x.clone().requires_grad_(True)
    output = module(leaf)
    output.backward(grad_output)
    assert leaf.grad is not None
    return output.detach(), leaf.grad


def record(out_dir: Path) -> None:
    import torchvision.ops as tv

    out_dir = Path(out_dir)
    by_class: dict[str, dict[str, dict[str, Any]]] = {}
    for index, config in enumerate(CONFIGS):
        generator = torch.Generator().manual_seed(1000 + index)
        torch.manual_seed(index)
        module = getattr(tv, config.cls)(*config.args, **config.kwargs)
        if config.load_batch_norm:
            batch_norm = nn.BatchNorm2d(config.load_batch_norm)
            randomise(batch_norm, generator)
            batch_norm.num_batches_tracked.fill_(7)
            source_state = batch_norm.state_dict()
            module.load_state_dict(source_state, strict=True)
        else:
            randomise(module, generator)
            source_state = module.state_dict()
        x = torch.randn(config.input_shape, generator=generator)
        probe = module.eval()(x)
        grad_output = torch.randn(probe.shape, generator=generator)
        output, input_grad = _gradient_and_output(module.eval(), x, grad_output)
        entry: dict[str, Any] = {
            "spec": describe(config),
            "state_dict": {key: value.clone() for key, value in source_state.items()},
            "keys": [(key, tuple(value.shape)) for key, value in module.state_dict().items()],
            "input": x,
            "output": output,
            "grad_output": grad_output,
            "input_grad": input_grad,
            "repr": repr(module),
        }
        if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules()):
            train_module = getattr(tv, config.cls)(*config.args, **config.kwargs)
            train_module.load_state_dict(source_state)
            train_output, train_grad = _gradient_and_output(train_module.train(), x, grad_output)
            entry["train_output"] = train_output
            entry["train_input_grad"] = train_grad
            entry["train_state_dict"] = {key: value.clone() for key, value in train_module.state_dict().items()}
        by_class.setdefault(config.cls, {})[config.name] = entry

    for cls, entries in by_class.items():
        torch.save(entries, out_dir / f"layers_{cls.lower()}.pt")

    # StochasticDepth: the deterministic cases (eval, p=0, p=1); the distribution is tested in tests/layers.
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(4, 3, 2, 2, generator=generator)
    stochastic = {
        "input": x,
        "eval": tv.StochasticDepth(0.5, "row").eval()(x),
        "p0_row": tv.stochastic_depth(x, 0.0, "row", training=True),
        "p1_row": tv.stochastic_depth(x, 1.0, "row", training=True),
        "p1_batch": tv.stochastic_depth(x, 1.0, "batch", training=True),
        "keys": list(tv.StochasticDepth(0.1, "row").state_dict()),
        "repr": repr(tv.StochasticDepth(0.1, "row")),
    }
    torch.save(stochastic, out_dir / "layers_stochasticdepth.pt")
