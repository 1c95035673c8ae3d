"""Checking and calling the layer builders (``norm_layer``, ``activation_layer``, ...) that layers accept.

A builder is a class or a callable such as :func:`functools.partial` that returns a new
:class:`torch.nn.Module`. Builders are checked when a layer is constructed, so a wrong argument
fails with a message naming it instead of an obscure error deep inside ``__init__`` or ``forward``.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import torch
from torch import nn

from tvexp._api.validation import check_floating_dtype

__all__ = [
    "accepts_keyword",
    "build_activation",
    "build_layer",
    "check_builder",
]


def check_builder(builder: Any, name: str, *, optional: bool = True) -> None:
    """Raises ``TypeError`` unless ``builder`` is a class or callable (or ``None`` when ``optional``)."""
    if builder is None:
        if optional:
            return
        raise TypeError(f"{name} must be a class or a callable that builds an nn.Module, got None")
    if isinstance(builder, nn.Module):
        # Instances are callable (their forward), so without this check they would fail much later
        # with "forward() got an unexpected keyword argument" or build a shared module.
        kind = type(builder)
        module = "torch.nn" if kind.__module__.startswith("torch.nn.modules.") else kind.__module__
        raise TypeError(
            f"{name} must be a class or a callable that builds an nn.Module, got the module instance "
            f"{builder!r}; pass the class ({module}.{kind.__qualname__}) or a functools.partial of it instead"
        )
    if not callable(builder):
        raise TypeError(
            f"{name} must be a class or a callable that builds an nn.Module (or a functools.partial), "
            f"got {builder!r} of type {type(builder).__name__}"
        )


def _parameters(builder: Callable[..., Any]) -> dict[str, inspect.Parameter] | None:
    try:
        return dict(inspect.signature(builder).parameters)
    except (TypeError, ValueError):
        # Some builtins and C extensions expose no signature; callers then keep torchvision's behaviour.
        return None


def accepts_keyword(builder: Callable[..., Any], keyword: str) -> bool:
    """Whether ``builder(keyword=...)`` is accepted, judged from its signature.

    A builder with ``**kwargs``, or one whose signature cannot be read, is assumed to accept it
    (that is what torchvision assumes for every builder).
    """
    target = builder
    while isinstance(target, functools.partial):
        target = target.func
    if isinstance(target, type) and issubclass(target, nn.Module) and target.__init__ is nn.Module.__init__:
        # e.g. nn.Tanh, nn.Sigmoid: the signature shows Module.__init__(*args, **kwargs), which
        # exists only to reject unexpected arguments.
        return False
    parameters = _parameters(builder)
    if parameters is None:
        return True
    parameter = parameters.get(keyword)
    if parameter is not None:
        return parameter.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def _checked_module(module: Any, name: str) -> nn.Module:
    if not isinstance(module, nn.Module):
        raise TypeError(f"{name} must build an nn.Module, but it returned {type(module).__name__}")
    return module


def build_layer(
    builder: Callable[..., nn.Module],
    name: str,
    *args: Any,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    **kwargs: Any,
) -> nn.Module:
    """Calls ``builder(*args, **kwargs)`` and places the result on ``device``/``dtype``.

    The factory keywords are passed only when given, so builders without them keep working; a
    builder that does not accept them has its result moved with ``.to`` instead.
    """
    check_floating_dtype(dtype)
    pass_device = device is not None and accepts_keyword(builder, "device")
    pass_dtype = dtype is not None and accepts_keyword(builder, "dtype")
    direct: dict[str, Any] = {}
    if pass_device:
        direct["device"] = device
    if pass_dtype:
        direct["dtype"] = dtype
    module = _checked_module(builder(*args, **kwargs, **direct), name)
    move_device = None if pass_device else device
    move_dtype = None if pass_dtype else dtype
    if move_device is not None or move_dtype is not None:
        module = module.to(device=move_device, dtype=move_dtype)
    return module


def build_activation(
    builder: Callable[..., nn.Module],
    name: str,
    inplace: bool | None,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> nn.Module:
    """Builds an activation, passing ``inplace`` only when it is not ``None`` and the builder accepts it.

    torchvision passes ``inplace`` unconditionally, so ``nn.GELU``/``nn.Tanh`` fail with its default
    ``inplace=True``; reading the signature avoids that without catching (and hiding) a ``TypeError``
    raised by the builder itself.
    """
    kwargs: dict[str, Any] = {}
    if inplace is not None and accepts_keyword(builder, "inplace"):
        kwargs["inplace"] = inplace
    return build_layer(builder, name, device=device, dtype=dtype, **kwargs)
