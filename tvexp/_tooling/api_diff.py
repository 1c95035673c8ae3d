"""Classifies the differences between two API snapshots under each tier's policy.

Every change is a :class:`Change` with the symbol, its tier (``stable``, ``prototype``, ``core``), a
kind (``parameter-removed``, ``state-dict-shape-changed``, ...), whether it is breaking, and a
one-line detail. Only stable and core objects can break: prototype changes are reported and never
breaking. A removal is compatible when a deprecation that followed the policy (at least
:data:`~tvexp._api.policy.MINIMUM_DEPRECATION_MINORS` minor releases) has reached its
``removed_in``; removing the shim earlier is breaking.

Annotations are compared as types, not as text: a parameter may accept more (``int`` to
``int | tuple[int, int]``) and a function may return less (``int | None`` to ``int``), never the
reverse. A missing annotation counts as ``Any``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from tvexp._api.policy import MINIMUM_DEPRECATION_MINORS
from tvexp._api.versions import minor_distance, parse_version, version_reached
from tvexp._tooling.annotations import covers, same_type
from tvexp._tooling.change_kinds import ChangeKind

__all__ = ["Change", "ChangeKind", "diff_snapshots", "breaking_changes", "format_changes", "covers"]


@dataclass(frozen=True)
class Change:
    """One classified difference between two snapshots."""

    symbol: str
    tier: str
    kind: ChangeKind
    breaking: bool
    detail: str
    old: str | None = None
    new: str | None = None

    def to_json(self) -> dict[str, Any]:
        facts = asdict(self)
        facts["kind"] = self.kind.value
        return facts


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# ``resolves(old_path, new_path)``: whether the object defined at ``new_path`` (``module:qualname``) can
# still be reached at ``old_path`` in the new version (so old pickles load). Known only for a live package.
PathResolver = Callable[[str, str], bool]


@dataclass
class _Diff:
    """The two snapshots being compared and the changes found so far."""

    old: dict[str, Any]
    new: dict[str, Any]
    new_version: str
    resolves: PathResolver | None = None
    changes: list[Change] = field(default_factory=list)

    # Every change passes through here: the tier's policy decides whether it can break, except for
    # promises tvexp's own policy makes (a moved name keeps working until its removed_in), which
    # break whatever the tier of the old path.
    def report(
        self,
        symbol: str,
        tier: str,
        kind: ChangeKind,
        breaking: bool,
        detail: str,
        *,
        promise: bool = False,
        old: Any = None,
        new: Any = None,
    ) -> None:
        """Records a change; ``old``/``new`` are the changed values where there are two (JSON output)."""
        breaks = breaking and (promise or tier in ("stable", "core"))
        self.changes.append(Change(symbol, tier, kind, breaks, detail, _text(old), _text(new)))


_REMOVED_MEMBER_KIND = {
    "property": ChangeKind.PROPERTY_REMOVED,
    "attribute": ChangeKind.ATTRIBUTE_REMOVED,
}


def _run(d: _Diff) -> list[Change]:
    handled_new: set[str] = set()
    for symbol in sorted(set(d.old) | set(d.new)):
        o, n = d.old.get(symbol), d.new.get(symbol)
        if o is not None and n is not None:
            if n.get("kind") == "moved-name" and o.get("kind") != "moved-name":
                handled_new.add(_moved(d, symbol, o, n))
            else:
                _compare(d, symbol, o, n)
        elif o is not None:
            handled_new |= _removed(d, symbol, o)
    for symbol in sorted(set(d.new) - set(d.old) - handled_new):
        n = d.new[symbol]
        if n.get("kind") == "moved-name":
            d.report(
                symbol,
                n["tier"],
                ChangeKind.MOVED_NAME_ADDED,
                False,
                f"old path now served by the moved-name table, pointing to {n['moved_to']} until {n['removed_in']}",
            )
        else:
            since = f" (since {n['since']})" if n.get("since") else ""
            d.report(symbol, n["tier"], ChangeKind.OBJECT_ADDED, False, f"new {n['tier']} {n['kind']}{since}")
    return sorted(d.changes, key=lambda c: (c.symbol, c.kind, c.detail))


# -------------------------------------------------------------- moves, removals, tiers


def _same_definition(d: _Diff, facts: dict[str, Any], tier: str | None = None) -> list[str]:
    return [
        s
        for s, f in d.new.items()
        if s not in d.old
        and f.get("defined") == facts.get("defined")
        and f.get("kind") != "moved-name"
        and (tier is None or f.get("tier") == tier)
    ]


def _tier_move(
    d: _Diff, symbol: str, o: dict[str, Any], target_symbol: str, target: dict[str, Any], old_path_kept: str
) -> None:
    old_tier, new_tier = o["tier"], target["tier"]
    if old_tier == "prototype" and new_tier == "stable":
        d.report(symbol, old_tier, ChangeKind.PROMOTED, False, f"promoted to {target_symbol}; {old_path_kept}")
    elif old_tier in ("stable", "core") and new_tier == "prototype":
        d.report(
            symbol,
            old_tier,
            ChangeKind.DEMOTED,
            True,
            f"demoted to the prototype tier as {target_symbol}; {old_path_kept}",
        )
    else:
        d.report(symbol, old_tier, ChangeKind.RENAMED, False, f"now {target_symbol}; {old_path_kept}")
        _compare(d, symbol, o, target, renamed=True)


def _moved(d: _Diff, symbol: str, o: dict[str, Any], n: dict[str, Any]) -> str:
    target_symbol = n["moved_to"]
    target = d.new.get(target_symbol)
    kept = f"the old path warns and returns the same object until {n['removed_in']}"
    if target is None:
        d.report(symbol, o["tier"], ChangeKind.OBJECT_REMOVED, True, f"moved to {target_symbol}, which does not exist")
    else:
        _tier_move(d, symbol, o, target_symbol, target, kept)
    return target_symbol


def _removed(d: _Diff, symbol: str, o: dict[str, Any]) -> set[str]:
    tier = o["tier"]
    if o.get("kind") == "moved-name":
        if version_reached(d.new_version, o["removed_in"]):
            d.report(
                symbol, tier, ChangeKind.MOVED_NAME_REMOVED, False, f"old path removed as planned in {o['removed_in']}"
            )
        else:
            d.report(
                symbol,
                tier,
                ChangeKind.SHIM_REMOVED_EARLY,
                True,
                f"moved-name shim removed before its removed_in={o['removed_in']} (new version {d.new_version})",
                promise=True,
            )
        return set()
    deprecation = o.get("deprecated")
    if deprecation:
        followed = minor_distance(deprecation["since"], deprecation["removed_in"]) >= MINIMUM_DEPRECATION_MINORS
        if version_reached(d.new_version, deprecation["removed_in"]) and followed:
            d.report(
                symbol,
                tier,
                ChangeKind.OBJECT_REMOVED_AFTER_DEPRECATION,
                False,
                f"deprecated since {deprecation['since']}, removed as planned in {deprecation['removed_in']}",
            )
        elif not followed:
            d.report(
                symbol,
                tier,
                ChangeKind.OBJECT_REMOVED,
                True,
                f"its deprecation ({deprecation['since']} -> {deprecation['removed_in']}) is shorter than "
                f"{MINIMUM_DEPRECATION_MINORS} minor releases",
            )
        else:
            d.report(
                symbol,
                tier,
                ChangeKind.SHIM_REMOVED_EARLY,
                True,
                f"deprecated object removed before its removed_in={deprecation['removed_in']} "
                f"(new version {d.new_version})",
            )
        return set()
    elsewhere = _same_definition(d, o)
    if elsewhere:
        target_symbol = sorted(elsewhere)[0]
        _tier_move(d, symbol, o, target_symbol, d.new[target_symbol], "the old path was not kept")
        if tier in ("stable", "core") and d.new[target_symbol]["tier"] != "prototype":
            d.report(
                symbol,
                tier,
                ChangeKind.OBJECT_REMOVED,
                True,
                f"old path removed without a moved-name entry (now {target_symbol})",
            )
        return {target_symbol}
    d.report(
        symbol,
        tier,
        ChangeKind.OBJECT_REMOVED,
        True,
        f"{o.get('kind', 'object')} no longer exported (deleted or dropped from __all__)",
    )
    return set()


# -------------------------------------------------------------- one object


def _compare(d: _Diff, symbol: str, o: dict[str, Any], n: dict[str, Any], renamed: bool = False) -> None:
    tier = o["tier"]
    if o.get("kind") == "moved-name" and n.get("kind") == "moved-name":
        if o["moved_to"] != n["moved_to"]:
            detail = f"{o['moved_to']} -> {n['moved_to']}"
            d.report(symbol, tier, ChangeKind.MOVED_NAME_RETARGETED, True, detail, promise=True)
        if o["removed_in"] != n["removed_in"]:
            earlier = parse_version(n["removed_in"]).sort_key() < parse_version(o["removed_in"]).sort_key()
            d.report(
                symbol,
                tier,
                ChangeKind.MOVED_NAME_REMOVAL_CHANGED,
                earlier,
                f"removed_in {o['removed_in']} -> {n['removed_in']}",
                promise=True,
            )
        return
    if o.get("kind") == "moved-name":  # an object is back at a path the moved-name table served
        d.report(
            symbol,
            n["tier"],
            ChangeKind.OBJECT_ADDED,
            False,
            f"new {n['tier']} {n.get('kind')} replaces the moved name",
        )
        return
    if o["tier"] != n["tier"]:
        _tier_move(d, symbol, o, symbol, n, "same path")
        return
    if o.get("kind") != n.get("kind"):
        d.report(symbol, tier, ChangeKind.OBJECT_KIND_CHANGED, True, f"{o.get('kind')} -> {n.get('kind')}")
        return
    if o.get("marker") != n.get("marker"):
        d.report(
            symbol,
            tier,
            ChangeKind.TIER_MARKER_CHANGED,
            False,
            f"marker {o.get('marker') or 'ok'} -> {n.get('marker') or 'ok'}",
        )
    _defined(d, symbol, tier, o, n, renamed)
    _deprecation(d, symbol, tier, o.get("deprecated"), n.get("deprecated"))
    if o.get("kind") == "constant":
        if not covers(o.get("annotation"), n.get("annotation")):
            d.report(
                symbol, tier, ChangeKind.ATTRIBUTE_TYPE_CHANGED, True, f"{o.get('annotation')} -> {n.get('annotation')}"
            )
        return
    if o.get("kind") == "class":
        removed = [b for b in o.get("bases", ()) if b not in n.get("bases", ())]
        for base in removed:
            d.report(symbol, tier, ChangeKind.BASE_REMOVED, True, f"no longer a subclass of {base}")
        for base in n.get("bases", ()):
            if base not in o.get("bases", ()):
                d.report(symbol, tier, ChangeKind.BASE_ADDED, False, f"now also a subclass of {base}")
        if n.get("abstract") and not o.get("abstract"):
            d.report(symbol, tier, ChangeKind.CLASS_NOW_ABSTRACT, True, "can no longer be instantiated")
    _signature(d, symbol, tier, o, n, where="")
    _parameter_markers(d, symbol, tier, o, n)
    if o.get("kind") == "class":
        _members(d, symbol, tier, o.get("members", {}), n.get("members", {}))
        _state_dict(d, symbol, tier, o, n)
        _behaviour(d, symbol, tier, o.get("behaviour", {}), n.get("behaviour", {}))


def _defined(d: _Diff, symbol: str, tier: str, o: dict[str, Any], n: dict[str, Any], renamed: bool) -> None:
    """Where the object is defined: pickles (``torch.save(model)``) name ``module:qualname``."""
    old, new = o.get("defined", ""), n.get("defined", "")
    if old == new:
        return
    old_module, _, old_qualname = old.partition(":")
    new_qualname = new.partition(":")[2]
    pickled_by_path = o.get("kind") == "class"
    covered = old.replace(":", ".") in d.new and d.new[old.replace(":", ".")].get("kind") == "moved-name"
    if d.resolves is not None and (covered or d.resolves(old, new)):
        how = "a moved-name entry serves it" if covered else "the old path still imports the same object"
        renamed_here = renamed or symbol.rsplit(".", 1)[1] != new_qualname.rsplit(".", 1)[-1]
        kind = ChangeKind.RENAMED_WITH_ALIAS if renamed_here else ChangeKind.DEFINING_MODULE_CHANGED
        d.report(
            symbol, tier, kind, False, f"{old} -> {new}; {how}, so old imports and pickles still load", old=old, new=new
        )
    elif d.resolves is not None:
        detail = f"{old} -> {new}: nothing is left at {old}, so whole-model pickles naming it fail to load"
        d.report(symbol, tier, ChangeKind.PICKLE_PATH_REMOVED, pickled_by_path, detail, old=old, new=new)
    elif old_module != new.partition(":")[0]:
        detail = f"{old} -> {new}: pickles name the old path (not verifiable between two snapshot files)"
        d.report(symbol, tier, ChangeKind.DEFINING_MODULE_CHANGED, pickled_by_path, detail, old=old, new=new)
    elif renamed or symbol.rsplit(".", 1)[1] != new_qualname.rsplit(".", 1)[-1]:
        detail = f"{old_qualname} -> {new_qualname}, old name kept as an alias"
        d.report(symbol, tier, ChangeKind.RENAMED_WITH_ALIAS, False, detail)
    else:
        detail = f"{old} -> {new}: pickles name the old qualified name"
        d.report(symbol, tier, ChangeKind.QUALNAME_CHANGED, pickled_by_path, detail, old=old, new=new)


def _deprecation(d: _Diff, symbol: str, tier: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    if old == new:
        return
    if new and not old:
        followed = minor_distance(new["since"], new["removed_in"]) >= MINIMUM_DEPRECATION_MINORS
        instead = f", use {new['instead']}" if new.get("instead") else ""
        d.report(
            symbol,
            tier,
            ChangeKind.DEPRECATED,
            not followed,
            f"deprecated since {new['since']}, removed in {new['removed_in']}{instead}"
            + ("" if followed else " (shorter than the policy allows)"),
        )
    elif old and not new:
        d.report(symbol, tier, ChangeKind.UNDEPRECATED, False, "no longer deprecated")
    else:
        assert old is not None and new is not None
        earlier = parse_version(new["removed_in"]).sort_key() < parse_version(old["removed_in"]).sort_key()
        followed = minor_distance(new["since"], new["removed_in"]) >= MINIMUM_DEPRECATION_MINORS
        d.report(
            symbol,
            tier,
            ChangeKind.DEPRECATION_CHANGED,
            earlier and not followed,
            f"since {old['since']} -> {new['since']}, removed_in {old['removed_in']} -> {new['removed_in']}",
        )


# -------------------------------------------------------------- signatures


_POSITIONAL = ("positional-only", "positional-or-keyword")


@dataclass(frozen=True)
class _Parameters:
    """What one signature comparison needs to know besides the two parameter lists."""

    symbol: str
    tier: str
    label: str
    prototype_old: frozenset[str]
    prototype_new: frozenset[str]
    deprecated_new: dict[str, Any]
    old_positions: list[str]
    new_positions: list[str]

    def tier_of(self, name: str, prototype: frozenset[str]) -> str:
        return "prototype" if name in prototype else self.tier

    def what(self, parameter: dict[str, Any]) -> str:
        stars = {"var-positional": "*", "var-keyword": "**"}.get(parameter["kind"], "")
        return f"{self.label}parameter {stars}{parameter['name']}"


def _signature(d: _Diff, symbol: str, tier: str, o: dict[str, Any], n: dict[str, Any], where: str) -> None:
    old_sig, new_sig = o.get("signature"), n.get("signature")
    label = f"{where}: " if where else ""
    if old_sig is None or new_sig is None:
        if (old_sig is None) != (new_sig is None):
            d.report(
                symbol,
                tier,
                ChangeKind.SIGNATURE_UNAVAILABLE,
                False,
                f"{label}signature could not be inspected on one side",
            )
        return
    context = _Parameters(
        symbol,
        tier,
        label,
        frozenset(o.get("prototype_parameters", {})),
        frozenset(n.get("prototype_parameters", {})),
        n.get("deprecated_parameters", {}),
        [p["name"] for p in old_sig["parameters"] if p["kind"] in _POSITIONAL],
        [p["name"] for p in new_sig["parameters"] if p["kind"] in _POSITIONAL],
    )
    matched_new: set[str] = set()
    for p in old_sig["parameters"]:
        q = _counterpart(p, new_sig["parameters"], context.deprecated_new)
        if q is None:
            _parameter_removed(d, context, p)
            continue
        matched_new.add(q["name"])
        _parameter_changed(d, context, p, q)
    for q in new_sig["parameters"]:
        if q["name"] not in matched_new:
            _parameter_added(d, context, q)
    _returns(d, context, old_sig.get("returns"), new_sig.get("returns"))


def _counterpart(p: dict[str, Any], new: list[dict[str, Any]], deprecated_new: dict[str, Any]) -> dict[str, Any] | None:
    """The new parameter that takes ``p``'s place: same kind for ``*args``/``**kwargs``, same name, or
    the new name of a parameter renamed with a deprecation."""
    if p["kind"].startswith("var-"):
        return next((q for q in new if q["kind"] == p["kind"]), None)
    by_name = {q["name"]: q for q in new}
    if p["name"] in by_name:
        return by_name[p["name"]]
    record = deprecated_new.get(p["name"], {})
    if record.get("detail") == "renamed" and record.get("instead"):
        return by_name.get(record["instead"])
    return None


def _parameter_removed(d: _Diff, c: _Parameters, p: dict[str, Any]) -> None:
    tier, what = c.tier_of(p["name"], c.prototype_old), c.what(p)
    if p["name"] in c.deprecated_new:
        until = c.deprecated_new[p["name"]]["removed_in"]
        detail = f"{what} removed; still accepted with a deprecation warning until {until}"
        d.report(c.symbol, tier, ChangeKind.PARAMETER_REMOVED_DEPRECATED, False, detail)
    else:
        d.report(c.symbol, tier, ChangeKind.PARAMETER_REMOVED, True, f"{what} removed")


def _parameter_changed(d: _Diff, c: _Parameters, p: dict[str, Any], q: dict[str, Any]) -> None:
    name, tier, what = p["name"], c.tier_of(p["name"], c.prototype_old), c.what(p)
    if q["name"] != name and not p["kind"].startswith("var-"):
        until = c.deprecated_new[name]["removed_in"]
        detail = f"{what} renamed to {q['name']}; the old keyword warns until {until}"
        d.report(c.symbol, tier, ChangeKind.PARAMETER_RENAMED_DEPRECATED, False, detail)
    if p["kind"] != q["kind"]:
        narrowing = (
            (p["kind"] == "positional-or-keyword" and q["kind"] in ("keyword-only", "positional-only"))
            or (p["kind"] == "positional-only" and q["kind"] == "keyword-only")
            or (p["kind"] == "keyword-only" and q["kind"] == "positional-only")
        )
        d.report(
            c.symbol,
            tier,
            ChangeKind.PARAMETER_KIND_CHANGED,
            narrowing,
            f"{what}: {p['kind']} -> {q['kind']}",
            old=p["kind"],
            new=q["kind"],
        )
    if p["kind"] in _POSITIONAL and q["kind"] in _POSITIONAL:
        old_index, new_index = c.old_positions.index(name), c.new_positions.index(q["name"])
        if old_index != new_index:
            detail = f"{what} moved from position {old_index} to {new_index}"
            d.report(c.symbol, tier, ChangeKind.PARAMETER_MOVED, True, detail)
    if not p["kind"].startswith("var-"):
        _default_changed(d, c.symbol, tier, what, p["default"], q["default"])
    if not same_type(p["annotation"], q["annotation"]):
        widened = covers(q["annotation"], p["annotation"])
        kind = ChangeKind.PARAMETER_ANNOTATION_WIDENED if widened else ChangeKind.PARAMETER_ANNOTATION_NARROWED
        d.report(
            c.symbol,
            tier,
            kind,
            not widened,
            f"{what}: {p['annotation']} -> {q['annotation']}",
            old=p["annotation"],
            new=q["annotation"],
        )


def _default_changed(d: _Diff, symbol: str, tier: str, what: str, old: str | None, new: str | None) -> None:
    if old is not None and new is None:
        d.report(symbol, tier, ChangeKind.PARAMETER_NOW_REQUIRED, True, f"{what} lost its default {old}", old=old)
    elif old is None and new is not None:
        d.report(symbol, tier, ChangeKind.PARAMETER_NOW_OPTIONAL, False, f"{what} gained the default {new}", new=new)
    elif old != new:
        d.report(
            symbol, tier, ChangeKind.PARAMETER_DEFAULT_CHANGED, True, f"{what} default {old} -> {new}", old=old, new=new
        )


def _parameter_added(d: _Diff, c: _Parameters, q: dict[str, Any]) -> None:
    tier, what = c.tier_of(q["name"], c.prototype_new), f"{c.label}parameter {q['name']}"
    if q["default"] is None and not q["kind"].startswith("var-"):
        d.report(
            c.symbol, tier, ChangeKind.PARAMETER_ADDED_REQUIRED, True, f"{what} added without a default ({q['kind']})"
        )
    else:
        d.report(
            c.symbol, tier, ChangeKind.PARAMETER_ADDED, False, f"{what} added ({q['kind']}, default {q['default']})"
        )


def _returns(d: _Diff, c: _Parameters, old: str | None, new: str | None) -> None:
    if same_type(old, new):
        return
    narrowed = covers(old, new)
    kind = ChangeKind.RETURN_ANNOTATION_NARROWED if narrowed else ChangeKind.RETURN_ANNOTATION_WIDENED
    d.report(c.symbol, c.tier, kind, not narrowed, f"{c.label}returns {old} -> {new}", old=old, new=new)


def _parameter_markers(d: _Diff, symbol: str, tier: str, o: dict[str, Any], n: dict[str, Any]) -> None:
    old_proto, new_proto = o.get("prototype_parameters", {}), n.get("prototype_parameters", {})
    for name in sorted(set(old_proto) - set(new_proto)):
        if name in {p["name"] for p in (n.get("signature") or {}).get("parameters", ())}:
            d.report(symbol, tier, ChangeKind.PARAMETER_PROMOTED, False, f"prototype parameter {name} is now stable")
    for name in sorted(set(new_proto) - set(old_proto)):
        if name in {p["name"] for p in (o.get("signature") or {}).get("parameters", ())}:
            d.report(symbol, tier, ChangeKind.PARAMETER_DEMOTED, True, f"parameter {name} is now a prototype option")
    old_dep, new_dep = o.get("deprecated_parameters", {}), n.get("deprecated_parameters", {})
    for name in sorted(set(new_dep) - set(old_dep)):
        record = new_dep[name]
        followed = minor_distance(record["since"], record["removed_in"]) >= MINIMUM_DEPRECATION_MINORS
        d.report(
            symbol,
            tier,
            ChangeKind.PARAMETER_DEPRECATED,
            not followed,
            f"parameter {name} deprecated ({record.get('detail') or 'deprecated'}) since {record['since']}, "
            f"removed in {record['removed_in']}",
        )
    for name in sorted(set(old_dep) - set(new_dep)):
        record = old_dep[name]
        if version_reached(d.new_version, record["removed_in"]):
            d.report(
                symbol,
                tier,
                ChangeKind.PARAMETER_SHIM_REMOVED,
                False,
                f"deprecated parameter {name} removed as planned in {record['removed_in']}",
            )
        else:
            d.report(
                symbol,
                tier,
                ChangeKind.SHIM_REMOVED_EARLY,
                True,
                f"deprecated parameter {name} removed before its removed_in={record['removed_in']}",
            )


# -------------------------------------------------------------- members and state


def _members(d: _Diff, symbol: str, tier: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if b is None:
            assert a is not None
            d.report(
                symbol,
                tier,
                _REMOVED_MEMBER_KIND.get(a["kind"], ChangeKind.METHOD_REMOVED),
                True,
                f"{a['kind']} {name} removed",
            )
            continue
        if a is None:
            d.report(
                symbol,
                tier,
                ChangeKind.NEW_ABSTRACT_METHOD if b.get("abstract") else ChangeKind.MEMBER_ADDED,
                bool(b.get("abstract")),
                f"{b['kind']} {name} added" + (" as abstract" if b.get("abstract") else ""),
            )
            continue
        if a["kind"] != b["kind"]:
            # Even classmethod <-> staticmethod breaks: an alternate constructor called on a subclass
            # (Sub.from_config()) stops returning the subclass once cls is gone.
            detail = f"{name}: {a['kind']} -> {b['kind']}"
            d.report(symbol, tier, ChangeKind.MEMBER_KIND_CHANGED, True, detail, old=a["kind"], new=b["kind"])
            continue
        if b.get("abstract") and not a.get("abstract"):
            d.report(
                symbol,
                tier,
                ChangeKind.NEW_ABSTRACT_METHOD,
                True,
                f"{name} became abstract: subclasses must now override it",
            )
        if a.get("origin") != b.get("origin"):
            d.report(
                symbol,
                tier,
                ChangeKind.MEMBER_ORIGIN_CHANGED,
                False,
                f"{name} now comes from {b.get('origin')} (was {a.get('origin')})",
            )
        if "annotation" in a and "annotation" in b and not same_type(a["annotation"], b["annotation"]):
            narrowed = covers(a["annotation"], b["annotation"])
            d.report(
                symbol,
                tier,
                ChangeKind.ATTRIBUTE_TYPE_NARROWED if narrowed else ChangeKind.ATTRIBUTE_TYPE_CHANGED,
                not narrowed,
                f"{a['kind']} {name}: {a['annotation']} -> {b['annotation']}",
            )
        if "signature" in a and "signature" in b:
            _signature(d, symbol, tier, a, b, where=f"{a['kind']} {name}")


def _state_dict(d: _Diff, symbol: str, tier: str, o: dict[str, Any], n: dict[str, Any]) -> None:
    if "state_dict" not in o or "state_dict" not in n:
        return
    old_version = o.get("state_dict_version") or 1
    migrations = [m for m in n.get("state_dict_migrations", ()) if m["from_version"] >= old_version]
    migration = _Migration(
        renames={k: v for m in migrations for k, v in m["renames"].items()},
        drops=frozenset(k for m in migrations for k in m["drops"]),
    )
    for case_id in sorted(set(o["state_dict"]) | set(n["state_dict"])):
        old_schema, new_schema = o["state_dict"].get(case_id), n["state_dict"].get(case_id)
        if old_schema is None or new_schema is None:
            detail = f"reference configuration {case_id} {'added' if old_schema is None else 'removed'}"
            d.report(symbol, tier, ChangeKind.REFERENCE_CONFIGURATION_CHANGED, False, detail)
            continue
        schemas = _Schemas(symbol, tier, case_id, old_schema, new_schema)
        migrated_to = _state_dict_keys_removed(d, schemas, migration)
        _state_dict_keys_added(d, schemas, migrated_to)
        _state_dict_entries_changed(d, schemas)
    if o.get("state_dict_version") != n.get("state_dict_version"):
        detail = f"_version {o.get('state_dict_version')} -> {n.get('state_dict_version')}"
        d.report(symbol, tier, ChangeKind.STATE_DICT_VERSION_CHANGED, False, detail)


@dataclass(frozen=True)
class _Migration:
    """The key renames and drops that the new class's declared state-dict migrations apply."""

    renames: dict[str, str]
    drops: frozenset[str]


