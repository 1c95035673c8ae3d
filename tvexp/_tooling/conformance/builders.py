"""Builders shared by the conformance tables.

A case builds its layer through the public tier namespace, looked up when the case is built: the
tables stay import-light, the case exercises the path users import, and ``tvexp-api promote``
retargets a case by rewriting ``_prototype("Name", ...)`` to ``_stable("Name", ...)``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Mapping

from torch import nn

from tvexp.stable import SqueezeExcitation

__all__ = ["TierBuilder", "_prototype", "_stable", "v3_squeeze_excitation"]


@dataclass(frozen=True)
class TierBuilder:
    """Builds ``tvexp.<tier>.<layer_name>(*args, **kwargs)``: a case built by it names its class, and suites
    that vary one argument at a time (``tests/properties``) read the call's parts."""

    tier: str
    layer_name: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def layer_class(self) -> Any:
        """The public class (looked up when called, so a promotion's retargeting is seen)."""
        return getattr(importlib.import_module(f"tvexp.{self.tier}"), self.layer_name)

    def __call__(self) -> nn.Module:
        layer: nn.Module = self.layer_class()(*self.args, **self.kwargs)
        return layer


def _stable(name: str, *args: Any, **kwargs: Any) -> TierBuilder:
    """A builder for ``tvexp.stable.<name>(*args, **kwargs)``."""
    return TierBuilder("stable", name, args, kwargs)


def _prototype(name: str, *args: Any, **kwargs: Any) -> TierBuilder:
    """A builder for ``tvexp.prototype.<name>(*args, **kwargs)``."""
    return TierBuilder("prototype", name, args, kwargs)


def v3_squeeze_excitation(input_channels: int, squeeze_channels: int, **factory: Any) -> nn.Module:
    """MobileNetV3's squeeze-excitation (hard-sigmoid gate), as an ``se_layer`` builder."""
    return SqueezeExcitation(input_channels, squeeze_channels, scale_activation=nn.Hardsigmoid, **factory)
