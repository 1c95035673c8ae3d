"""Fusion groups for eager-mode quantization and the pieces the quantizable blocks share.

``torch.ao.quantization.fuse_modules`` fuses runs of exactly typed modules (``Conv2d`` + ``BatchNorm2d``
+ ``ReLU``, ``Linear`` + ``BatchNorm1d``, ``Linear`` + ``ReLU``, ...). The helpers here find such runs
inside tvexp blocks, so every ``fuse_model`` picks the groups the same way.
"""

from __future__ import annotations

import copy
from typing import Iterable, Sequence

from torch import Tensor, nn
from torch.ao.nn.intrinsic import _FusedModule
from torch.ao.nn.quantized import FloatFunctional
from torch.ao.quantization import fuse_modules, fuse_modules_qat

__all__ = [
    "QuantizableSiLU",
    "check_stateless",
    "fusable_run",
    "fuse_groups",
    "fuse_nested",
    "fuse_sequential",
    "stateless_copy",
    "swap_silu",
]

# Which norm may follow which layer, and which activation ends a fusable run (exact types, as torch's
# fuser method table is keyed by exact types).
_NORM_AFTER = {
    nn.Conv1d: nn.BatchNorm1d,
    nn.Conv2d: nn.BatchNorm2d,
    nn.Conv3d: nn.BatchNorm3d,
    nn.Linear: nn.BatchNorm1d,
}


def fusable_run(modules: Sequence[nn.Module]) -> int:
    """How many leading modules of ``modules`` ``fuse_modules`` can fuse into one (0 when fewer than 2).

    The run is a convolution or linear layer, then optionally its batch norm, then optionally
    :class:`torch.nn.ReLU`. Other activations (ReLU6, Hardswish, SiLU, ...) have no fused form and stay
    separate quantized modules.
    """
    if not modules or type(modules[0]) not in _NORM_AFTER:
        return 0
    length = 1
    if length < len(modules) and type(modules[length]) is _NORM_AFTER[type(modules[0])]:
        length += 1
    # torch fuses Linear+BatchNorm1d and Linear+ReLU but not the triple.
    if (
        length < len(modules)
        and type(modules[length]) is nn.ReLU
        and not (type(modules[0]) is nn.Linear and length == 2)
    ):
        length += 1
    return length if length > 1 else 0


def fuse_groups(module: nn.Module, groups: Iterable[Sequence[str]], is_qat: bool | None) -> None:
    """Fuses each group of submodule names in place (``fuse_modules_qat`` when ``is_qat``).

    ``is_qat=None`` follows ``module.training``, as torchvision's quantizable models do.
    """
    groups = [list(group) for group in groups if len(group) > 1]
    if not groups:
        return
    if is_qat is None:
        is_qat = module.training
    (fuse_modules_qat if is_qat else fuse_modules)(module, groups, inplace=True)


def fuse_sequential(sequential: nn.Module, is_qat: bool | None) -> None:
    """Fuses every run of ``Conv/Linear [+ BatchNorm] [+ ReLU]`` children of a Sequential."""
    names = list(sequential._modules)
    children = [sequential._modules[name] for name in names]
    groups = []
    index = 0
    while index < len(children):
        length = fusable_run(children[index:])  # type: ignore[arg-type]
        if length:
            groups.append(names[index : index + length])
            index += length
        else:
            index += 1
    fuse_groups(sequential, groups, is_qat)


def fuse_nested(module: nn.Module, is_qat: bool | None) -> None:
    """Calls ``fuse_model`` on each direct or nested quantizable child, else fuses plain Sequentials."""
    if is_qat is None:
        is_qat = module.training
    for child in module.children():
        if isinstance(child, _FusedModule):
            continue
        fuse = getattr(child, "fuse_model", None)
        if callable(fuse):
            fuse(is_qat)
        elif isinstance(child, nn.Sequential):
            fuse_sequential(child, is_qat)
            fuse_nested(child, is_qat)


def check_stateless(module: nn.Module, name: str) -> None:
    """Raises ``ValueError`` when an activation that a quantizable block must call twice has state."""
    if any(True for _ in module.parameters()) or any(True for _ in module.buffers()):
        raise ValueError(
            f"{name} must build an activation without parameters or buffers for a quantizable block "
            f"(each call gets its own module so it can be observed), got {module!r}"
        )


def stateless_copy(module: nn.Module) -> nn.Module:
    """A separate instance of a parameter-free activation, for a second call site."""
    return copy.deepcopy(module)


class QuantizableSiLU(nn.Module):
    """SiLU written as ``x * sigmoid(x)`` with an observable multiplication.

    Quantized tensors have no ``silu`` kernel in eager mode, but they have ``sigmoid`` and
    :class:`~torch.ao.nn.quantized.FloatFunctional` multiplication. In float it computes exactly
    :func:`torch.nn.functional.silu` up to rounding; it has no parameters, so checkpoints do not change.
    """

    def __init__(self) -> None:
        super().__init__()
        self.sigmoid = nn.Sigmoid()
        self.mul = FloatFunctional()

    def forward(self, input: Tensor) -> Tensor:
        return self.mul.mul(input, self.sigmoid(input))


def swap_silu(module: nn.Module) -> None:
    """Replaces every :class:`torch.nn.SiLU` below ``module`` with :class:`QuantizableSiLU`, in place."""
    for name, child in list(module.named_children()):
        if type(child) is nn.SiLU:
            setattr(module, name, QuantizableSiLU())
        else:
            swap_silu(child)