@dataclass(frozen=True)
class _Schemas:
    """One reference configuration's state-dict schema, before and after."""

    symbol: str
    tier: str
    case_id: str
    old: dict[str, Any]
    new: dict[str, Any]

    @property
    def old_keys(self) -> set[str]:
        return {k for k, e in self.old.items() if e["persistent"]}

    @property
    def new_keys(self) -> set[str]:
        return {k for k, e in self.new.items() if e["persistent"]}


def _state_dict_keys_removed(d: _Diff, s: _Schemas, migration: _Migration) -> set[str]:
    """Reports saved keys that are gone; returns the new keys already accounted for (renamed to)."""
    migrated_to: set[str] = set()
    old_keys, new_keys = s.old_keys, s.new_keys
    for key in sorted(old_keys - new_keys):
        target = migration.renames.get(key)
        if key in s.new:
            covered = key in migration.drops
            detail = f"{s.case_id}: buffer {key} no longer saved" + (
                " (the migration drops it)" if covered else "; old checkpoints fail strict loading"
            )
            d.report(s.symbol, s.tier, ChangeKind.STATE_DICT_PERSISTENCE_CHANGED, not covered, detail)
        elif target is not None and target in new_keys and s.new[target]["shape"] == s.old[key]["shape"]:
            migrated_to.add(target)
            detail = f"{s.case_id}: {key} -> {target}; a declared state-dict migration loads old checkpoints"
            d.report(s.symbol, s.tier, ChangeKind.STATE_DICT_KEY_RENAMED_MIGRATED, False, detail)
        elif key in migration.drops:
            detail = f"{s.case_id}: {key} removed; a declared state-dict migration drops it from old checkpoints"
            d.report(s.symbol, s.tier, ChangeKind.STATE_DICT_KEY_REMOVED_MIGRATED, False, detail)
        else:
            lookalikes = [
                k
                for k in sorted(new_keys - old_keys)
                if s.new[k]["shape"] == s.old[key]["shape"]
                and s.new[k]["role"] == s.old[key]["role"]
                and k not in migration.renames.values()
            ]
            if lookalikes:
                migrated_to.add(lookalikes[0])  # reported as renamed, not also as added
                detail = f"{s.case_id}: {key} looks renamed to {lookalikes[0]} without a state-dict migration"
                d.report(s.symbol, s.tier, ChangeKind.STATE_DICT_KEY_RENAMED, True, detail)
            else:
                detail = f"{s.case_id}: {key} ({s.old[key]['role']}) removed without a state-dict migration"
                d.report(s.symbol, s.tier, ChangeKind.STATE_DICT_KEY_REMOVED, True, detail)
    return migrated_to


