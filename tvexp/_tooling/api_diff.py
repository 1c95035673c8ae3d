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

import ast
from dataclasses import asdict, dataclass
from typing import Any, Iterator

from tvexp._api.policy import MINIMUM_DEPRECATION_MINORS
from tvexp._api.versions import minor_distance, parse_version, version_reached

__all__ = ["Change", "diff_snapshots", "breaking_changes", "format_changes", "covers"]


@dataclass(frozen=True)
class Change:
    """One classified difference between two snapshots."""

    symbol: str
    tier: str
    kind: str
    breaking: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- annotations as types

_ALIASES = {
    "List": "list",
    "Tuple": "tuple",
    "Dict": "dict",
    "Set": "set",
    "FrozenSet": "frozenset",
    "Type": "type",
    "Text": "str",
    "NoneType": "None",
}
_NUMERIC = {"float": {"int", "bool"}, "int": {"bool"}, "complex": {"float", "int", "bool"}}
_ABSTRACT = {
    "Sequence": {"list", "tuple", "Sequence", "MutableSequence", "range"},
    "MutableSequence": {"list", "MutableSequence"},
    "Collection": {"list", "tuple", "set", "frozenset", "dict", "Sequence", "Mapping", "Collection"},
    "Iterable": {
        "list",
        "tuple",
        "set",
        "frozenset",
        "dict",
        "Sequence",
        "Mapping",
        "Collection",
        "Iterator",
        "Iterable",
        "Generator",
    },
    "Mapping": {"dict", "Mapping", "MutableMapping"},
    "MutableMapping": {"dict", "MutableMapping"},
    "AbstractSet": {"set", "frozenset"},
}
_TOP = {"Any", "object"}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):  # typing.Optional, torch.Tensor, nn.Module: the last name decides
        return _ALIASES.get(node.attr, node.attr)
    if isinstance(node, ast.Name):
        return _ALIASES.get(node.id, node.id)
    if isinstance(node, ast.Constant):
        return "None" if node.value is None else repr(node.value)
    return ast.unparse(node)


