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
An application opts in for the process (``opt_in()``), a library for its own code only
(``opt_in(scope="mylib")``), and ``opted_in()`` silences a block of code in its thread.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable, Literal, NamedTuple, TypeVar, cast

from tvexp._api.policy import PROTOTYPE_NAMESPACES, TIER_NAMESPACES
from tvexp._api.stacklevel import external_caller
from tvexp._api.versions import parse_version
from tvexp._api.warnings import PrototypeWarning

__all__ = [
    "Tier",
    "stable",
    "prototype",
    "tier_of",
    "opt_in",
    "opted_in",
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
        wrapped = python_side_wrapper(obj, functools.partial(_announce, obj, _qualified_name(obj)))
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
                if name in given and not _is_default(given[name], default):
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
    kind = "class" if fn.__name__ == "__init__" else "function"
    _warn_once(
        key,
        lambda: (
            f"{_public_owner(fn, owner)}({name}=...) is a prototype option of a stable {kind}: "
            "it may change in any release."
        ),
    )


def _public_owner(fn: Any, owner: str) -> str:
    """Where users reach the class or function that ``fn`` (its ``__init__``, or itself) belongs to."""
    for namespace in TIER_NAMESPACES:
        module = sys.modules.get(namespace)
        if module is None or owner not in getattr(module, "__all__", ()):
            continue
        exported = getattr(module, owner, None)
        candidate = vars(exported).get("__init__") if isinstance(exported, type) else exported
        while candidate is not None:
            if candidate is fn:
                return f"{namespace}.{owner}"
            candidate = getattr(candidate, "__wrapped__", None)
    return f"{fn.__module__}.{owner}"


# --------------------------------------------------------------------------- opt-in and warn-once
#
# A use of a prototype is attributed to the first stack frame outside tvexp (and torch.nn), the
# frame the warning points at. It is silent when the process opted in (``opt_in()`` or the
# environment variable), when that frame's module lies in a scope that opted in
# (``opt_in(scope="mylib")`` covers ``mylib`` and ``mylib.*``), or inside an ``opted_in()`` block
# of the current thread. Only the process-wide opt-in and an actual warning use up an object's
# single warning: a use silenced by a scope or a block leaves it for the user's own first use.


class _Scopes(NamedTuple):
    """The scopes that opted in for the process, with a cache of module name -> covered."""

    names: frozenset[str]
    covered: dict[str, bool]


class _Block(NamedTuple):
    """What an ``opted_in()`` block acknowledges in its thread: everything, or some scopes."""

    everything: bool
    names: frozenset[str]


_opted_in = False
_warned: set[str] = set()
_state = threading.local()
_lock = threading.Lock()  # guards changes of _scopes and the check-and-add of _warned before a warning
# Replaced as a whole under _lock, never changed in place, so that readers need no lock.
_scopes = _Scopes(frozenset(), {})
_block: contextvars.ContextVar[_Block | None] = contextvars.ContextVar("tvexp_prototype_opted_in", default=None)


def opt_in(*, scope: str | None = None) -> None:
    """Opts in to prototype objects: silences :class:`~tvexp.PrototypeWarning`.

    Without ``scope`` (an application), every use in the process is silent. Setting the
    environment variable ``TVEXP_PROTOTYPE_OPT_IN=1`` before the first use does the same.

    With ``scope`` (a library), only the uses from the code of that package are silent: a use
    belongs to the module of the first frame outside tvexp, the line the warning would point at,
    or to the module of the class being built when it subclasses a prototype class. ``"mylib"``
    covers ``mylib`` and its submodules ``mylib.*``. The library's users still see the warning,
    once, at their own first direct use of the same prototype. The opt-in cannot be undone; for a
    block of code, use :func:`opted_in`.

    Args:
        scope: a dotted module name (usually the library's top-level package, ``__name__`` in its
            ``__init__.py``), or ``None`` for the whole process.

    Example:
        >>> import tvexp.prototype
        >>> tvexp.prototype.opt_in(scope="mylib")  # in mylib/__init__.py: mylib's own uses only
        >>> tvexp.prototype.opt_in()  # in an application: every use in the process
    """
    global _opted_in, _scopes
    if scope is None:
        _opted_in = True
        return
    _check_scope(scope)
    with _lock:
        _scopes = _Scopes(_scopes.names | {scope}, {})


@contextlib.contextmanager
def opted_in(*, scope: str | None = None) -> Iterator[None]:
    """A block of code in which prototype objects do not warn; the previous state returns on exit.

    Without ``scope``, every use inside the block is silent; with ``scope``, the uses from that
    package's code (as for :func:`opt_in`). The block acts in the current thread only (precisely:
    the current :mod:`contextvars` context, so also per asyncio task): other threads keep warning.
    Blocks nest. A use silenced by a block does not use up the warning: the first use after the
    block still warns. The state is restored also when the block raises. Works as a decorator too.

    Args:
        scope: a dotted module name, or ``None`` for all code running in the block.

    Example:
        >>> import warnings
        >>> import tvexp
        >>> import tvexp.prototype as tvp
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     with tvp.opted_in():
        ...         norm = tvp.LayerNorm2d(8)
        >>> [w for w in caught if issubclass(w.category, tvexp.PrototypeWarning)]
        []
    """
    if scope is not None:
        _check_scope(scope)
    previous = _block.get()
    everything = scope is None or (previous is not None and previous.everything)
    names = previous.names if previous is not None else frozenset()
    _block.set(_Block(everything, names | {scope} if scope is not None else names))
    try:
        yield
    finally:
        _block.set(previous)


def is_opted_in() -> bool:
    """Whether the whole process opted in, by :func:`opt_in` without a scope or ``TVEXP_PROTOTYPE_OPT_IN``.

    Scoped opt-ins and :func:`opted_in` blocks silence only some uses and do not count here.
    """
    return _opted_in or os.environ.get(OPT_IN_ENVIRONMENT_VARIABLE, "").strip().lower() in ("1", "true", "yes")


def _check_scope(scope: object) -> None:
    if not isinstance(scope, str):
        raise TypeError(f"scope must be a module name (str) or None, got {type(scope).__name__} {scope!r}")
    if not all(part.isidentifier() for part in scope.split(".")):
        raise ValueError(f"scope must be a dotted module name such as 'mylib' or 'mylib.models', got {scope!r}")


def _within(module: str, names: frozenset[str]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in names)


def _silenced(*modules: str | None) -> bool:
    """Whether a use attributed to any of ``modules`` is acknowledged by a scope or a block."""
    block = _block.get()
    scopes = _scopes
    if block is None and not scopes.names:
        return False
    if block is not None and block.everything:
        return True
    for module in modules:
        if module is None:
            continue
        if block is not None and _within(module, block.names):
            return True
        covered = scopes.covered.get(module)
        if covered is None:
            covered = scopes.covered[module] = _within(module, scopes.names)
        if covered:
            return True
    return False


def _warn_once(key: str, text: Callable[[], str], owner_module: str | None = None) -> None:
    """Warns ``text()`` at the user's line unless silenced or ``key`` already warned (called from tvexp code)."""
    level, module = external_caller()
    if _silenced(module, owner_module):
        return
    # After the scopes: reading the environment costs more than finding the caller (microseconds).
    if is_opted_in():
        _warned.add(key)
        return
    with _lock:
        if key in _warned:
            return
        _warned.add(key)
    # level counts from this function, which calls warnings.warn
    warnings.warn(f"{text()} {_HINT}", PrototypeWarning, stacklevel=level)


_HINT = (
    f"Silence: tvexp.prototype.opt_in() or {OPT_IN_ENVIRONMENT_VARIABLE}=1 in an application, "
    'opt_in(scope="<package>") in a library.'
)


def _reset_for_tests() -> None:
    """Forgets the opt-ins, the block of this context and which objects already warned (tests only)."""
    global _opted_in, _scopes
    _opted_in = False
    _scopes = _Scopes(frozenset(), {})
    _block.set(None)
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


_CHANGES = {
    "class": "its name, arguments and checkpoint layout may change in any release.",
    "function": "its name and arguments may change in any release.",
}


def _announce(obj: Any, key: str, owner_module: str | None = None) -> None:
    """Warns once per prototype object (``key``), unless silenced or built internally.

    ``owner_module`` is the module of the class being built when it is a subclass of ``obj``.
    """
    if key in _warned or _depth() > 0:
        return
    kind = "class" if isinstance(obj, type) else "function"
    _warn_once(key, lambda: f"{_public_name(obj)} is a prototype {kind}: {_CHANGES[kind]}", owner_module)


def _wrap_constructor(cls: type[Any]) -> None:
    original_init = cls.__init__
    key = _qualified_name(cls)

    @functools.wraps(original_init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if key not in _warned and _depth() == 0:
            built = type(self)
            _announce(cls, key, built.__module__ if built is not cls else None)
        _state.depth = _depth() + 1
        try:
            original_init(self, *args, **kwargs)
        finally:
            _state.depth -= 1

    cls.__init__ = __init__


def _is_default(value: Any, default: Any) -> bool:
    """Whether ``value`` is the parameter's default; a value whose ``==`` is not a plain bool (a tensor,
    an array) is not the default, and its comparison never raises here (the layer's own check names it)."""
    if value is default:
        return True
    try:
        return bool(value == default) if type(value) is type(default) else False
    except Exception:  # an ambiguous truth value, a failing __eq__: not the default
        return False


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