def _state_dict_keys_added(d: _Diff, s: _Schemas, migrated_to: set[str]) -> None:
    for key in sorted(s.new_keys - s.old_keys - migrated_to):
        if key in s.old:
            detail = f"{s.case_id}: buffer {key} is now saved; old checkpoints lack it"
            d.report(s.symbol, s.tier, ChangeKind.STATE_DICT_PERSISTENCE_CHANGED, True, detail)
        else:
            detail = f"{s.case_id}: {key} ({s.new[key]['role']}) added; old checkpoints lack it"
            d.report(s.symbol, s.tier, ChangeKind.STATE_DICT_KEY_ADDED, True, detail)


def _state_dict_entries_changed(d: _Diff, s: _Schemas) -> None:
    for key in sorted(set(s.old) & set(s.new)):
        a, b = s.old[key], s.new[key]
        if a["shape"] != b["shape"]:
            detail = f"{s.case_id}: {key} shape {tuple(a['shape'])} -> {tuple(b['shape'])}"
            d.report(
                s.symbol, s.tier, ChangeKind.STATE_DICT_SHAPE_CHANGED, True, detail, old=a["shape"], new=b["shape"]
            )
        if a["dtype"] != b["dtype"]:
            detail = f"{s.case_id}: {key} dtype {a['dtype']} -> {b['dtype']}"
            d.report(
                s.symbol, s.tier, ChangeKind.STATE_DICT_DTYPE_CHANGED, True, detail, old=a["dtype"], new=b["dtype"]
            )
        if a["role"] != b["role"]:
            detail = f"{s.case_id}: {key} {a['role']} -> {b['role']}"
            d.report(s.symbol, s.tier, ChangeKind.STATE_DICT_ROLE_CHANGED, True, detail, old=a["role"], new=b["role"])
    old_keys, new_keys = s.old_keys, s.new_keys
    for key in sorted(set(s.old) ^ set(s.new)):
        entry = s.old.get(key) or s.new[key]
        if not entry["persistent"] and key not in old_keys and key not in new_keys:
            detail = f"{s.case_id}: non-persistent buffer {key} {'removed' if key in s.old else 'added'}"
            d.report(s.symbol, s.tier, ChangeKind.NON_PERSISTENT_BUFFER_CHANGED, False, detail)


