"""The live public API surface of tvexp, collected by importing the package.

The surface is a plain, JSON-ready mapping ``symbol -> facts`` (see :func:`collect`), so that a
snapshot file, a release snapshot shipped in the package and the live package compare alike.
Every public object of every tier namespace is listed under its public path (``tvexp.stable.X``),
together with the tier-less core objects and the rows of the moved-name table. Facts per object:

* ``tier`` (``stable``, ``prototype``, ``core``), ``since``, ``kind`` and the defining
  ``module.qualname`` (pickles refer to it);
* ``deprecated`` (``since``, ``removed_in``, ``instead``) when the object is deprecated;
* ``bases`` (classes), ``signature`` (parameters with name, kind, default and annotation, and the
  return annotation), prototype and deprecated parameters;
* ``members``: public methods, properties and attributes, own and inherited, except those that come
  from ``torch.nn.Module`` or ``object`` themselves; members inherited from outside tvexp are listed
  by name, kind and origin only, so that the snapshot does not move with torch;
* for ``nn.Module`` classes, the state-dict schema of the reference configuration in the
  conformance table (key, role, dtype, shape, persistence), the class's ``_version`` and its
  declared state-dict migrations.

Everything is rendered to strings here (annotations as written, defaults with ``repr``, classes as
``module.qualname``), so that the result is the same across runs and machines.
"""

from __future__ import annotations

import enum
import functools
import importlib
import inspect
import types
import warnings
from typing import Any

import torch

import tvexp
from tvexp._api import deprecation
from tvexp._api.policy import TIER_NAMESPACES
from tvexp._api.tiers import internal_construction, tier_of
from tvexp._tooling.annotations import canonical_annotation
from tvexp._tooling.conformance.checks import CHECKS
from tvexp._tooling.conformance.table import seeded

__all__ = [
    "CORE_OBJECTS",
    "TIER_NAMESPACES",
    "Surface",
    "collect",
    "render_annotation",
    "render_default",
    "signature_facts",
]

Surface = dict[str, dict[str, Any]]

# The tier machinery itself: public, tier-less ("core"), kept stable; value = first release.
CORE_OBJECTS: dict[str, str] = {
    "tvexp.PrototypeWarning": "0.1.0",
    "tvexp.TvexpDeprecationWarning": "0.1.0",
    "tvexp.__version__": "0.1.0",
    "tvexp.prototype.opt_in": "0.1.0",
    "tvexp.prototype.opted_in": "0.2.0",
}

_KIND_NAMES = {
    inspect.Parameter.POSITIONAL_ONLY: "positional-only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional-or-keyword",
    inspect.Parameter.VAR_POSITIONAL: "var-positional",
    inspect.Parameter.KEYWORD_ONLY: "keyword-only",
    inspect.Parameter.VAR_KEYWORD: "var-keyword",
}

# Members that every nn.Module (or every object) has: not part of a layer's own surface.
_EXCLUDED_ORIGINS = ("torch.nn.modules.module.Module",)


# --------------------------------------------------------------------------- rendering


