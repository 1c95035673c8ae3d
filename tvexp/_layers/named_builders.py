"""Layer builders by name, for model configurations written as text (YAML files, command-line flags)."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import torch
from torch import nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import check_positive_int
from tvexp._layers.frozen_batch_norm import FrozenBatchNorm1d, FrozenBatchNorm2d, FrozenBatchNorm3d
from tvexp._layers.layer_norm_2d import LayerNorm2d

__all__ = ["layer_builder"]


def _group_norm(
    num_channels: int,
    *,
    num_groups: int,
    eps: float = 1e-5,
    affine: bool = True,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> nn.GroupNorm:
    """``nn.GroupNorm`` built from a channel count, as layers call their ``norm_layer``."""
    return nn.GroupNorm(num_groups, num_channels, eps=eps, affine=affine, device=device, dtype=dtype)


_ACTIVATIONS: dict[str, Callable[..., nn.Module]] = {
    "celu": nn.CELU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "hardsigmoid": nn.Hardsigmoid,
    "hardswish": nn.Hardswish,
    "identity": nn.Identity,
    "leakyrelu": nn.LeakyReLU,
    "mish": nn.Mish,
    "prelu": nn.PReLU,
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "selu": nn.SELU,
    "sigmoid": nn.Sigmoid,
    "silu": nn.SiLU,
    "softplus": nn.Softplus,
    "swish": nn.SiLU,
    "tanh": nn.Tanh,
}

_NORMS: dict[str, Callable[..., nn.Module]] = {
    "batchnorm": nn.BatchNorm2d,
    "batchnorm1d": nn.BatchNorm1d,
    "batchnorm2d": nn.BatchNorm2d,
    "batchnorm3d": nn.BatchNorm3d,
    "frozenbatchnorm": FrozenBatchNorm2d,
    "frozenbatchnorm1d": FrozenBatchNorm1d,
    "frozenbatchnorm2d": FrozenBatchNorm2d,
    "frozenbatchnorm3d": FrozenBatchNorm3d,
    "groupnorm": _group_norm,
    "instancenorm": nn.InstanceNorm2d,
    "instancenorm1d": nn.InstanceNorm1d,
    "instancenorm2d": nn.InstanceNorm2d,
    "instancenorm3d": nn.InstanceNorm3d,
    "layernorm": nn.LayerNorm,
    "layernorm2d": LayerNorm2d,
    "syncbatchnorm": nn.SyncBatchNorm,
}

# Options fixed by the layer that calls the builder, never by the configuration.
_RESERVED = {
    "num_features": "the layer passes the channel count",
    "num_channels": "the layer passes the channel count",
    "normalized_shape": "the layer passes the channel count",
    "inplace": "set the layer's own inplace argument",
    "device": "set the layer's device argument",
    "dtype": "set the layer's dtype argument",
}


def _key(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "").replace(" ", "")


def _valid_names() -> str:
    return f"activations: {', '.join(sorted(_ACTIVATIONS))}; norms: {', '.join(sorted(_NORMS))}"


@prototype(since="0.2.0")
def layer_builder(name: str, **options: Any) -> Callable[..., nn.Module]:
    """The builder of an activation or norm named by a string, for the ``*_layer`` arguments of any tvexp layer.

    Model configurations are often text; this maps their names to the classes (or
    :func:`functools.partial` objects) that ``activation_layer``, ``norm_layer``, ``activation``
    and the other builder arguments expect. Names ignore case, ``_`` and ``-`` (``"hard_swish"``,
    ``"BatchNorm2d"`` and ``"batchnorm2d"`` are the same).

    - Activations: ``"relu"``, ``"relu6"``, ``"leakyrelu"``, ``"prelu"``, ``"elu"``, ``"celu"``,
      ``"selu"``, ``"gelu"``, ``"silu"`` (also ``"swish"``), ``"mish"``, ``"hardswish"``,
      ``"hardsigmoid"``, ``"sigmoid"``, ``"tanh"``, ``"softplus"``, ``"identity"``.
    - Norms, built from a channel count: ``"batchnorm"`` (2-d; also ``"batchnorm1d"``/``"2d"``/``"3d"``),
      ``"syncbatchnorm"``, ``"frozenbatchnorm"`` (2-d; also ``1d``/``2d``/``3d``),
      ``"layernorm2d"`` (over the channels of ``(N, C, H, W)``), ``"layernorm"`` (over the last
      dimension, for :class:`~tvexp.stable.MLP` and linear blocks), ``"groupnorm"`` (needs
      ``num_groups``) and ``"instancenorm"`` (2-d; also ``1d``/``2d``/``3d``).

    Args:
        name: The layer's name, as above.
        **options: Keyword arguments of the layer bound into the builder (``eps=1e-3``,
            ``approximate="tanh"``, ``num_groups=32``, ...); checked against the layer's signature
            now, not when a model is built. The channel count, ``inplace``, ``device`` and
            ``dtype`` are passed by the layer that calls the builder, so they are rejected here.

    Returns:
        The class itself when there are no options, otherwise a :func:`functools.partial` of it.

    Raises:
        TypeError: ``name`` is not a string, or an option is unknown to the layer or reserved.
        ValueError: ``name`` is unknown (the message lists the valid names), or ``"groupnorm"``
            lacks a positive ``num_groups``.

    Example:
        >>> import tvexp.stable as tvs
        >>> config = {"act": "hard_swish", "norm": "groupnorm", "groups": 4}
        >>> block = tvs.Conv2dNormActivation(
        ...     3, 8,
        ...     norm_layer=layer_builder(config["norm"], num_groups=config["groups"]),
        ...     activation_layer=layer_builder(config["act"]),
        ... )
        >>> [type(m).__name__ for m in block]
        ['Conv2d', 'GroupNorm', 'Hardswish']
        >>> norm = layer_builder("batchnorm", eps=1e-3, momentum=0.01)(16)
        >>> type(norm).__name__, norm.eps, norm.momentum
        ('BatchNorm2d', 0.001, 0.01)
        >>> layer_builder("relu7")
        Traceback (most recent call last):
            ...
        ValueError: unknown layer name 'relu7'; valid names are activations: celu, elu, gelu, hardsigmoid, hardswish, identity, leakyrelu, mish, prelu, relu, relu6, selu, sigmoid, silu, softplus, swish, tanh; norms: batchnorm, batchnorm1d, batchnorm2d, batchnorm3d, frozenbatchnorm, frozenbatchnorm1d, frozenbatchnorm2d, frozenbatchnorm3d, groupnorm, instancenorm, instancenorm1d, instancenorm2d, instancenorm3d, layernorm, layernorm2d, syncbatchnorm
    """
    if not isinstance(name, str):
        raise TypeError(
            f"name must be a string naming an activation or a norm, got {name!r} of type {type(name).__name__}"
        )
    key = _key(name)
    target = _ACTIVATIONS.get(key) or _NORMS.get(key)
    if target is None:
        raise ValueError(f"unknown layer name {name!r}; valid names are {_valid_names()}")
    for option, reason in _RESERVED.items():
        if option in options:
            raise TypeError(f"layer_builder({name!r}) does not take {option}: {reason}")
    if target is _group_norm:
        if "num_groups" not in options:
            raise ValueError(
                "layer_builder('groupnorm') needs num_groups, e.g. layer_builder('groupnorm', num_groups=32)"
            )
        options["num_groups"] = check_positive_int(options["num_groups"], "num_groups")
    if isinstance(target, type) and target.__init__ is nn.Module.__init__:  # type: ignore[misc]
        # nn.Sigmoid, nn.Tanh, ...: Module.__init__(*args, **kwargs) only exists to reject arguments.
        parameters: Any = {}
    else:
        parameters = inspect.signature(target).parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    if not accepts_any:
        unknown = sorted(set(options) - set(parameters))
        if unknown:
            allowed = sorted(set(parameters) - set(_RESERVED) - {"self"})
            raise TypeError(
                f"layer_builder({name!r}) got unknown options {unknown}; {target.__name__} accepts "
                f"{', '.join(allowed) if allowed else 'no options'}"
            )
    if not options:
        return target
    return functools.partial(target, **options)
