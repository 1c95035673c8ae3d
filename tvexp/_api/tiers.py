"""Stability tiers written in code: the ``@stable`` and ``@prototype`` markers and the opt-in.

A marker sits next to a definition and records its tier and the first release that ships it::

    @stable(since="0.1.0")
    class SqueezeExcitation(nn.Module): ...

    @prototype(since="0.1.0")
    class LayerNorm2d(nn.LayerNorm): ...

Prototype objects warn :class:`~tvexp.PrototypeWarning` once per object per process at their first
use. A class warns in its constructor; a function warns from a thin Python wrapper that is skipped
while scripting, tracing, exporting or compiling (so the function stays compilable). Nothing runs
inside ``forward``. Objects that a tvexp object builds internally do not warn on their own.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Literal, TypeVar, cast

from tvexp._api.policy import PROTOTYPE_NAMESPACES
from tvexp._api.stacklevel import external_stacklevel
from tvexp._api.versions import parse_version
from tvexp._api.warnings import PrototypeWarning

__all__ = [
    "Tier",
    "stable",
    "prototype",
    "tier_of",
    "opt_in",
    "is_opted_in",
    "internal_construction",
    "python_side_wrapper",
    "prototype_parameters",
]

T = TypeVar("T")
TierLevel = Literal["stable", "prototype"]
OPT_IN_ENVIRONMENT_VARIABLE = "TVEXP_PROTOTYPE_OPT_IN"
_TIER_ATTRIBUTE = "__tvexp_tier__"


@dataclass(frozen=True)
class Tier:
    """The tier of a public object and the first release that ships it in that tier."""

    level: TierLevel
    since: str

    def __post_init__(self) -> None:
        if self.level not in ("stable", "prototype"):
            raise ValueError(f"tier level must be 'stable' or 'prototype', got {self.level!r}")
        version = parse_version(self.since)
        if version.dev is not None:
            raise ValueError(f"since={self.since!r} must be a release (e.g. '0.2.0'), not a development version")


def tier_of(obj: Any) -> Tier | None:
    """The tier declared on ``obj`` itself (not inherited from a base class), or ``None``."""
    if isinstance(obj, type):
        return vars(obj).get(_TIER_ATTRIBUTE)
    return getattr(obj, _TIER_ATTRIBUTE, None)


def stable(*, since: str) -> Callable[[T], T]:
    """Marks a class or function as covered by the compatibility promise from release ``since``."""
    tier = Tier("stable", since)

    def mark(obj: T) -> T:
        _check_markable(obj)
        _set_tier(obj, tier)
        return obj

    return mark


def prototype(*, since: str) -> Callable[[T], T]:
    """Marks a class or function as a prototype first shipped in release ``since``.

    A class's constructor, or the function itself, warns :class:`~tvexp.PrototypeWarning` at
    the first use in the process unless the user opted in.
    """
    tier = Tier("prototype", since)

    def mark(obj: T) -> T:
        _check_markable(obj)
        if isinstance(obj, type):
            _wrap_constructor(obj)
            _set_tier(obj, tier)
            return obj
        assert callable(obj)  # _check_markable let only classes and functions through
        wrapped = python_side_wrapper(obj, functools.partial(_announce, obj))
        _set_tier(wrapped, tier)
        # The wrapper takes obj's place with obj's signature (functools.wraps), which T cannot express.
        return cast(T, wrapped)

    return mark


def prototype_parameters(**since_by_name: str) -> Callable[[T], T]:
    """Marks keyword parameters of a stable constructor or function as prototype options.

    New options on a stable object start in the prototype tier like new objects do: passing one
    (with any value other than its default) warns :class:`~tvexp.PrototypeWarning` once per
    parameter per process, and the API snapshot lists them as prototype, so changing them is not
    a breaking change. Apply to ``__init__`` (or the function) below the tier marker::

        @stable(since="0.1.0")
        class DropBlock2d(nn.Module):
            @prototype_parameters(shared_mask="0.1.0")
            def __init__(self, p: float, block_size: int, ..., shared_mask: bool = False): ...
    """
    for version in since_by_name.values():
        Tier("prototype", version)

    def mark(fn: T) -> T:
        signature = inspect.signature(fn)  # type: ignore[arg-type]
        defaults = {}
        for name in since_by_name:
            parameter = signature.parameters.get(name)
            if parameter is None or parameter.default is inspect.Parameter.empty:
                raise TypeError(f"{fn.__qualname__} has no optional parameter {name!r} to mark as prototype")  # type: ignore[attr-defined]
            defaults[name] = parameter.default
        # Binding positional arguments costs microseconds; it is needed only when a marked parameter
        # can be passed positionally (keyword-only ones, the usual case, are found in ``kwargs``).
        positional = any(signature.parameters[name].kind is not inspect.Parameter.KEYWORD_ONLY for name in defaults)
        owner = fn.__qualname__.rsplit(".__init__", 1)[0]  # type: ignore[attr-defined]

        def check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            if _depth() > 0:
                return
            given = signature.bind_partial(*args, **kwargs).arguments if positional and args else kwargs
            for name, default in defaults.items():
                if name in given and given[name] is not default and given[name] != default:
                    _announce_parameter(fn, owner, name)

        @functools.wraps(fn)  # type: ignore[arg-type]
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if (kwargs or (positional and args)) and not _is_graph_capture():
                check(args, kwargs)
            return fn(*args, **kwargs)  # type: ignore[operator]

        wrapper.__tvexp_prototype_parameters__ = {  # type: ignore[attr-defined]
            name: Tier("prototype", version) for name, version in since_by_name.items()
        }
        wrapper.__prepare_scriptable__ = lambda: fn  # type: ignore[attr-defined]  # scripting compiles fn itself
        return wrapper  # type: ignore[return-value]

    return mark


def _announce_parameter(fn: Any, owner: str, name: str) -> None:
    key = f"{fn.__module__}.{fn.__qualname__}:{name}"
    if key in _warned:
        return
    _warned.add(key)
    if is_opted_in():
        return
    warnings.warn(
        f"{owner}({name}=...) is a prototype option (tier 'prototype') of a stable object: it may "
        "change in any release. Call tvexp.prototype.opt_in() or set "
        f"{OPT_IN_ENVIRONMENT_VARIABLE}=1 to acknowledge this and silence the warning.",
        PrototypeWarning,
        stacklevel=external_stacklevel(),
    )


# --------------------------------------------------------------------------- opt-in and warn-once

_opted_in = False
_warned: set[str] = set()
_state = threading.local()


def opt_in() -> None:
    """Opts in to prototype layers for this process: silences :class:`~tvexp.PrototypeWarning`.

    Setting the environment variable ``TVEXP_PROTOTYPE_OPT_IN=1`` before the first use does the
    same, and so does an ordinary ``warnings.filterwarnings("ignore", category=tvexp.PrototypeWarning)``.

    Example:
        >>> import tvexp.prototype
        >>> tvexp.prototype.opt_in()
    """
    global _opted_in
    _opted_in = True


def is_opted_in() -> bool:
    """Whether prototype warnings are silenced by :func:`opt_in` or ``TVEXP_PROTOTYPE_OPT_IN``."""
    return _opted_in or os.environ.get(OPT_IN_ENVIRONMENT_VARIABLE, "").strip().lower() in ("1", "true", "yes")


def _reset_for_tests() -> None:
    """Forgets the opt-in and which objects already warned (tests only)."""
    global _opted_in
    _opted_in = False
    _warned.clear()


def _qualified_name(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def _public_name(obj: Any) -> str:
    """Where users reach ``obj``: the prototype namespace whose ``__all__`` lists it."""
    name = obj.__name__
    for namespace in PROTOTYPE_NAMESPACES:
        module = sys.modules.get(namespace)
        if module is not None and name in getattr(module, "__all__", ()):
            exported = getattr(module, name, None)
            if exported is obj or getattr(exported, "__wrapped__", None) is obj:
                return f"{namespace}.{name}"
    return _qualified_name(obj)


def _depth() -> int:
    return getattr(_state, "depth", 0)


class internal_construction:
    """While active, prototype objects built by tvexp code do not warn on their own.

    Prototype constructors and functions enter it around their own body; developer code that
    builds prototype objects on the user's behalf (a converter, a fusion pass) can enter it too.
    """

    __slots__ = ()

    def __enter__(self) -> None:
        _state.depth = _depth() + 1

    def __exit__(self, *exc: object) -> None:
        _state.depth = _depth() - 1


def _announce(obj: Any) -> None:
    """Warns once per prototype object per process, unless silenced or built internally."""
    key = _qualified_name(obj)
    if key in _warned or _depth() > 0:
        return
    _warned.add(key)
    if is_opted_in():
        return
    kind = "class" if isinstance(obj, type) else "function"
    warnings.warn(
        f"{_public_name(obj)} is a prototype {kind} (tier 'prototype'): its name, arguments and "
        "checkpoint layout may change in any release. Call tvexp.prototype.opt_in() or set "
        f"{OPT_IN_ENVIRONMENT_VARIABLE}=1 to acknowledge this and silence the warning.",
        PrototypeWarning,
        stacklevel=external_stacklevel(),
    )


def _wrap_constructor(cls: type[Any]) -> None:
    original_init = cls.__init__

    @functools.wraps(original_init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if _depth() == 0 and _qualified_name(cls) not in _warned:
            _announce(cls)
        _state.depth = _depth() + 1
        try:
            original_init(self, *args, **kwargs)
        finally:
            _state.depth -= 1

    cls.__init__ = __init__


def _is_graph_capture() -> bool:
    import torch  # local import: `import tvexp` and the tier machinery must not load torch

    return torch.jit.is_scripting() or torch.jit.is_tracing() or torch.compiler.is_compiling()


def python_side_wrapper(fn: Callable[..., T], before_call: Callable[[], None]) -> Callable[..., T]:
    """Wraps ``fn`` so that ``before_call()`` runs first in eager Python only.

    The check is skipped while scripting, tracing, exporting or compiling, and
    ``torch.jit.script`` compiles ``fn`` itself (through ``__prepare_scriptable__``), so the
    wrapper never reaches a graph.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        if not _is_graph_capture():
            before_call()
            _state.depth = _depth() + 1
            try:
                return fn(*args, **kwargs)
            finally:
                _state.depth -= 1
        return fn(*args, **kwargs)

    wrapper.__prepare_scriptable__ = lambda: fn  # type: ignore[attr-defined]
    return wrapper


def _check_markable(obj: Any) -> None:
    if not (isinstance(obj, type) or inspect.isfunction(obj)):
        raise TypeError(f"tier markers apply to classes and functions, got {type(obj).__name__}")
    if _TIER_ATTRIBUTE in vars(obj):
        raise TypeError(f"{_qualified_name(obj)} already carries a tier marker")


def _set_tier(obj: Any, tier: Tier) -> None:
    setattr(obj, _TIER_ATTRIBUTE, tier)
    obj.__doc__ = _with_tier_note(obj.__doc__, tier)


def _with_tier_note(doc: str | None, tier: Tier) -> str:
    body = inspect.cleandoc(doc) if doc else ""
    if tier.level == "stable":
        note = (
            f".. admonition:: Stable since {tier.since}\n\n"
            "   Covered by the compatibility promise: removed or changed only after a deprecation\n"
            "   that spans at least two minor releases."
        )
    else:
        note = (
            f".. admonition:: Prototype since {tier.since}\n\n"
            "   May change in any release. Warns ``tvexp.PrototypeWarning`` once per process;\n"
            "   call ``tvexp.prototype.opt_in()`` to acknowledge and silence it."
        )
    return f"{body}\n\n{note}\n" if body else note + "\n"
