"""Entries of the conformance table and the names of the checks the battery runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import torch
from torch import Tensor, nn

__all__ = ["CHECKS", "LayerCase", "LossCase", "seeded", "randn"]

# Every check the battery knows. An entry declares a known limit as ``expected_failures[check] = reason``;
# the battery turns it into a strict xfail, so a limit that goes away is noticed too.
CHECKS = (
    "shape",  # output shape
    "gradients",  # every parameter that requires grad receives a finite gradient
    "float64",  # float64 module and input
    "bfloat16",  # bfloat16 module and input
    "state_dict",  # state_dict round trip into a differently initialised instance
    "pickle",  # pickle and copy.deepcopy round trips
    "script",  # torch.jit.script equals eager
    "export",  # torch.export with a dynamic batch dimension equals eager
    "compile",  # torch.compile(fullgraph=True, backend="eager"), zero graph breaks
    "inductor",  # torch.compile(fullgraph=True) with inductor (only for cases tagged "inductor")
    "fx",  # torch.fx.symbolic_trace equals eager
    "onnx",  # dynamo ONNX export checked with onnxruntime (only for cases tagged "onnx")
    "channels_last",  # channels_last input gives the same result, and keeps the format where ops do
    "train_eval",  # train/eval semantics as documented (deterministic layers: equal outputs)
    "meta",  # construction on the meta device, then to_empty + reset_parameters
    "repr",  # repr names the class and is not the bare default
)


def randn(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> Tensor:
    """A deterministic normal tensor (its own generator, so tests do not disturb each other)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=dtype)


def seeded(build: Callable[[], Any], seed: int = 0) -> Any:
    """Calls ``build`` with the global RNG seeded, so weights are reproducible; restores the RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


@dataclass(frozen=True)
class LayerCase:
    """One configuration of one public layer.

    Attributes:
        id: ``ClassName/short-description``; the class name prefix groups cases.
        build: Builds the layer (called under a seeded RNG).
        inputs: Builds the forward inputs (deterministic).
        output_shape: Expected output shape.
        stochastic: The layer is random in training mode (compare outputs in eval mode only).
        reference: This case's state_dict schema goes into the API snapshot (one per class).
        tags: Opt-in to expensive checks: ``"inductor"``, ``"onnx"``.
        expected_failures: ``check -> reason`` for declared known limits.
        dynamic_batch: Whether ``torch.export`` can use a dynamic batch dimension.
    """

    id: str
    build: Callable[[], nn.Module]
    inputs: Callable[[], tuple[Tensor, ...]]
    output_shape: tuple[int, ...]
    stochastic: bool = False
    reference: bool = False
    tags: frozenset[str] = field(default_factory=frozenset)
    expected_failures: Mapping[str, str] = field(default_factory=dict)
    dynamic_batch: bool = True

    @property
    def class_name(self) -> str:
        return self.id.split("/", 1)[0]


@dataclass(frozen=True)
class LossCase:
    """One configuration of one public loss, in function form and (where it exists) module form.

    Attributes:
        id: ``function_name/short-description``.
        function: The public loss function.
        inputs: Builds ``(prediction, target)`` (deterministic; prediction requires grad where float).
        kwargs: Keyword arguments for the function (and the module's constructor).
        module: The public module form, if any; ``module(**kwargs)(prediction, target)`` must equal
            ``function(prediction, target, **kwargs)``.
        tags / expected_failures: as for :class:`LayerCase`.
    """

    id: str
    function: Callable[..., Tensor]
    inputs: Callable[[], tuple[Tensor, ...]]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    module: type[nn.Module] | None = None
    tags: frozenset[str] = field(default_factory=frozenset)
    expected_failures: Mapping[str, str] = field(default_factory=dict)