def qualified(obj: Any) -> str:
    """``module.qualname`` of a class or function (``int`` for builtins)."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__qualname__
    if module in (None, "builtins"):
        return qualname
    return f"{module}.{qualname}"


def render_annotation(annotation: Any) -> str | None:
    """An annotation as text, in the one spelling :func:`~tvexp._tooling.annotations.canonical_annotation` gives."""
    if annotation is inspect.Parameter.empty or annotation is inspect.Signature.empty:
        return None
    if isinstance(annotation, str):
        return canonical_annotation(annotation)
    if annotation is None or annotation is type(None):
        return "None"
    if isinstance(annotation, type) and not isinstance(annotation, types.GenericAlias):
        return qualified(annotation)
    return canonical_annotation(repr(annotation).replace("typing.", ""))


def render_default(value: Any) -> str:
    """A default value as deterministic text: ``repr`` for data, ``module.qualname`` for code."""
    if isinstance(value, enum.Enum):
        return f"{qualified(type(value))}.{value.name}"
    if isinstance(value, type) or inspect.isfunction(value) or inspect.isbuiltin(value):
        return qualified(value)
    if isinstance(value, functools.partial):
        parts = [render_default(value.func)] + [render_default(a) for a in value.args]
        parts += [f"{k}={render_default(v)}" for k, v in sorted(value.keywords.items())]
        return f"functools.partial({', '.join(parts)})"
    if isinstance(value, (tuple, list)):
        inner = ", ".join(render_default(v) for v in value)
        if isinstance(value, tuple):
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        return f"[{inner}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{render_default(k)}: {render_default(v)}" for k, v in value.items()) + "}"
    text = repr(value)
    if " at 0x" in text or text.startswith("<"):
        return f"<{qualified(type(value))} instance>"
    return text


def _raw_signature(obj: Any) -> inspect.Signature | None:
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return None


def signature_facts(obj: Any, *, drop_first: bool = False) -> dict[str, Any] | None:
    """Parameters (name, kind, default, annotation) and return annotation of a callable."""
    signature = _raw_signature(obj)
    if signature is None:
        return None
    parameters = list(signature.parameters.values())
    if (
        drop_first
        and parameters
        and parameters[0].kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ):
        parameters = parameters[1:]
    return {
        "parameters": [
            {
                "name": p.name,
                "kind": _KIND_NAMES[p.kind],
                "annotation": render_annotation(p.annotation),
                "default": None if p.default is inspect.Parameter.empty else render_default(p.default),
            }
            for p in parameters
        ],
        "returns": render_annotation(signature.return_annotation),
    }


# --------------------------------------------------------------------------- per-object facts


def _wrapper_chain(fn: Any) -> list[Any]:
    chain, seen = [], set()
    while fn is not None and id(fn) not in seen:
        seen.add(id(fn))
        chain.append(fn)
        fn = getattr(fn, "__wrapped__", None)
    return chain


def _parameter_markers(fn: Any) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    prototype: dict[str, str] = {}
    deprecated: dict[str, dict[str, Any]] = {}
    for link in _wrapper_chain(fn):
        for name, tier in (getattr(link, "__tvexp_prototype_parameters__", None) or {}).items():
            prototype.setdefault(name, tier.since)
        for name, record in (getattr(link, "__tvexp_deprecated_parameters__", None) or {}).items():
            deprecated.setdefault(
                name,
                {
                    "since": record.since,
                    "removed_in": record.removed_in,
                    "instead": record.instead,
                    "detail": record.detail,
                },
            )
    return prototype, deprecated


def _deprecation(obj: Any) -> dict[str, Any] | None:
    record = (
        vars(obj).get("__tvexp_deprecation__") if isinstance(obj, type) else getattr(obj, "__tvexp_deprecation__", None)
    )
    if record is None:
        return None
    return {"since": record.since, "removed_in": record.removed_in, "instead": record.instead}


def _member_kind(raw: Any) -> str:
    if isinstance(raw, staticmethod):
        return "staticmethod"
    if isinstance(raw, classmethod):
        return "classmethod"
    if isinstance(raw, (property, functools.cached_property)):
        return "property"
    if inspect.isfunction(raw) or inspect.ismethoddescriptor(raw) or inspect.isbuiltin(raw):
        return "method"
    return "attribute"


def _members(cls: type, own: frozenset[str] = frozenset({"tvexp"})) -> dict[str, dict[str, Any]]:
    members: dict[str, dict[str, Any]] = {}
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        owner = next((klass for klass in cls.__mro__ if name in vars(klass)), None)
        if owner is None:
            continue
        origin = qualified(owner)
        if owner.__module__ == "builtins" or origin in _EXCLUDED_ORIGINS:
            continue
        raw = vars(owner)[name]
        kind = _member_kind(raw)
        facts: dict[str, Any] = {"kind": kind, "origin": origin}
        target = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
        facts["abstract"] = bool(
            getattr(target, "__isabstractmethod__", False) or getattr(raw, "__isabstractmethod__", False)
        )
        ours = owner.__module__.split(".")[0] in own
        if ours and kind in ("method", "staticmethod", "classmethod"):
            signature = signature_facts(target, drop_first=kind != "staticmethod")
            if signature is not None:
                facts["signature"] = signature
        elif ours and kind == "property":
            getter = raw.fget if isinstance(raw, property) else raw.func
            annotation = render_annotation(inspect.signature(getter).return_annotation) if getter else None
            if annotation is not None:
                facts["annotation"] = annotation
        elif ours and kind == "attribute":
            facts["annotation"] = qualified(type(raw))
        members[name] = facts
    for klass in reversed(cls.__mro__):
        if klass.__module__.split(".")[0] not in own:
            continue
        for name, annotation in vars(klass).get("__annotations__", {}).items():
            if not name.startswith("_") and name not in members:
                members[name] = {
                    "kind": "attribute",
                    "origin": qualified(klass),
                    "abstract": False,
                    "annotation": render_annotation(annotation),
                }
    return members


def _reference_cases(cls: type, public_name: str) -> list[Any]:
    """The reference cases of a class: layer cases found by the public name (a renamed class that keeps
    its public name keeps its cases), loss cases by their module."""
    try:
        # local import, guarded: the table builds every layer; a broken area must not hide the surface
        from tvexp._tooling.conformance.cases import LAYER_CASES, LOSS_CASES
    except Exception:
        return []
    cases = [c for c in LAYER_CASES if c.class_name == public_name]
    chosen = [c for c in cases if c.reference] or cases[:1]
    if chosen:
        return chosen
    return [case for case in LOSS_CASES if case.module is cls][:1]


def _builder(case: Any) -> Any:
    build = getattr(case, "build", None)
    return build if build is not None else functools.partial(case.module, **case.kwargs)


def _structure(value: Any) -> str:
    """A forward output's structure: ``Tensor(2,8,5,6) float32``, tuples and dicts of those, or a type."""
    if isinstance(value, torch.Tensor):
        return f"Tensor({','.join(str(size) for size in value.shape)}) {str(value.dtype).removeprefix('torch.')}"
    if isinstance(value, (tuple, list)):
        return f"{type(value).__name__}[{'; '.join(_structure(item) for item in value)}]"
    if isinstance(value, dict):
        return "dict[" + "; ".join(f"{key}: {_structure(item)}" for key, item in value.items()) + "]"
    return type(value).__name__