def _members(node: ast.expr) -> list[ast.expr]:
    """The members of a union annotation (``X | Y``, ``Union[X, Y]``, ``Optional[X]``)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _members(node.left) + _members(node.right)
    if isinstance(node, ast.Subscript):
        origin = _name(node.value)
        args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if origin == "Union":
            return [m for a in args for m in _members(a)]
        if origin == "Optional":
            return _members(args[0]) + [ast.Constant(None)]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a quoted forward reference
        try:
            return _members(ast.parse(node.value, mode="eval").body)
        except SyntaxError:
            pass
    return [node]


def _args(node: ast.expr) -> tuple[str, list[ast.expr]]:
    if isinstance(node, ast.Subscript):
        args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        return _name(node.value), list(args)
    return _name(node), []


def _atom_covers(wide: ast.expr, narrow: ast.expr) -> bool:
    w_origin, w_args = _args(wide)
    n_origin, n_args = _args(narrow)
    if w_origin in _TOP:
        return True
    if w_origin == "Literal" or n_origin == "Literal":
        if n_origin == "Literal":
            values = [a.value for a in n_args if isinstance(a, ast.Constant)]
            if w_origin == "Literal":
                wide_values = [a.value for a in w_args if isinstance(a, ast.Constant)]
                return all(v in wide_values for v in values)
            return all(
                type(v).__name__ == w_origin or (w_origin in _NUMERIC and type(v).__name__ in _NUMERIC[w_origin])
                for v in values
            )
        return False
    if w_origin == "Callable" or n_origin == "Callable":
        return ast.dump(wide) == ast.dump(narrow) or (w_origin == n_origin and not w_args)
    if w_origin == n_origin or n_origin in _NUMERIC.get(w_origin, ()) or n_origin in _ABSTRACT.get(w_origin, ()):
        if not w_args:
            return True
        if not n_args:  # a bare generic means "of Any"
            return False
        w_items = [a for a in w_args if not (isinstance(a, ast.Constant) and a.value is Ellipsis)]
        n_items = [a for a in n_args if not (isinstance(a, ast.Constant) and a.value is Ellipsis)]
        homogeneous = (
            w_origin != "tuple"
            or len(w_args) == 2
            and isinstance(w_args[1], ast.Constant)
            and w_args[1].value is Ellipsis
        )
        if w_origin in ("dict", "Mapping", "MutableMapping") or not homogeneous:
            return len(w_items) == len(n_items) and all(_covers_node(a, b) for a, b in zip(w_items, n_items))
        return bool(w_items) and all(_covers_node(w_items[0], b) for b in n_items)
    return False


def _covers_node(wide: ast.expr, narrow: ast.expr) -> bool:
    return all(any(_atom_covers(w, n) for w in _members(wide)) for n in _members(narrow))


def covers(wide: str | None, narrow: str | None) -> bool:
    """Whether every value of the annotation ``narrow`` is also a value of ``wide`` (``None``: Any)."""
    if wide is None or wide in _TOP:
        return True
    if narrow is None:
        return False
    if wide.replace(" ", "") == narrow.replace(" ", ""):
        return True
    try:
        w = ast.parse(wide, mode="eval").body
        n = ast.parse(narrow, mode="eval").body
    except SyntaxError:
        return False
    return _covers_node(w, n)


# --------------------------------------------------------------------------- the classifier


class _Differ:
    def __init__(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.old = old["objects"]
        self.new = new["objects"]
        self.new_version = new["version"]
        self.changes: list[Change] = []

    # Every change passes through here: the tier's policy decides whether it can break.
    def report(self, symbol: str, tier: str, kind: str, breaking: bool, detail: str) -> None:
        self.changes.append(Change(symbol, tier, kind, breaking and tier in ("stable", "core"), detail))

    def run(self) -> list[Change]:
        handled_new: set[str] = set()
        for symbol in sorted(set(self.old) | set(self.new)):
            o, n = self.old.get(symbol), self.new.get(symbol)
            if o is not None and n is not None:
                if n.get("kind") == "moved-name" and o.get("kind") != "moved-name":
                    handled_new.add(self._moved(symbol, o, n))
                else:
                    self._compare(symbol, o, n)
            elif o is not None:
                handled_new |= self._removed(symbol, o)
        for symbol in sorted(set(self.new) - set(self.old) - handled_new):
            n = self.new[symbol]
            if n.get("kind") == "moved-name":
                self.report(
                    symbol,
                    n["tier"],
                    "moved-name-added",
                    False,
                    f"old path now served by the moved-name table, pointing to {n['moved_to']} until {n['removed_in']}",
                )
            else:
                since = f" (since {n['since']})" if n.get("since") else ""
                self.report(symbol, n["tier"], "object-added", False, f"new {n['tier']} {n['kind']}{since}")
        return sorted(self.changes, key=lambda c: (c.symbol, c.kind, c.detail))

    # -------------------------------------------------------------- moves, removals, tiers

    def _same_definition(self, facts: dict[str, Any], tier: str | None = None) -> list[str]:
        return [
            s
            for s, f in self.new.items()
            if s not in self.old
            and f.get("defined") == facts.get("defined")
            and f.get("kind") != "moved-name"
            and (tier is None or f.get("tier") == tier)
        ]

    def _tier_move(
        self, symbol: str, o: dict[str, Any], target_symbol: str, target: dict[str, Any], old_path_kept: str
    ) -> None:
        old_tier, new_tier = o["tier"], target["tier"]
        if old_tier == "prototype" and new_tier == "stable":
            self.report(symbol, old_tier, "promoted", False, f"promoted to {target_symbol}; {old_path_kept}")
        elif old_tier in ("stable", "core") and new_tier == "prototype":
            self.report(
                symbol, old_tier, "demoted", True, f"demoted to the prototype tier as {target_symbol}; {old_path_kept}"
            )
        else:
            self.report(symbol, old_tier, "renamed", False, f"now {target_symbol}; {old_path_kept}")
            self._compare(symbol, o, target, renamed=True)

    def _moved(self, symbol: str, o: dict[str, Any], n: dict[str, Any]) -> str:
        target_symbol = n["moved_to"]
        target = self.new.get(target_symbol)
        kept = f"the old path warns and returns the same object until {n['removed_in']}"
        if target is None:
            self.report(symbol, o["tier"], "object-removed", True, f"moved to {target_symbol}, which does not exist")
        else:
            self._tier_move(symbol, o, target_symbol, target, kept)
        return target_symbol

    def _removed(self, symbol: str, o: dict[str, Any]) -> set[str]:
        tier = o["tier"]
        if o.get("kind") == "moved-name":
            if version_reached(self.new_version, o["removed_in"]):
                self.report(
                    symbol, tier, "moved-name-removed", False, f"old path removed as planned in {o['removed_in']}"
                )
            else:
                self.report(
                    symbol,
                    tier,
                    "shim-removed-early",
                    True,
                    f"moved-name shim removed before its removed_in={o['removed_in']} (new version {self.new_version})",
                )
            return set()
        deprecation = o.get("deprecated")
        if deprecation:
            followed = minor_distance(deprecation["since"], deprecation["removed_in"]) >= MINIMUM_DEPRECATION_MINORS
            if version_reached(self.new_version, deprecation["removed_in"]) and followed:
                self.report(
                    symbol,
                    tier,
                    "object-removed-after-deprecation",
                    False,
                    f"deprecated since {deprecation['since']}, removed as planned in {deprecation['removed_in']}",
                )
            elif not followed:
                self.report(
                    symbol,
                    tier,
                    "object-removed",
                    True,
                    f"its deprecation ({deprecation['since']} -> {deprecation['removed_in']}) is shorter than "
                    f"{MINIMUM_DEPRECATION_MINORS} minor releases",
                )
            else:
                self.report(
                    symbol,
                    tier,
                    "shim-removed-early",
                    True,
                    f"deprecated object removed before its removed_in={deprecation['removed_in']} "
                    f"(new version {self.new_version})",
                )
            return set()
        elsewhere = self._same_definition(o)
        if elsewhere:
            target_symbol = sorted(elsewhere)[0]
            self._tier_move(symbol, o, target_symbol, self.new[target_symbol], "the old path was not kept")
            if tier in ("stable", "core") and self.new[target_symbol]["tier"] != "prototype":
                self.report(
                    symbol,
                    tier,
                    "object-removed",
                    True,
                    f"old path removed without a moved-name entry (now {target_symbol})",
                )
            return {target_symbol}
        self.report(
            symbol,
            tier,
            "object-removed",
            True,
            f"{o.get('kind', 'object')} no longer exported (deleted or dropped from __all__)",
        )
        return set()

    # -------------------------------------------------------------- one object

    def _compare(self, symbol: str, o: dict[str, Any], n: dict[str, Any], renamed: bool = False) -> None:
        tier = o["tier"]
        if o.get("kind") == "moved-name" and n.get("kind") == "moved-name":
            if o["moved_to"] != n["moved_to"]:
                self.report(symbol, tier, "moved-name-retargeted", True, f"{o['moved_to']} -> {n['moved_to']}")
            if o["removed_in"] != n["removed_in"]:
                earlier = parse_version(n["removed_in"]).sort_key() < parse_version(o["removed_in"]).sort_key()
                self.report(
                    symbol,
                    tier,
                    "moved-name-removal-changed",
                    earlier,
                    f"removed_in {o['removed_in']} -> {n['removed_in']}",
                )
            return
        if o.get("kind") == "moved-name":  # an object is back at a path the moved-name table served
            self.report(
                symbol, n["tier"], "object-added", False, f"new {n['tier']} {n.get('kind')} replaces the moved name"
            )
            return
        if o["tier"] != n["tier"]:
            self._tier_move(symbol, o, symbol, n, "same path")
            return
        if o.get("kind") != n.get("kind"):
            self.report(symbol, tier, "object-kind-changed", True, f"{o.get('kind')} -> {n.get('kind')}")
            return
        if o.get("marker") != n.get("marker"):
            self.report(
                symbol,
                tier,
                "tier-marker-changed",
                False,
                f"marker {o.get('marker') or 'ok'} -> {n.get('marker') or 'ok'}",
            )
        self._defined(symbol, tier, o, n, renamed)
        self._deprecation(symbol, tier, o.get("deprecated"), n.get("deprecated"))
        if o.get("kind") == "constant":
            if not covers(o.get("annotation"), n.get("annotation")):
                self.report(
                    symbol, tier, "attribute-type-changed", True, f"{o.get('annotation')} -> {n.get('annotation')}"
                )
            return
        if o.get("kind") == "class":
            removed = [b for b in o.get("bases", ()) if b not in n.get("bases", ())]
            for base in removed:
                self.report(symbol, tier, "base-removed", True, f"no longer a subclass of {base}")
            for base in n.get("bases", ()):
                if base not in o.get("bases", ()):
                    self.report(symbol, tier, "base-added", False, f"now also a subclass of {base}")
            if n.get("abstract") and not o.get("abstract"):
                self.report(symbol, tier, "class-now-abstract", True, "can no longer be instantiated")
        self._signature(symbol, tier, o, n, where="")
        self._parameter_markers(symbol, tier, o, n)
        if o.get("kind") == "class":
            self._members(symbol, tier, o.get("members", {}), n.get("members", {}))
            self._state_dict(symbol, tier, o, n)

    def _defined(self, symbol: str, tier: str, o: dict[str, Any], n: dict[str, Any], renamed: bool) -> None:
        old, new = o.get("defined", ""), n.get("defined", "")
        if old == new:
            return
        old_module, _, old_qualname = old.partition(":")
        new_module, _, new_qualname = new.partition(":")
        if old_module != new_module:
            self.report(
                symbol,
                tier,
                "defining-module-changed",
                o.get("kind") == "class",
                f"{old} -> {new}: whole-module pickles (torch.save(model)) name the old path; "
                "keep the old name importable there",
            )
        elif renamed or symbol.rsplit(".", 1)[1] != new_qualname.rsplit(".", 1)[-1]:
            self.report(
                symbol,
                tier,
                "renamed-with-alias",
                False,
                f"{old_qualname} -> {new_qualname}, old name kept as an alias",
            )
        else:
            self.report(
                symbol,
                tier,
                "qualname-changed",
                o.get("kind") == "class",
                f"{old} -> {new}: pickles name the old qualified name",
            )

    def _deprecation(self, symbol: str, tier: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if old == new:
            return
        if new and not old:
            followed = minor_distance(new["since"], new["removed_in"]) >= MINIMUM_DEPRECATION_MINORS
            instead = f", use {new['instead']}" if new.get("instead") else ""
            self.report(
                symbol,
                tier,
                "deprecated",
                not followed,
                f"deprecated since {new['since']}, removed in {new['removed_in']}{instead}"
                + ("" if followed else " (shorter than the policy allows)"),
            )
        elif old and not new:
            self.report(symbol, tier, "undeprecated", False, "no longer deprecated")
        else:
            assert old is not None and new is not None
            earlier = parse_version(new["removed_in"]).sort_key() < parse_version(old["removed_in"]).sort_key()
            followed = minor_distance(new["since"], new["removed_in"]) >= MINIMUM_DEPRECATION_MINORS
            self.report(
                symbol,
                tier,
                "deprecation-changed",
                earlier and not followed,
                f"since {old['since']} -> {new['since']}, removed_in {old['removed_in']} -> {new['removed_in']}",
            )

    # -------------------------------------------------------------- signatures

    def _signature(self, symbol: str, tier: str, o: dict[str, Any], n: dict[str, Any], where: str) -> None:
        old_sig, new_sig = o.get("signature"), n.get("signature")
        label = f"{where}: " if where else ""
        if old_sig is None or new_sig is None:
            if (old_sig is None) != (new_sig is None):
                self.report(
                    symbol, tier, "signature-unavailable", False, f"{label}signature could not be inspected on one side"
                )
            return
        prototype_old = set(o.get("prototype_parameters", {}))
        prototype_new = set(n.get("prototype_parameters", {}))
        deprecated_new = n.get("deprecated_parameters", {})
        renames = {
            name: record["instead"]
            for name, record in deprecated_new.items()
            if record.get("detail") == "renamed" and record.get("instead")
        }
        new_params = {p["name"]: p for p in new_sig["parameters"]}
        positional = ("positional-only", "positional-or-keyword")
        old_positions = [p["name"] for p in old_sig["parameters"] if p["kind"] in positional]
        new_positions = [p["name"] for p in new_sig["parameters"] if p["kind"] in positional]
        matched_new: set[str] = set()
        for p in old_sig["parameters"]:
            name = p["name"]
            new_name = renames.get(name, name) if name not in new_params else name
            q = (
                next((x for x in new_sig["parameters"] if x["kind"] == p["kind"]), None)
                if p["kind"].startswith("var-")
                else new_params.get(new_name)
            )
            param_tier = "prototype" if name in prototype_old else tier
            what = f"{label}parameter {'*' if p['kind'] == 'var-positional' else '**' if p['kind'] == 'var-keyword' else ''}{name}"
            if q is None:
                if name in deprecated_new:
                    self.report(
                        symbol,
                        param_tier,
                        "parameter-removed-deprecated",
                        False,
                        f"{what} removed; still accepted with a deprecation warning until {deprecated_new[name]['removed_in']}",
                    )
                else:
                    self.report(symbol, param_tier, "parameter-removed", True, f"{what} removed")
                continue
            matched_new.add(q["name"])
            if new_name != name:
                self.report(
                    symbol,
                    param_tier,
                    "parameter-renamed-deprecated",
                    False,
                    f"{what} renamed to {new_name}; the old keyword warns until {deprecated_new[name]['removed_in']}",
                )
            if p["kind"] != q["kind"]:
                narrowing = (
                    (p["kind"] == "positional-or-keyword" and q["kind"] in ("keyword-only", "positional-only"))
                    or (p["kind"] == "positional-only" and q["kind"] == "keyword-only")
                    or (p["kind"] == "keyword-only" and q["kind"] == "positional-only")
                )
                self.report(
                    symbol, param_tier, "parameter-kind-changed", narrowing, f"{what}: {p['kind']} -> {q['kind']}"
                )
            if p["kind"] in positional and q["kind"] in positional:
                if old_positions.index(name) != new_positions.index(q["name"]):
                    self.report(
                        symbol,
                        param_tier,
                        "parameter-moved",
                        True,
                        f"{what} moved from position {old_positions.index(name)} to {new_positions.index(q['name'])}",
                    )
            if not p["kind"].startswith("var-"):
                if p["default"] is not None and q["default"] is None:
                    self.report(
                        symbol, param_tier, "parameter-now-required", True, f"{what} lost its default {p['default']}"
                    )
                elif p["default"] is None and q["default"] is not None:
                    self.report(
                        symbol, param_tier, "parameter-now-optional", False, f"{what} gained the default {q['default']}"
                    )
                elif p["default"] != q["default"]:
                    self.report(
                        symbol,
                        param_tier,
                        "parameter-default-changed",
                        True,
                        f"{what} default {p['default']} -> {q['default']}",
                    )
            if p["annotation"] != q["annotation"]:
                widened = covers(q["annotation"], p["annotation"])
                self.report(
                    symbol,
                    param_tier,
                    "parameter-annotation-widened" if widened else "parameter-annotation-narrowed",
                    not widened,
                    f"{what}: {p['annotation']} -> {q['annotation']}",
                )
        for q in new_sig["parameters"]:
            if q["name"] in matched_new:
                continue
            param_tier = "prototype" if q["name"] in prototype_new else tier
            what = f"{label}parameter {q['name']}"
            required = q["default"] is None and not q["kind"].startswith("var-")
            if required:
                self.report(
                    symbol,
                    param_tier,
                    "parameter-added-required",
                    True,
                    f"{what} added without a default ({q['kind']})",
                )
            else:
                self.report(
                    symbol, param_tier, "parameter-added", False, f"{what} added ({q['kind']}, default {q['default']})"
                )
        if old_sig.get("returns") != new_sig.get("returns"):
            narrowed = covers(old_sig.get("returns"), new_sig.get("returns"))
            self.report(
                symbol,
                tier,
                "return-annotation-narrowed" if narrowed else "return-annotation-widened",
                not narrowed,
                f"{label}returns {old_sig.get('returns')} -> {new_sig.get('returns')}",
            )

    def _parameter_markers(self, symbol: str, tier: str, o: dict[str, Any], n: dict[str, Any]) -> None:
        old_proto, new_proto = o.get("prototype_parameters", {}), n.get("prototype_parameters", {})
        for name in sorted(set(old_proto) - set(new_proto)):
            if name in {p["name"] for p in (n.get("signature") or {}).get("parameters", ())}:
                self.report(symbol, tier, "parameter-promoted", False, f"prototype parameter {name} is now stable")
        for name in sorted(set(new_proto) - set(old_proto)):
            if name in {p["name"] for p in (o.get("signature") or {}).get("parameters", ())}:
                self.report(symbol, tier, "parameter-demoted", True, f"parameter {name} is now a prototype option")
        old_dep, new_dep = o.get("deprecated_parameters", {}), n.get("deprecated_parameters", {})
        for name in sorted(set(new_dep) - set(old_dep)):
            record = new_dep[name]
            followed = minor_distance(record["since"], record["removed_in"]) >= MINIMUM_DEPRECATION_MINORS
            self.report(
                symbol,
                tier,
                "parameter-deprecated",
                not followed,
                f"parameter {name} deprecated ({record.get('detail') or 'deprecated'}) since {record['since']}, "
                f"removed in {record['removed_in']}",
            )
        for name in sorted(set(old_dep) - set(new_dep)):
            record = old_dep[name]
            if version_reached(self.new_version, record["removed_in"]):
                self.report(
                    symbol,
                    tier,
                    "parameter-shim-removed",
                    False,
                    f"deprecated parameter {name} removed as planned in {record['removed_in']}",
                )
            else:
                self.report(
                    symbol,
                    tier,
                    "shim-removed-early",
                    True,
                    f"deprecated parameter {name} removed before its removed_in={record['removed_in']}",
                )

    # -------------------------------------------------------------- members and state

    def _members(self, symbol: str, tier: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        for name in sorted(set(old) | set(new)):
            a, b = old.get(name), new.get(name)
            if b is None:
                assert a is not None
                self.report(symbol, tier, f"{_member_noun(a['kind'])}-removed", True, f"{a['kind']} {name} removed")
                continue
            if a is None:
                self.report(
                    symbol,
                    tier,
                    "new-abstract-method" if b.get("abstract") else "member-added",
                    bool(b.get("abstract")),
                    f"{b['kind']} {name} added" + (" as abstract" if b.get("abstract") else ""),
                )
                continue
            if a["kind"] != b["kind"]:
                self.report(symbol, tier, "member-kind-changed", True, f"{name}: {a['kind']} -> {b['kind']}")
                continue
            if b.get("abstract") and not a.get("abstract"):
                self.report(
                    symbol,
                    tier,
                    "new-abstract-method",
                    True,
                    f"{name} became abstract: subclasses must now override it",
                )
            if a.get("origin") != b.get("origin"):
                self.report(
                    symbol,
                    tier,
                    "member-origin-changed",
                    False,
                    f"{name} now comes from {b.get('origin')} (was {a.get('origin')})",
                )
            if a.get("annotation") != b.get("annotation") and "annotation" in a and "annotation" in b:
                narrowed = covers(a["annotation"], b["annotation"])
                self.report(
                    symbol,
                    tier,
                    "attribute-type-narrowed" if narrowed else "attribute-type-changed",
                    not narrowed,
                    f"{a['kind']} {name}: {a['annotation']} -> {b['annotation']}",
                )
            if "signature" in a and "signature" in b:
                self._signature(symbol, tier, a, b, where=f"{a['kind']} {name}")

    def _state_dict(self, symbol: str, tier: str, o: dict[str, Any], n: dict[str, Any]) -> None:
        if "state_dict" not in o or "state_dict" not in n:
            return
        old_version = o.get("state_dict_version") or 1
        migrations = [m for m in n.get("state_dict_migrations", ()) if m["from_version"] >= old_version]
        renames = {k: v for m in migrations for k, v in m["renames"].items()}
        drops = {k for m in migrations for k in m["drops"]}
        for case_id in sorted(set(o["state_dict"]) | set(n["state_dict"])):
            old_schema, new_schema = o["state_dict"].get(case_id), n["state_dict"].get(case_id)
            if old_schema is None or new_schema is None:
                self.report(
                    symbol,
                    tier,
                    "reference-configuration-changed",
                    False,
                    f"reference configuration {case_id} {'added' if old_schema is None else 'removed'}",
                )
                continue
            old_keys = {k for k, e in old_schema.items() if e["persistent"]}
            new_keys = {k for k, e in new_schema.items() if e["persistent"]}
            migrated_to: set[str] = set()
            for key in sorted(old_keys - new_keys):
                if key in new_schema:
                    covered = key in drops
                    self.report(
                        symbol,
                        tier,
                        "state-dict-persistence-changed",
                        not covered,
                        f"{case_id}: buffer {key} no longer saved"
                        + (" (the migration drops it)" if covered else "; old checkpoints fail strict loading"),
                    )
                elif (
                    key in renames
                    and renames[key] in new_keys
                    and new_schema[renames[key]]["shape"] == old_schema[key]["shape"]
                ):
                    migrated_to.add(renames[key])
                    self.report(
                        symbol,
                        tier,
                        "state-dict-key-renamed-migrated",
                        False,
                        f"{case_id}: {key} -> {renames[key]}; a declared state-dict migration loads old checkpoints",
                    )
                elif key in drops:
                    self.report(
                        symbol,
                        tier,
                        "state-dict-key-removed-migrated",
                        False,
                        f"{case_id}: {key} removed; a declared state-dict migration drops it from old checkpoints",
                    )
                else:
                    same = [
                        k
                        for k in sorted(new_keys - old_keys)
                        if new_schema[k]["shape"] == old_schema[key]["shape"]
                        and new_schema[k]["role"] == old_schema[key]["role"]
                        and k not in renames.values()
                    ]
                    if same:
                        self.report(
                            symbol,
                            tier,
                            "state-dict-key-renamed",
                            True,
                            f"{case_id}: {key} looks renamed to {same[0]} without a state-dict migration",
                        )
                    else:
                        self.report(
                            symbol,
                            tier,
                            "state-dict-key-removed",
                            True,
                            f"{case_id}: {key} ({old_schema[key]['role']}) removed without a state-dict migration",
                        )
            for key in sorted(new_keys - old_keys):
                if key in migrated_to:
                    continue
                if key in old_schema:
                    self.report(
                        symbol,
                        tier,
                        "state-dict-persistence-changed",
                        True,
                        f"{case_id}: buffer {key} is now saved; old checkpoints lack it",
                    )
                else:
                    self.report(
                        symbol,
                        tier,
                        "state-dict-key-added",
                        True,
                        f"{case_id}: {key} ({new_schema[key]['role']}) added; old checkpoints lack it",
                    )
            for key in sorted(set(old_schema) & set(new_schema)):
                a, b = old_schema[key], new_schema[key]
                if a["shape"] != b["shape"]:
                    self.report(
                        symbol,
                        tier,
                        "state-dict-shape-changed",
                        True,
                        f"{case_id}: {key} shape {tuple(a['shape'])} -> {tuple(b['shape'])}",
                    )
                if a["dtype"] != b["dtype"]:
                    self.report(
                        symbol,
                        tier,
                        "state-dict-dtype-changed",
                        True,
                        f"{case_id}: {key} dtype {a['dtype']} -> {b['dtype']}",
                    )
                if a["role"] != b["role"]:
                    self.report(
                        symbol, tier, "state-dict-role-changed", True, f"{case_id}: {key} {a['role']} -> {b['role']}"
                    )
            for key in sorted(set(old_schema) ^ set(new_schema)):
                entry = old_schema.get(key) or new_schema[key]
                if not entry["persistent"] and (key not in old_keys and key not in new_keys):
                    self.report(
                        symbol,
                        tier,
                        "non-persistent-buffer-changed",
                        False,
                        f"{case_id}: non-persistent buffer {key} {'removed' if key in old_schema else 'added'}",
                    )
        if o.get("state_dict_version") != n.get("state_dict_version"):
            self.report(
                symbol,
                tier,
                "state-dict-version-changed",
                False,
                f"_version {o.get('state_dict_version')} -> {n.get('state_dict_version')}",
            )


def _member_noun(kind: str) -> str:
    return {"property": "property", "attribute": "attribute"}.get(kind, "method")


def diff_snapshots(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every classified change from snapshot ``old`` to snapshot ``new``."""
    return _Differ(old, new).run()


def breaking_changes(changes: list[Change]) -> list[Change]:
    return [c for c in changes if c.breaking]


def format_changes(changes: list[Change]) -> str:
    """One line per change, breaking ones marked, grouped by symbol."""
    if not changes:
        return "no API changes\n"
    lines = []
    for c in changes:
        verdict = "BREAKING" if c.breaking else "compatible" if c.tier != "prototype" else "prototype"
        lines.append(f"{verdict:<10} {c.tier:<9} {c.symbol}: {c.kind}: {c.detail}")
    count = len(breaking_changes(changes))
    lines.append(f"{len(changes)} change(s), {count} breaking")
    return "\n".join(lines) + "\n"


def iter_json(changes: list[Change]) -> Iterator[dict[str, Any]]:
    for change in changes:
        yield change.to_json()
