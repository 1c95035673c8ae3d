"""The deprecation toolkit: deprecated objects, renamed and removed arguments, moved names and
state-dict migrations, all following one policy and all warning :class:`~tvexp.TvexpDeprecationWarning`.

Policy (checked when a deprecation is declared):

* a **stable** object, parameter or behaviour is removed only after a deprecation that spans at
  least :data:`MINIMUM_DEPRECATION_MINORS` minor releases (deprecated in 0.3, removed in 0.5 at
  the earliest);
* a **promoted** prototype name keeps working from its old path for one minor release;
* **prototype** objects may change in any release.

Every declaration is recorded in :data:`REGISTRY`, which the expiry test, ``tvexp-api
deprecations`` and the API snapshot read.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, TypeVar, cast

from tvexp._api.moved_names import MOVED_NAME_ROWS
from tvexp._api.policy import MINIMUM_DEPRECATION_MINORS, MOVED_NAME_MINORS
from tvexp._api.stacklevel import external_stacklevel
from tvexp._api.tiers import python_side_wrapper
from tvexp._api.versions import minor_distance, parse_version
from tvexp._api.warnings import TvexpDeprecationWarning

__all__ = [
    "MINIMUM_DEPRECATION_MINORS",
    "MOVED_NAME_MINORS",
    "Deprecation",
    "MovedName",
    "REGISTRY",
    "MOVED_NAMES",
    "check_policy",
    "deprecated_object",
    "renamed_parameter",
    "removed_parameter",
    "moved_name_getattr",
    "StateDictMigration",
    "migrate_state_dict",
    "warn_deprecated",
]

T = TypeVar("T")
DeprecationKind = Literal["object", "parameter", "moved-name", "state-dict"]


@dataclass(frozen=True)
class Deprecation:
    """One declared deprecation: what, since which release, removed in which, and what instead."""

    kind: DeprecationKind
    symbol: str
    since: str
    removed_in: str
    instead: str | None = None
    detail: str = ""


REGISTRY: list[Deprecation] = []


def check_policy(
    since: str, removed_in: str, *, minimum_minors: int = MINIMUM_DEPRECATION_MINORS, what: str = ""
) -> None:
    """Raises ``ValueError`` if ``removed_in`` comes too soon after ``since`` for the policy."""
    parse_version(since)
    parse_version(removed_in)
    distance = minor_distance(since, removed_in)
    if distance < minimum_minors:
        start = parse_version(since)
        earliest = f"{start.major}.{start.minor + minimum_minors}.0"
        raise ValueError(
            f"removed_in={removed_in!r} is {distance} minor release(s) after since={since!r}"
            f"{' for ' + what if what else ''}; the deprecation policy needs at least "
            f"{minimum_minors}: the earliest allowed removed_in is {earliest!r}"
        )


def warn_deprecated(message: str, *, since: str, removed_in: str, stacklevel: int | None = None) -> None:
    """Warns :class:`~tvexp.TvexpDeprecationWarning` at the first frame outside tvexp."""
    warnings.warn(
        TvexpDeprecationWarning(message, since=since, removed_in=removed_in),
        stacklevel=stacklevel if stacklevel is not None else external_stacklevel(),
    )


def _message(subject: str, since: str, removed_in: str, instead: str | None) -> str:
    text = f"{subject} is deprecated since tvexp {since} and will be removed in {removed_in}"
    return text + (f"; use {instead} instead." if instead else ".")


def _symbol(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


# --------------------------------------------------------------------------- objects


def deprecated_object(
    *, since: str, removed_in: str, instead: str | None = None, name: str | None = None
) -> Callable[[T], T]:
    """Deprecates a class, function or method at run time.

    Stack it **above** ``typing_extensions.deprecated(message, category=None)`` with the same
    message, so that static type checkers (PEP 702) see the deprecation too; this decorator
    checks that both say the same and refuses a ``removed_in`` that breaks the policy::

        @deprecated_object(since="0.3.0", removed_in="0.5.0", instead="tvexp.stable.New",
                           name="tvexp.stable.Old")
        @typing_extensions.deprecated(
            "tvexp.stable.Old is deprecated since tvexp 0.3.0 and will be removed in 0.5.0; "
            "use tvexp.stable.New instead.", category=None)
        class Old(nn.Module): ...

    ``tvexp-api deprecate NAME`` writes both lines. A class warns when it is instantiated
    (once per call site, as Python's filters decide), a function when it is called. ``name`` is
    the public path users know (default: the defining module and qualified name).
    """
    check_policy(since, removed_in)

    def decorate(obj: T) -> T:
        static_message = getattr(obj, "__deprecated__", None)
        public = name or _symbol(obj)
        message = _message(public, since, removed_in, instead)
        if static_message is None:
            raise TypeError(
                f"{_symbol(obj)}: put @typing_extensions.deprecated({message!r}, category=None) "
                "below @deprecated_object so that type checkers see the deprecation"
            )
        if static_message != message:
            raise ValueError(f"{_symbol(obj)}: the PEP 702 message {static_message!r} differs from {message!r}")
        REGISTRY.append(Deprecation("object", public, since, removed_in, instead))

        def warn() -> None:
            warn_deprecated(message, since=since, removed_in=removed_in)

        if isinstance(obj, type):
            cls: type[Any] = obj
            original_init = cls.__init__

            @functools.wraps(original_init)
            def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
                warn_deprecated(message, since=since, removed_in=removed_in)
                original_init(self, *args, **kwargs)

            cls.__init__ = __init__
            cls.__tvexp_deprecation__ = REGISTRY[-1]
            return obj
        assert callable(obj)  # a function or method here: this decorator is for classes and callables
        wrapped = python_side_wrapper(obj, warn)
        wrapped.__tvexp_deprecation__ = REGISTRY[-1]  # type: ignore[attr-defined]
        # The wrapper takes obj's place with obj's signature (functools.wraps), which T cannot express.
        return cast(T, wrapped)

    return decorate


# --------------------------------------------------------------------------- parameters


def renamed_parameter(*, old: str, new: str, since: str, removed_in: str) -> Callable[[T], T]:
    """Accepts the keyword ``old`` as ``new`` until ``removed_in``, warning with the new name.

    Apply to a function, a method or a class's ``__init__``. Passing both names is a ``TypeError``.
    """
    check_policy(since, removed_in, what=f"parameter {old!r}")

    def decorate(fn: T) -> T:
        if new not in inspect.signature(fn).parameters:  # type: ignore[arg-type]
            raise TypeError(f"{_symbol(fn)} has no parameter {new!r} to rename {old!r} to")
        subject = f"{_owner_name(fn)}({old}=...)"
        message = _message(subject, since, removed_in, f"{new}=")
        REGISTRY.append(Deprecation("parameter", f"{_symbol(fn)}:{old}", since, removed_in, new, "renamed"))

        @functools.wraps(fn)  # type: ignore[arg-type]
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if old in kwargs:
                if new in kwargs:
                    raise TypeError(f"{_owner_name(fn)}() got both {old!r} (deprecated) and {new!r}; pass only {new!r}")
                warn_deprecated(message, since=since, removed_in=removed_in)
                kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)  # type: ignore[operator]

        _record_parameter_deprecation(wrapper, old, REGISTRY[-1])
        return wrapper  # type: ignore[return-value]

    return decorate


def removed_parameter(*, name: str, since: str, removed_in: str, instead: str | None = None) -> Callable[[T], T]:
    """Accepts and ignores the keyword ``name`` until ``removed_in``, warning that it has no effect."""
    check_policy(since, removed_in, what=f"parameter {name!r}")

    def decorate(fn: T) -> T:
        if name in inspect.signature(fn).parameters:  # type: ignore[arg-type]
            raise TypeError(f"{_symbol(fn)} still has parameter {name!r}; remove it from the signature first")
        subject = f"{_owner_name(fn)}({name}=...)"
        message = _message(subject, since, removed_in, instead) + " It has no effect."
        REGISTRY.append(Deprecation("parameter", f"{_symbol(fn)}:{name}", since, removed_in, instead, "removed"))

        @functools.wraps(fn)  # type: ignore[arg-type]
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if name in kwargs:
                kwargs.pop(name)
                warn_deprecated(message, since=since, removed_in=removed_in)
            return fn(*args, **kwargs)  # type: ignore[operator]

        _record_parameter_deprecation(wrapper, name, REGISTRY[-1])
        return wrapper  # type: ignore[return-value]

    return decorate


def _owner_name(fn: Any) -> str:
    qualname = fn.__qualname__
    return qualname[: -len(".__init__")] if qualname.endswith(".__init__") else qualname


def _record_parameter_deprecation(wrapper: Any, name: str, record: Deprecation) -> None:
    inner = getattr(wrapper.__wrapped__, "__tvexp_deprecated_parameters__", {})
    wrapper.__tvexp_deprecated_parameters__ = {**inner, name: record}


# --------------------------------------------------------------------------- moved names


@dataclass(frozen=True)
class MovedName:
    """``old`` (``module:name``) now lives at ``new``; the old path works until ``removed_in``."""

    old: str
    new: str
    since: str
    removed_in: str

    def resolve(self) -> Any:
        module, _, name = self.new.partition(":")
        return getattr(importlib.import_module(module), name)


# The table of moved public names, keyed by old path. Its rows are literal data in
# :mod:`tvexp._api.moved_names`, which ``tvexp-api promote`` appends to.
MOVED_NAMES: dict[str, MovedName] = {}


def register_moved_name(
    old: str, new: str, *, since: str, removed_in: str, minimum_minors: int = MOVED_NAME_MINORS
) -> None:
    """Adds a row to :data:`MOVED_NAMES` (and the registry) after checking the policy."""
    check_policy(since, removed_in, minimum_minors=minimum_minors, what=f"moved name {old}")
    MOVED_NAMES[old] = MovedName(old, new, since, removed_in)
    REGISTRY.append(Deprecation("moved-name", old.replace(":", "."), since, removed_in, new.replace(":", ".")))


def _load_moved_names() -> None:
    for old, new, since, removed_in in MOVED_NAME_ROWS:
        register_moved_name(old, new, since=since, removed_in=removed_in)


_load_moved_names()


def moved_name_getattr(module_name: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) serving the moved names whose old path is in ``module_name``.

    It returns the very same object as the new path, with a warning, so ``isinstance`` checks and
    pickles written under the old path keep working.
    """

    def __getattr__(name: str) -> Any:
        moved = MOVED_NAMES.get(f"{module_name}:{name}")
        if moved is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        warn_deprecated(
            _message(f"{module_name}.{name}", moved.since, moved.removed_in, moved.new.replace(":", ".")),
            since=moved.since,
            removed_in=moved.removed_in,
        )
        return moved.resolve()

    return __getattr__


# --------------------------------------------------------------------------- state-dict migrations


@dataclass(frozen=True)
class StateDictMigration:
    """Checkpoints saved at ``from_version`` of a module's layout rename keys as ``renames`` says."""

    from_version: int
    renames: Mapping[str, str]
    since: str
    removed_in: str
    drops: tuple[str, ...] = field(default=())


def migrate_state_dict(*migrations: StateDictMigration) -> Callable[[type[T]], type[T]]:
    """Class decorator: lets a module load checkpoints saved with older parameter/buffer names.

    The module's ``_version`` must be greater than every migration's ``from_version``; torch saves
    it in the state-dict metadata. On load, keys of an older (or unversioned) checkpoint are renamed
    in place, so ``load_state_dict(..., strict=True)`` succeeds, and one
    :class:`~tvexp.TvexpDeprecationWarning` says to re-save.
    """

    def decorate(cls: type[T]) -> type[T]:
        version = getattr(cls, "_version", 1)
        for migration in migrations:
            if migration.from_version >= version:
                raise ValueError(
                    f"{cls.__qualname__}._version={version} must exceed the migration's from_version={migration.from_version}"
                )
            check_policy(migration.since, migration.removed_in, what=f"state-dict layout {migration.from_version}")
            REGISTRY.append(
                Deprecation(
                    "state-dict",
                    f"{_symbol(cls)}@v{migration.from_version}",
                    migration.since,
                    migration.removed_in,
                    None,
                    ", ".join(f"{a}->{b}" for a, b in migration.renames.items()),
                )
            )
        original = cls._load_from_state_dict  # type: ignore[attr-defined]

        def _load_from_state_dict(self: Any, state_dict: dict, prefix: str, local_metadata: dict, *args: Any) -> None:
            saved = local_metadata.get("version")
            for migration in sorted(migrations, key=lambda m: m.from_version):
                if saved is not None and saved > migration.from_version:
                    continue
                renamed = [old for old in migration.renames if prefix + old in state_dict]
                dropped = [key for key in migration.drops if prefix + key in state_dict]
                if not renamed and not dropped:
                    continue
                for old in renamed:
                    state_dict[prefix + migration.renames[old]] = state_dict.pop(prefix + old)
                for key in dropped:
                    state_dict.pop(prefix + key)
                warn_deprecated(
                    f"{cls.__qualname__} checkpoint at {prefix or '<root>'!r} uses the layout of version "
                    f"{migration.from_version} (keys {', '.join(renamed + dropped)}); it was migrated on load. "
                    f"Loading that layout is deprecated since tvexp {migration.since} and will be removed in "
                    f"{migration.removed_in}; save the model again to update the checkpoint.",
                    since=migration.since,
                    removed_in=migration.removed_in,
                )
            original(self, state_dict, prefix, local_metadata, *args)

        cls._load_from_state_dict = _load_from_state_dict  # type: ignore[attr-defined]
        cls.__tvexp_state_dict_migrations__ = tuple(migrations)  # type: ignore[attr-defined]
        return cls

    return decorate