def _outcome(call: Any) -> str:
    """The exception type ``call()`` raises, with the built-in exception types it derives from
    (``InvalidInputError(ValueError,RuntimeError)``), or ``returned`` when it does not raise."""
    try:
        with warnings.catch_warnings(), internal_construction():
            warnings.simplefilter("ignore")
            seeded(call)
    except Exception as error:  # the type is the recorded fact
        kind = type(error)
        if kind.__module__ == "builtins":
            return kind.__name__
        bases = [
            c.__name__
            for c in kind.__mro__[1:]
            if c.__module__ == "builtins" and c not in (Exception, BaseException, object)
        ]
        return f"{kind.__name__}({','.join(bases)})" if bases else kind.__name__
    return "returned"


def _behaviour(case: Any, module: Any) -> dict[str, Any]:
    """What a reference case's users observe: the output structure, the declared capabilities (the
    battery's checks that apply and are not declared limits; ``make test`` runs each of them), and the
    exception type of each recorded bad use."""
    facts: dict[str, Any] = {}
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            module.eval()
            facts["output"] = _structure(seeded(lambda: module(*case.inputs())))
    except Exception as error:  # a forward that fails on its own reference input is a fact, not a crash
        facts["output"] = f"raises {type(error).__name__}"
    if hasattr(case, "build"):  # a layer case: the battery's capabilities
        facts["capabilities"] = sorted(
            check.name for check in CHECKS if check.applies(case) and check.name not in case.expected_failures
        )
    facts["raises"] = {description: _outcome(call) for description, call in sorted(case.rejects.items())}
    return facts


def _state_dict_schema(module: Any) -> dict[str, dict[str, Any]]:
    schema: dict[str, dict[str, Any]] = {}
    for name, parameter in module.named_parameters(remove_duplicate=False):
        schema[name] = {
            "role": "parameter",
            "dtype": str(parameter.dtype).replace("torch.", ""),
            "shape": list(parameter.shape),
            "persistent": True,
        }
    for prefix, submodule in module.named_modules(remove_duplicate=False):
        for name, buffer in submodule._buffers.items():
            if buffer is None:
                continue
            key = f"{prefix}.{name}" if prefix else name
            schema[key] = {
                "role": "buffer",
                "dtype": str(buffer.dtype).replace("torch.", ""),
                "shape": list(buffer.shape),
                "persistent": name not in submodule._non_persistent_buffers_set,
            }
    for key in module.state_dict():
        if key not in schema:  # extra state or custom state_dict entries
            schema[key] = {"role": "extra", "dtype": "", "shape": [], "persistent": True}
    return dict(sorted(schema.items()))


def _instance_attributes(module: Any) -> dict[str, dict[str, Any]]:
    """Public attributes of a built layer: hyperparameters, sub-layers, parameters and buffers."""
    attributes: dict[str, dict[str, Any]] = {}
    values = {k: v for k, v in vars(module).items() if not k.startswith("_") and k != "training"}
    for registry in (module._modules, module._parameters, module._buffers):
        values.update({k: v for k, v in registry.items() if not k.startswith("_") and v is not None})
    for name, value in sorted(values.items()):
        attributes[name] = {
            "kind": "attribute",
            "origin": "instance",
            "abstract": False,
            "annotation": qualified(type(value)),
        }
    return attributes


