"""Entries of the conformance table and the names of the checks the battery runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import torch
from torch import Tensor, nn

__all__ = ["LayerCase", "LossCase", "seeded", "randn"]


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
        id: ``ClassName/short-description`` (a readable test id).
        build: Builds the layer (called under a seeded RNG); a ``TierBuilder`` (``_stable("Name", ...)``,
            ``_prototype("Name", ...)``) or a class names the case's class.
        layer: The public class name, where ``build`` does not name it.
        inputs: Builds the forward inputs (deterministic); tensors may sit in dicts, lists and tuples
            (a feature pyramid's dict of levels), which the checks cast, convert and rebatch leaf by leaf.
        output_shape: Expected output shape; for a structured output (a dict, list or tuple) the same
            structure with each tensor replaced by its shape and other values as they are, e.g.
            ``{"0": (2, 8, 8, 8), "pool": (2, 8, 4, 4)}``.
        stochastic: The layer is random in training mode (compare outputs in eval mode only).
        reference: This case's state_dict schema goes into the API snapshot (one per class).
        tags: Opt-in to expensive checks: ``"inductor"``, ``"onnx"``.
        expected_failures: ``check -> reason`` for declared known limits.
        dynamic_batch: Whether ``torch.export`` can use a dynamic batch dimension.
        rejects: Recorded bad uses, ``description -> call`` that must raise (a bad constructor argument,
            a wrong input); the exception type of a reference case's entries goes into the API snapshot,
            so changing it is a reviewed (for stable layers, breaking) change.
    """

    id: str
    build: Callable[[], nn.Module]
    inputs: Callable[[], tuple[Any, ...]]
    output_shape: tuple[Any, ...] | Mapping[str, tuple[int, ...]]
    layer: str | None = field(default=None, kw_only=True)
    stochastic: bool = False
    reference: bool = False
    tags: frozenset[str] = field(default_factory=frozenset)
    expected_failures: Mapping[str, str] = field(default_factory=dict)
    dynamic_batch: bool = True
    rejects: Mapping[str, Callable[[], Any]] = field(default_factory=dict, kw_only=True)

    @property
    def class_name(self) -> str:
        """The public class this case configures."""
        name = self.layer or getattr(self.build, "layer_name", None)
        if name is None and isinstance(self.build, type):
            name = self.build.__name__
        if name is None:
            raise ValueError(f"case {self.id!r}: build it with _stable/_prototype or name its class with layer=")
        return str(name)


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
        none_shape: The output shape for ``reduction="none"``, from ``(prediction, target)``;
            ``"mean"`` and ``"sum"`` give a scalar.
        degenerate_inputs: Inputs at the edge of the domain (empty or inverted boxes, ...) on which
            the loss and its gradients must stay finite; ``None`` if the loss has no such edge.
        gradcheck_inputs: float64 inputs (requiring grad where differentiable) on which finite
            differences are valid; ``None``: the case's inputs in float64.
        output_dtype: The dtype of the output whatever the input's (box losses compute in float32,
            as torchvision does); ``None``: the input's dtype.
    """

    id: str
    function: Callable[..., Tensor]
    inputs: Callable[[], tuple[Tensor, ...]]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    module: type[nn.Module] | None = None
    tags: frozenset[str] = field(default_factory=frozenset)
    expected_failures: Mapping[str, str] = field(default_factory=dict)
    rejects: Mapping[str, Callable[[], Any]] = field(default_factory=dict, kw_only=True)
    none_shape: Callable[[Tensor, Tensor], tuple[int, ...]] = field(kw_only=True)
    degenerate_inputs: Callable[[], tuple[Tensor, Tensor]] | None = field(default=None, kw_only=True)
    gradcheck_inputs: Callable[[], tuple[Tensor, ...]] | None = field(default=None, kw_only=True)
    output_dtype: torch.dtype | None = field(default=None, kw_only=True)

    @property
    def function_name(self) -> str:
        """The public function's name (the case's function may be a prototype wrapper)."""
        return str(getattr(self.function, "__wrapped__", self.function).__name__)
