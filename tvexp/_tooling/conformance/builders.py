"""Builders shared by the conformance tables.

A case builds its layer through the public tier namespace, looked up when the case is built: the
tables stay import-light, the case exercises the path users import, and ``tvexp-api promote``
retargets a case by rewriting ``_prototype("Name", ...)`` to ``_stable("Name", ...)``.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

from torch import nn

__all__ = ["TierBuilder", "_prototype", "_stable", "v3_squeeze_excitation"]


class TierBuilder:
    """Builds ``tvexp.<tier>.<name>(*args, **kwargs)``; keeps the call's parts for suites that vary
    one argument at a time (``tests/properties``)."""

    def __init__(self, tier: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.tier = tier
        self.name = name
        self.args = args
        self.kwargs = kwargs

    def layer_class(self) -> Any:
        return getattr(importlib.import_module(f"tvexp.{self.tier}"), self.name)

    def __call__(self) -> nn.Module:
        layer: nn.Module = self.layer_class()(*self.args, **self.kwargs)
        return layer


def _tier_builder(tier: str, name: str, *args: Any, **kwargs: Any) -> Callable[[], nn.Module]:
    return TierBuilder(tier, name, args, kwargs)


def _stable(name: str, *args: Any, **kwargs: Any) -> Callable[[], nn.Module]:
    """A builder for ``tvexp.stable.<name>(*args, **kwargs)``."""
    return _tier_builder("stable", name, *args, **kwargs)


def _prototype(name: str, *args: Any, **kwargs: Any) -> Callable[[], nn.Module]:
    """A builder for ``tvexp.prototype.<name>(*args, **kwargs)``."""
    return _tier_builder("prototype", name, *args, **kwargs)


def v3_squeeze_excitation(input_channels: int, squeeze_channels: int, **factory: Any) -> nn.Module:
    """MobileNetV3's squeeze-excitation (hard-sigmoid gate), as an ``se_layer`` builder."""
    from tvexp.stable import SqueezeExcitation

    return SqueezeExcitation(input_channels, squeeze_channels, scale_activation=nn.Hardsigmoid, **factory)