def _object_facts(
    obj: Any, symbol: str, tier: str, since: str | None, own: frozenset[str] = frozenset({"tvexp"})
) -> dict[str, Any]:
    facts: dict[str, Any] = {"tier": tier, "since": since}
    if isinstance(obj, type):
        facts["kind"] = "class"
    elif callable(obj):
        facts["kind"] = "function"
    else:
        facts["kind"] = "constant"
    facts["defined"] = f"{obj.__module__}:{obj.__qualname__}" if facts["kind"] != "constant" else symbol
    facts["deprecated"] = _deprecation(obj) if facts["kind"] != "constant" else None
    if facts["kind"] == "constant":
        facts["annotation"] = qualified(type(obj))
        return facts
    if facts["kind"] == "class":
        # The whole method resolution order: a base replaced by a subclass of it is not a removal.
        facts["bases"] = [qualified(base) for base in obj.__mro__[1:] if base is not object]
        facts["abstract"] = bool(inspect.isabstract(obj))
        init = obj.__init__
        facts["signature"] = signature_facts(obj)
        if facts["signature"] is not None:
            facts["signature"]["returns"] = None
        prototype_parameters, deprecated_parameters = _parameter_markers(init)
    else:
        facts["signature"] = signature_facts(obj)
        prototype_parameters, deprecated_parameters = _parameter_markers(obj)
    facts["prototype_parameters"] = dict(sorted(prototype_parameters.items()))
    facts["deprecated_parameters"] = dict(sorted(deprecated_parameters.items()))
    if facts["kind"] == "class":
        members = _members(obj, own)
        if issubclass(obj, torch.nn.Module):
            facts["state_dict_version"] = getattr(obj, "_version", None)
            facts["state_dict_migrations"] = [
                {
                    "from_version": m.from_version,
                    "renames": dict(m.renames),
                    "drops": list(m.drops),
                    "since": m.since,
                    "removed_in": m.removed_in,
                }
                for m in getattr(obj, "__tvexp_state_dict_migrations__", ())
            ]
            schemas: dict[str, Any] = {}
            behaviour: dict[str, Any] = {}
            for case in _reference_cases(obj, symbol.rsplit(".", 1)[1]):
                module = _build_quietly(_builder(case))
                schemas[case.id] = _state_dict_schema(module)
                for name, attribute in _instance_attributes(module).items():
                    members.setdefault(name, attribute)
                behaviour[case.id] = _behaviour(case, module)
            facts["state_dict"] = schemas
            facts["behaviour"] = behaviour
        facts["members"] = dict(sorted(members.items()))
    return facts


def _build_quietly(build: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with internal_construction():
            return seeded(build)


# --------------------------------------------------------------------------- the whole surface


def collect(
    namespaces: dict[str, str] | None = None, core: dict[str, str] | None = None, moved_names: Any = None
) -> Surface:
    """The live public surface: ``symbol -> facts``, sorted by symbol.

    ``namespaces`` (public namespace -> tier), ``core`` (core symbol -> since) and ``moved_names``
    (rows like :data:`tvexp._api.deprecation.MOVED_NAMES`) default to tvexp's own; tests pass
    small synthetic packages.
    """
    namespaces = TIER_NAMESPACES if namespaces is None else namespaces
    core = CORE_OBJECTS if core is None else core
    moved_names = deprecation.MOVED_NAMES if moved_names is None else moved_names
    own = frozenset({"tvexp"} | {namespace.split(".")[0] for namespace in namespaces})
    surface: Surface = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for namespace, tier in namespaces.items():
            try:
                module = importlib.import_module(namespace)
            except ModuleNotFoundError as error:
                if error.name != namespace:
                    raise
                continue  # a removed public submodule: its names are simply absent (the diff reports them)
            for name in getattr(module, "__all__", ()):
                obj = getattr(module, name)
                symbol = f"{namespace}.{name}"
                marker = tier_of(obj)
                facts = _object_facts(obj, symbol, tier, marker.since if marker else None, own)
                if marker is None:
                    facts["marker"] = "missing"
                elif marker.level != tier:
                    facts["marker"] = marker.level
                surface[symbol] = facts
        for symbol, since in core.items():
            module_name, _, name = symbol.rpartition(".")
            obj = getattr(importlib.import_module(module_name), name)
            surface[symbol] = _object_facts(obj, symbol, "core", since)
        for moved in moved_names.values():
            old = moved.old.replace(":", ".")
            namespace = moved.old.partition(":")[0]
            surface[old] = {
                "tier": namespaces.get(namespace, "core"),
                "since": moved.since,
                "kind": "moved-name",
                "moved_to": moved.new.replace(":", "."),
                "removed_in": moved.removed_in,
            }
    return dict(sorted(surface.items()))


def version() -> str:
    """The version of the live package."""
    return tvexp.__version__