def _exception_names(recorded: str) -> set[str]:
    """``InvalidInputError(ValueError,RuntimeError)`` -> the type's name and its built-in bases."""
    name, _, bases = recorded.partition("(")
    return {name} | {base for base in bases.rstrip(")").split(",") if base}


def _behaviour(d: _Diff, symbol: str, tier: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    """What users observe of each reference configuration present on both sides (a snapshot from before
    behaviour was recorded compares nothing)."""
    for case_id in sorted(set(old) & set(new)):
        a, b = old[case_id], new[case_id]
        if a.get("output") != b.get("output"):
            detail = f"{case_id}: output {a.get('output')} -> {b.get('output')}"
            d.report(symbol, tier, ChangeKind.OUTPUT_CHANGED, True, detail, old=a.get("output"), new=b.get("output"))
        if "capabilities" in a and "capabilities" in b:
            for check in sorted(set(a["capabilities"]) - set(b["capabilities"])):
                detail = f"{case_id}: no longer passes the {check} check"
                d.report(symbol, tier, ChangeKind.CAPABILITY_LOST, True, detail)
            for check in sorted(set(b["capabilities"]) - set(a["capabilities"])):
                d.report(symbol, tier, ChangeKind.CAPABILITY_GAINED, False, f"{case_id}: now passes the {check} check")
        old_raises, new_raises = a.get("raises", {}), b.get("raises", {})
        for description in sorted(set(old_raises) | set(new_raises)):
            before, after = old_raises.get(description), new_raises.get(description)
            if before is None:
                detail = f"{case_id}: {description} raises {after}"
                d.report(symbol, tier, ChangeKind.REJECTION_ADDED, False, detail)
            elif after is None:
                detail = f"{case_id}: {description} (raised {before}) is no longer recorded"
                d.report(symbol, tier, ChangeKind.REJECTION_DROPPED, False, detail)
            elif before != after:
                still_caught = before.partition("(")[0] in _exception_names(after)
                detail = f"{case_id}: {description} raised {before}, now {after}" + (
                    " (a subclass of the old type: except clauses still catch it)" if still_caught else ""
                )
                d.report(symbol, tier, ChangeKind.EXCEPTION_CHANGED, not still_caught, detail, old=before, new=after)


def diff_snapshots(old: dict[str, Any], new: dict[str, Any], resolves: PathResolver | None = None) -> list[Change]:
    """Every classified change from snapshot ``old`` to snapshot ``new``.

    ``resolves`` checks old definition paths against the new version (pass it when ``new`` is the
    live package, see :func:`tvexp._tooling.snapshot_store.live_path_resolver`); without it a changed
    defining module of a class is reported as breaking, since it cannot be verified.
    """
    return _run(_Diff(old["objects"], new["objects"], new["version"], resolves))


def breaking_changes(changes: list[Change]) -> list[Change]:
    return [c for c in changes if c.breaking]


def format_changes(changes: list[Change]) -> str:
    """One line per change, breaking ones marked, grouped by symbol."""
    if not changes:
        return "no API changes\n"
    lines = []
    for c in changes:
        verdict = "BREAKING" if c.breaking else "compatible" if c.tier != "prototype" else "prototype-only"
        lines.append(f"{verdict:<14} {c.symbol}: {c.kind}: {c.detail}")
    count = len(breaking_changes(changes))
    lines.append(f"{len(changes)} change(s), {count} breaking")
    return "\n".join(lines) + "\n"
