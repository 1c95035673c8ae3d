"""``tvexp-api audit``: a static scan of user code for tvexp names that need attention on upgrade.

The user's files are parsed with :mod:`ast`, never imported. Imports of tvexp are followed through
aliases (``import tvexp.prototype as tvp``, ``from tvexp.prototype import X as Y``, ``Layer = tvp.X``),
star imports (reported where a name is used), attribute chains (``tvexp.stable.functional.f``),
``getattr(tvp, "X")``, ``importlib.import_module("tvexp.prototype")`` and string annotations
(``x: "tvp.X"``). Names are scoped the way Python scopes them: a name rebound to something else
later in the file, a parameter or a local of the same name is not tvexp's (names rebound in only
one branch of an ``if``/``try`` still count, since that branch may run; function bodies see the
module's names as they stand once the module has run). Every use is looked up in the installed
package's API surface and its shipped release snapshots, and falls in one :class:`AuditCategory`.

A finding fails the audit (exit status 1) when what it names is removed in, or due for removal by,
the next minor release, is already gone, is not a tvexp name at all, or when a file cannot be
parsed; prototype and private uses fail only with ``--strict``. A ``# tvexp: ignore[category]``
comment on the reported line, or an entry in a baseline file, acknowledges a finding.
"""

from __future__ import annotations

import ast
import enum
import hashlib
import importlib.util
import io
import json
import os
import re
import tokenize
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence, TextIO

import tvexp
from tvexp._api.policy import TIER_NAMESPACES, RemovalStatus, removal_status
from tvexp._api.versions import parse_version
from tvexp._tooling.errors import UsageError
from tvexp._tooling.snapshot_format import parse_any
from tvexp._tooling.snapshot_store import live_snapshot, release_snapshots

__all__ = [
    "FORMATS",
    "AuditCategory",
    "AuditReport",
    "Baseline",
    "Finding",
    "Knowledge",
    "Reference",
    "audit_paths",
    "audit_source",
    "find_references",
    "finding_fails",
    "format_findings",
    "must_fail",
    "render",
    "run_audit",
    "write_report",
]


class AuditCategory(str, enum.Enum):
    """What a finding is about. The values appear in every output format and in baselines."""

    PROTOTYPE = "prototype"
    """A prototype object: it may change in any release. Fails only with ``--strict``."""
    PROTOTYPE_PARAMETER = "prototype-parameter"
    """A prototype option of a stable object, passed as a keyword. Fails only with ``--strict``."""
    DEPRECATED = "deprecated"
    """A deprecated object. Fails once its removal is due in the next minor release."""
    DEPRECATED_PARAMETER = "deprecated-parameter"
    """A deprecated (renamed or removed) keyword argument. Fails once its removal is due."""
    MOVED = "moved"
    """An old path of a moved name (a promoted prototype). Fails once the old path's removal is due."""
    REMOVED = "removed"
    """A name or module that a release had and this version no longer has. Always fails."""
    UNKNOWN = "unknown"
    """A name in a public namespace that no release of tvexp has had. Always fails."""
    PRIVATE = "private"
    """A private module or name (``tvexp._layers...``): no promise at all. Fails only with ``--strict``."""
    UNPARSABLE = "unparsable"
    """A file that cannot be read or parsed, so nothing in it was checked. Always fails."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    AuditCategory.PROTOTYPE: "use of a prototype object, which may change in any release",
    AuditCategory.PROTOTYPE_PARAMETER: "prototype option of a stable object, which may change in any release",
    AuditCategory.DEPRECATED: "use of a deprecated object",
    AuditCategory.DEPRECATED_PARAMETER: "deprecated keyword argument",
    AuditCategory.MOVED: "old path of a moved name",
    AuditCategory.REMOVED: "name that this version of tvexp no longer has",
    AuditCategory.UNKNOWN: "name that no version of tvexp has",
    AuditCategory.PRIVATE: "private tvexp module or name, which has no compatibility promise",
    AuditCategory.UNPARSABLE: "file that could not be read or parsed",
}
_ALWAYS_FAIL = frozenset({AuditCategory.REMOVED, AuditCategory.UNKNOWN, AuditCategory.UNPARSABLE})
_STRICT_FAIL = frozenset({AuditCategory.PROTOTYPE, AuditCategory.PROTOTYPE_PARAMETER, AuditCategory.PRIVATE})


@dataclass(frozen=True)
class Finding:
    """One use of a tvexp name that needs attention. ``line`` and ``column`` are 1-based (0: unknown)."""

    path: str
    line: int
    category: AuditCategory
    symbol: str
    message: str
    change: str
    removed_in: str | None = None
    column: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "category", AuditCategory(self.category))  # a plain string works too

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "category": self.category.value,
            "symbol": self.symbol,
            "message": self.message,
            "change": self.change,
            "removed_in": self.removed_in,
        }


class Knowledge:
    """What the audit knows about tvexp's public names: the live surface plus release snapshots."""

    def __init__(
        self,
        objects: dict[str, Any],
        version: str,
        released: dict[str, str] | None = None,
        modules: Iterable[str] | None = None,
    ) -> None:
        self.objects = objects
        self.version = version
        self.released = released or {}  # symbol -> last release that had it (for names now gone)
        # Public modules: the tier namespaces and every parent of a public object.
        self.namespaces = (
            {symbol.rpartition(".")[0] for symbol in objects}
            | set(TIER_NAMESPACES if modules is None else modules)
            | {"tvexp"}
        )
        self.released_namespaces = {symbol.rpartition(".")[0] for symbol in self.released} - self.namespaces

    @classmethod
    def installed(cls) -> "Knowledge":
        live = live_snapshot()
        released: dict[str, str] = {}
        for version, path in sorted(release_snapshots().items(), key=lambda item: parse_version(item[0]).sort_key()):
            for symbol in parse_any(path.read_text(encoding="utf-8"))["objects"]:
                released[symbol] = version
        return cls(live["objects"], live["version"], released)

    def names_in(self, namespace: str) -> list[str]:
        """The names ``from namespace import *`` binds: its public objects (moved names are not exported)."""
        return [
            symbol.rpartition(".")[2]
            for symbol, facts in self.objects.items()
            if symbol.rpartition(".")[0] == namespace and facts.get("kind") != "moved-name"
        ]


# --------------------------------------------------------------------------- name resolution


def _is_private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def _classify(dotted: str, k: Knowledge) -> tuple[str, AuditCategory | None] | None:
    """What a dotted path used in code names.

    ``(symbol, None)``: a public object (its facts decide); ``(path, category)``: a finding of that
    category with no object behind it; ``None``: nothing to say (a public module, another package).
    """
    parts = dotted.split(".")
    if parts[0] != "tvexp":
        return None
    for end in range(len(parts), 1, -1):
        candidate = ".".join(parts[:end])
        if candidate in k.objects:
            return candidate, None
        if candidate in k.released:
            return candidate, AuditCategory.REMOVED
    if any(_is_private(part) for part in parts[1:]):
        return dotted, AuditCategory.PRIVATE
    if dotted in k.namespaces:
        return None
    if dotted in k.released_namespaces:
        return dotted, AuditCategory.REMOVED
    parent = ".".join(parts[:-1])
    if parent != "tvexp" and not parts[-1].startswith("_"):
        if parent in k.namespaces:
            return dotted, AuditCategory.UNKNOWN
        if parent in k.released_namespaces:
            return dotted, AuditCategory.REMOVED
    return None


@dataclass(frozen=True)
class _Alias:
    """A local name bound to a tvexp path (or to ``importlib``'s import function)."""

    target: str
    star: bool = False  # bound by ``from ... import *``: reported where it is used


@dataclass
class _Scope:
    kind: str  # module, class, function, comprehension
    bindings: dict[str, _Alias | None] = field(default_factory=dict)
    declared_global: set[str] = field(default_factory=set)


_Snapshot = list[dict[str, "_Alias | None"]]
_IMPORTERS = ("importlib.import_module", "__import__")
_AnyFunction = ast.FunctionDef | ast.AsyncFunctionDef


class _StringAnnotations(ast.NodeTransformer):
    """Replaces string constants inside an annotation by the expression they spell."""

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        name = node.value.attr if isinstance(node.value, ast.Attribute) else getattr(node.value, "id", "")
        return node if name == "Literal" else self.generic_visit(node)  # Literal["..."] holds values

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if not isinstance(node.value, str):
            return node
        try:
            parsed = ast.parse(node.value.strip(), mode="eval").body
        except (SyntaxError, ValueError):
            return node
        for child in ast.walk(parsed):
            if isinstance(child, (ast.expr, ast.keyword)):
                child.lineno, child.col_offset = node.lineno, node.col_offset
                child.end_lineno, child.end_col_offset = node.end_lineno, node.end_col_offset
        return self.visit(parsed)


class _Visitor(ast.NodeVisitor):
    def __init__(self, path: str, knowledge: Knowledge) -> None:
        self.path = path
        self.k = knowledge
        self.scopes: list[_Scope] = [_Scope("module")]
        self.deferred: deque[tuple[_AnyFunction | ast.Lambda | ast.expr, list[_Scope]]] = deque()
        self.findings: list[Finding] = []
        self.uses: list[tuple[int, int, str]] = []  # (line, column, dotted path) of every tvexp use
        self.reported: set[tuple[int, str, str]] = set()

    def run(self, tree: ast.Module) -> None:
        self.visit(tree)
        while self.deferred:  # function bodies run after the module: they see its final names
            function, scopes = self.deferred.popleft()
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):  # an annotation
                self.scopes = scopes
                self.visit(_StringAnnotations().visit(function))
                continue
            self.scopes = [*scopes, _Scope("function")]
            self.bind_arguments(function.args)
            if isinstance(function, ast.Lambda):
                self.visit(function.body)
            else:
                for statement in function.body:
                    self.visit(statement)

    # ------------------------------------------------------------------ scopes

    def lookup(self, name: str) -> _Alias | None:
        innermost = self.scopes[-1]
        if name in innermost.declared_global:
            return self.scopes[0].bindings.get(name)
        for depth, scope in enumerate(reversed(self.scopes)):
            if scope.kind == "class" and depth:
                continue  # a class body's names are not visible in the functions nested in it
            if name in scope.bindings:
                return scope.bindings[name]
        return None

    def bind(self, name: str, alias: _Alias | None) -> None:
        scope = self.scopes[-1]
        if name in scope.declared_global:
            scope = self.scopes[0]
        if alias is not None or name in scope.bindings or self.lookup(name) is not None:
            scope.bindings[name] = alias  # (other names need no entry: they keep the snapshots small)

    def bind_target(self, target: ast.expr, alias: _Alias | None = None) -> None:
        """Bind the names assigned by ``target``; names inside tuples or starred targets get ``None``."""
        if isinstance(target, ast.Name):
            self.bind(target.id, alias)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.bind_target(element)
        elif isinstance(target, ast.Starred):
            self.bind_target(target.value)

    def bind_arguments(self, args: ast.arguments) -> None:
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None:
                self.bind(arg.arg, None)

    def snapshot(self) -> _Snapshot:
        return [dict(scope.bindings) for scope in self.scopes]

    def restore(self, state: _Snapshot) -> None:
        for scope, bindings in zip(self.scopes, state):
            scope.bindings = dict(bindings)

    def merge(self, *states: _Snapshot) -> None:
        """Continue with the names any of ``states`` may have: a tvexp alias from any branch wins."""
        for index, scope in enumerate(self.scopes):
            merged: dict[str, _Alias | None] = {}
            for state in states:
                for name, alias in state[index].items():
                    if merged.get(name) is None:
                        merged[name] = alias
            scope.bindings = merged

    def visit_branches(self, branches: Sequence[Sequence[ast.AST]], *, may_skip: bool) -> None:
        before = self.snapshot()
        after = []
        for branch in branches:
            self.restore(before)
            for node in branch:
                self.visit(node)
            after.append(self.snapshot())
        self.merge(*after, *([before] if may_skip else []))

    # ------------------------------------------------------------------ resolution

    def dotted(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            alias = self.lookup(node.id)
            return alias.target if alias else None
        if isinstance(node, ast.Attribute):
            base = self.dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            return self.call_result(node)
        return None

    def call_result(self, node: ast.Call) -> str | None:
        """The tvexp path a call evaluates to: ``getattr(tvp, "X")`` and ``importlib.import_module("tvexp.x")``."""
        first = node.args[0] if node.args else None
        if isinstance(node.func, ast.Name) and self.lookup(node.func.id) is None:
            builtin = node.func.id
        else:
            builtin = self.dotted(node.func) or ""
        if builtin == "getattr" and len(node.args) >= 2:
            name = node.args[1]
            if isinstance(name, ast.Constant) and isinstance(name.value, str) and first is not None:
                base = self.dotted(first)
                return f"{base}.{name.value}" if base else None
            return None
        if builtin not in _IMPORTERS or not isinstance(first, ast.Constant) or not isinstance(first.value, str):
            return None
        module = first.value
        if builtin == "importlib.import_module" and module.startswith("."):
            package = node.args[1] if len(node.args) > 1 else None
            package = package or next((kw.value for kw in node.keywords if kw.arg == "package"), None)
            if not (isinstance(package, ast.Constant) and isinstance(package.value, str)):
                return None
            try:
                module = importlib.util.resolve_name(module, package.value)
            except ImportError:
                return None
        if builtin == "__import__":
            fromlist = node.args[3] if len(node.args) > 3 else None
            fromlist = fromlist or next((kw.value for kw in node.keywords if kw.arg == "fromlist"), None)
            if not (isinstance(fromlist, (ast.List, ast.Tuple)) and fromlist.elts):
                self.use(node, module)  # ``__import__("a.b")`` imports a.b but evaluates to a
                module = module.partition(".")[0]
        return module if module.split(".")[0] == "tvexp" else None

    # ------------------------------------------------------------------ findings

    def add(
        self,
        node: ast.AST,
        category: AuditCategory,
        symbol: str,
        message: str,
        change: str,
        removed_in: str | None = None,
    ) -> None:
        line, column = getattr(node, "lineno", 0), getattr(node, "col_offset", -1) + 1
        key = (line, category.value, symbol)
        if key not in self.reported:
            self.reported.add(key)
            self.findings.append(Finding(self.path, line, category, symbol, message, change, removed_in, column))

    def use(self, node: ast.AST, dotted: str) -> None:
        """``dotted`` (a tvexp path) is used at ``node``: record it and report what needs attention."""
        if dotted.split(".")[0] != "tvexp":
            return
        self.uses.append((getattr(node, "lineno", 0), getattr(node, "col_offset", -1) + 1, dotted))
        resolved = _classify(dotted, self.k)
        if resolved is None:
            return
        symbol, category = resolved
        if category is AuditCategory.PRIVATE:
            self.add(
                node,
                category,
                symbol,
                "is private to tvexp: it may change or disappear in any release, without a deprecation",
                "use a public name from tvexp.stable or tvexp.prototype",
            )
        elif category is AuditCategory.UNKNOWN:
            self.add(node, category, symbol, f"is not a public name of tvexp {self.k.version}", "check the name")
        elif category is AuditCategory.REMOVED:
            last = self.k.released.get(symbol) or max(
                (v for s, v in self.k.released.items() if s.startswith(symbol + ".")),
                key=lambda v: parse_version(v).sort_key(),
                default="an earlier release",
            )
            self.add(
                node,
                category,
                symbol,
                f"was public in tvexp {last} and is gone in {self.k.version}",
                "see the changelog for its replacement",
            )
        else:
            self.check_object(node, symbol)

    def check_object(self, node: ast.AST, symbol: str) -> None:
        facts = self.k.objects[symbol]
        if facts.get("kind") == "moved-name":
            self.add(
                node,
                AuditCategory.MOVED,
                symbol,
                f"moved to {facts['moved_to']}; the old path works until {facts['removed_in']}",
                f"use {facts['moved_to']}",
                facts["removed_in"],
            )
            return
        deprecation = facts.get("deprecated")
        if deprecation:
            instead = f"use {deprecation['instead']}" if deprecation.get("instead") else "stop using it"
            self.add(
                node,
                AuditCategory.DEPRECATED,
                symbol,
                f"deprecated since {deprecation['since']}, removed in {deprecation['removed_in']}",
                instead,
                deprecation["removed_in"],
            )
        if facts.get("tier") == "prototype":
            self.add(
                node,
                AuditCategory.PROTOTYPE,
                symbol,
                "is a prototype object: it may change in any release",
                "pin tvexp, or call tvexp.prototype.opt_in() to acknowledge it",
            )

    # ------------------------------------------------------------------ imports

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            root = alias.name.split(".")[0]
            if root == "tvexp":
                self.bind(alias.asname or "tvexp", _Alias(alias.name if alias.asname else "tvexp"))
                self.use(node, alias.name)
            elif root == "importlib":
                self.bind(alias.asname or "importlib", _Alias(alias.name if alias.asname else "importlib"))
            else:
                self.bind(alias.asname or root, None)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level or module.split(".")[0] not in ("tvexp", "importlib"):
            for alias in node.names:
                if alias.name != "*":
                    self.bind(alias.asname or alias.name, None)
            return
        for alias in node.names:
            full = f"{module}.{alias.name}"
            if module == "importlib":
                self.bind(alias.asname or alias.name, _Alias(full) if full in _IMPORTERS else None)
            elif alias.name == "*":
                self.use(node, module)
                for name in self.k.names_in(module):
                    self.bind(name, _Alias(f"{module}.{name}", star=True))
            else:
                self.bind(alias.asname or alias.name, _Alias(full))
                self.use(node, full)

    # ------------------------------------------------------------------ uses

    def visit_Attribute(self, node: ast.Attribute) -> None:
        dotted = self.dotted(node)
        if dotted is None:
            self.generic_visit(node)
        else:
            self.use(node, dotted)
            if isinstance(node.value, ast.Call) or not isinstance(node.value, (ast.Name, ast.Attribute)):
                self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            alias = self.lookup(node.id)
            if alias is not None and alias.star:
                self.use(node, alias.target)  # a star-imported name is reported where it is used
        elif isinstance(node.ctx, ast.Del):
            self.bind(node.id, None)

    def visit_Call(self, node: ast.Call) -> None:
        own = self.call_result(node)  # getattr(tvp, "X"), importlib.import_module("tvexp.x")
        if own is not None:
            self.use(node, own)
        dotted = self.dotted(node.func)
        resolved = _classify(dotted, self.k) if dotted else None
        symbol = resolved[0] if resolved and resolved[1] is None else ""
        facts = self.k.objects.get(symbol)
        if facts and facts.get("kind") == "moved-name":
            facts = self.k.objects.get(facts["moved_to"])
        if facts:
            self.check_keywords(node, symbol, facts)
        self.generic_visit(node)

    def check_keywords(self, node: ast.Call, symbol: str, facts: dict[str, Any]) -> None:
        deprecated = facts.get("deprecated_parameters") or {}
        prototype = facts.get("prototype_parameters") or {}
        for keyword in node.keywords:
            if keyword.arg in deprecated:
                record = deprecated[keyword.arg]
                if record.get("detail") == "renamed" and record.get("instead"):
                    change = f"pass {record['instead']}= instead"
                else:
                    change = f"drop {keyword.arg}=" + (f"; use {record['instead']}" if record.get("instead") else "")
                self.add(
                    keyword,
                    AuditCategory.DEPRECATED_PARAMETER,
                    f"{symbol}({keyword.arg}=...)",
                    f"argument deprecated since {record['since']}, removed in {record['removed_in']}",
                    change,
                    record["removed_in"],
                )
            elif keyword.arg in prototype:
                self.add(
                    keyword,
                    AuditCategory.PROTOTYPE_PARAMETER,
                    f"{symbol}({keyword.arg}=...)",
                    "is a prototype option of a stable object: it may change in any release",
                    "call tvexp.prototype.opt_in() to acknowledge it, or leave the default",
                )

    # ------------------------------------------------------------------ bindings

    def visit_Assign(self, node: ast.Assign) -> None:
        # ``Layer = tvp.X`` (or ``ns = tvexp.prototype``) makes ``Layer`` an alias, so later calls resolve;
        # ``Layer = something_else`` ends an earlier alias.
        self.visit(node.value)
        for target in node.targets:
            self.visit_target(target)
            self.assign(target, node.value)

    def assign(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)):
            if len(target.elts) == len(value.elts) and not any(isinstance(e, ast.Starred) for e in target.elts):
                for element, part in zip(target.elts, value.elts):
                    self.assign(element, part)
                return
        dotted = self.dotted(value) if isinstance(target, ast.Name) else None
        self.bind_target(target, _Alias(dotted) if dotted else None)

    def visit_target(self, target: ast.expr) -> None:
        """Visit the expressions inside an assignment target (``obj.attr``, ``x[i]``), not the names bound."""
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            self.visit(target)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.visit_target(element)
        elif isinstance(target, ast.Starred):
            self.visit_target(target.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.visit_annotation(node.annotation)
        if node.value is not None:
            self.visit(node.value)
            self.visit_target(node.target)
            self.assign(node.target, node.value)
        else:
            self.visit_target(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        self.visit_target(node.target)
        self.bind_target(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        dotted = self.dotted(node.value)
        self.bind(node.target.id, _Alias(dotted) if dotted else None)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self.visit_target(target)
            self.bind_target(target)

    def visit_Global(self, node: ast.Global) -> None:
        self.scopes[-1].declared_global.update(node.names)

    def visit_annotation(self, node: ast.expr | None) -> None:
        """Annotations are resolved once the module has run: strings in them are forward references,
        and ``from __future__ import annotations`` makes every annotation one."""
        if node is not None:
            self.deferred.append((node, list(self.scopes)))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.visit_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.visit_function(node)

    def visit_function(self, node: _AnyFunction) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        for default in [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]:
            self.visit(default)
        for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs, node.args.vararg, node.args.kwarg]:
            if arg is not None:
                self.visit_annotation(arg.annotation)
        self.visit_annotation(node.returns)
        self.bind(node.name, None)
        self.deferred.append((node, list(self.scopes)))

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for default in [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]:
            self.visit(default)
        self.deferred.append((node, list(self.scopes)))

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expression in [*node.decorator_list, *node.bases, *node.keywords]:
            self.visit(expression)
        self.scopes.append(_Scope("class"))
        for statement in node.body:
            self.visit(statement)
        self.scopes.pop()
        self.bind(node.name, None)

    def visit_comprehension_scope(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        self.visit(node.generators[0].iter)  # evaluated in the enclosing scope
        self.scopes.append(_Scope("comprehension"))
        for index, generator in enumerate(node.generators):
            if index:
                self.visit(generator.iter)
            self.bind_target(generator.target)
            for condition in generator.ifs:
                self.visit(condition)
        if isinstance(node, ast.DictComp):
            self.visit(node.key)
            self.visit(node.value)
        else:
            self.visit(node.elt)
        self.scopes.pop()

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = visit_comprehension_scope

    # ------------------------------------------------------------------ control flow

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        self.visit_branches([node.body, node.orelse], may_skip=False)

    def visit_loop(self, node: ast.For | ast.AsyncFor | ast.While) -> None:
        if isinstance(node, ast.While):
            self.visit(node.test)
        else:
            self.visit(node.iter)
            self.visit_target(node.target)
            self.bind_target(node.target)
        self.visit_branches([node.body], may_skip=True)
        for statement in node.orelse:
            self.visit(statement)

    visit_For = visit_AsyncFor = visit_While = visit_loop

    def visit_Try(self, node: ast.Try | ast.TryStar) -> None:
        before = self.snapshot()
        for statement in node.body:
            self.visit(statement)
        after_body = self.snapshot()
        outcomes = []
        for handler in node.handlers:
            self.merge(before, after_body)  # the exception may come from anywhere in the body
            if handler.type is not None:
                self.visit(handler.type)
            if handler.name:
                self.bind(handler.name, None)
            for statement in handler.body:
                self.visit(statement)
            outcomes.append(self.snapshot())
        self.restore(after_body)
        for statement in node.orelse:
            self.visit(statement)
        self.merge(self.snapshot(), *outcomes)
        for statement in node.finalbody:
            self.visit(statement)

    visit_TryStar = visit_Try

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self.visit_target(item.optional_vars)
                self.bind_target(item.optional_vars)
        for statement in node.body:
            self.visit(statement)

    visit_AsyncWith = visit_With

    def visit_Match(self, node: ast.Match) -> None:
        self.visit(node.subject)
        before = self.snapshot()
        outcomes = []
        for case in node.cases:
            self.restore(before)
            self.visit(case.pattern)
            if case.guard is not None:
                self.visit(case.guard)
            for statement in case.body:
                self.visit(statement)
            outcomes.append(self.snapshot())
        self.merge(before, *outcomes)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        self.generic_visit(node)
        if node.name:
            self.bind(node.name, None)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self.bind(node.name, None)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        self.generic_visit(node)
        if node.rest:
            self.bind(node.rest, None)


# --------------------------------------------------------------------------- one file


_SUPPRESSION = re.compile(r"#\s*tvexp:\s*ignore(?:\[(?P<categories>[^\]]*)\])?", re.IGNORECASE)


def _suppressions(source: str) -> dict[int, frozenset[str] | None]:
    """Line -> the categories its ``# tvexp: ignore[...]`` comment names (``None``: every category)."""
    found: dict[int, frozenset[str] | None] = {}
    if not _SUPPRESSION.search(source):
        return found  # tokenizing costs more than the audit itself
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return found
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        match = _SUPPRESSION.search(token.string)
        if match:
            listed = match.group("categories")
            found[token.start[0]] = (
                None if listed is None else frozenset(c.strip().lower() for c in listed.split(",") if c.strip())
            )
    return found


def _suppressed(finding: Finding, suppressions: dict[int, frozenset[str] | None]) -> bool:
    if finding.line not in suppressions:
        return False
    categories = suppressions[finding.line]
    return categories is None or finding.category.value in categories


def _unparsable(path: str, line: int, column: int, why: str) -> Finding:
    return Finding(
        path, line, AuditCategory.UNPARSABLE, "", why, "fix the file, or exclude it from the audit", None, column
    )


def _parse(source: str, path: str) -> ast.Module | Finding:
    try:
        return ast.parse(source, filename=path)
    except SyntaxError as error:
        return _unparsable(path, error.lineno or 0, error.offset or 0, f"cannot be parsed: {error.msg}")
    except ValueError as error:  # e.g. a NUL byte
        return _unparsable(path, 0, 0, f"cannot be parsed: {error}")
    except (RecursionError, MemoryError):
        return _unparsable(path, 0, 0, "is nested too deeply to be parsed")


def _scan(source: str, path: str, knowledge: Knowledge) -> tuple[list[Finding], list[Finding]]:
    """(findings, findings acknowledged by a ``# tvexp: ignore`` comment) of one file's source."""
    tree = _parse(source, path)
    if isinstance(tree, Finding):
        return [tree], []
    visitor = _Visitor(path, knowledge)
    try:
        visitor.run(tree)
    except RecursionError:
        return [_unparsable(path, 0, 0, "is nested too deeply to be analysed")], []
    findings = sorted(visitor.findings, key=lambda f: (f.line, f.category.value, f.symbol))
    suppressions = _suppressions(source) if findings else {}
    kept = [f for f in findings if not _suppressed(f, suppressions)]
    return kept, [f for f in findings if _suppressed(f, suppressions)]


def audit_source(source: str, path: str, knowledge: Knowledge) -> list[Finding]:
    """Findings for one file's source text (those acknowledged by a ``# tvexp: ignore`` comment left out)."""
    return _scan(source, path, knowledge)[0]


def _read(path: Path) -> str | Finding:
    """A Python file's text, decoded the way Python decodes it (PEP 263), or an unparsable finding."""
    try:
        data = path.read_bytes()
    except OSError as error:
        return _unparsable(str(path), 0, 0, f"cannot be read: {error.strerror or error}")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as error:
        return _unparsable(str(path), 0, 0, f"cannot be decoded: {error}")


_SKIPPED_DIRECTORIES = frozenset({"__pycache__", "site-packages", "node_modules", "__pypackages__"})


def _skipped_directory(directory: Path) -> bool:
    """Hidden folders, virtual environments and installed packages are not the user's code."""
    name = directory.name
    return name.startswith(".") or name in _SKIPPED_DIRECTORIES or (directory / "pyvenv.cfg").exists()


def _files_under(directory: Path, suffixes: tuple[str, ...]) -> Iterator[Path]:
    for root, folders, files in os.walk(directory):
        folders[:] = sorted(f for f in folders if not _skipped_directory(Path(root) / f))
        for name in sorted(files):
            if name.endswith(suffixes):
                yield Path(root) / name


def _collect(paths: Iterable[Path], suffixes: tuple[str, ...] = (".py",)) -> list[Path]:
    """The files to scan: each file named, and the matching files under each folder named."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += _files_under(path, suffixes)
        elif path.exists():
            files.append(path)
        else:
            raise UsageError(f"{path}: no such file or directory", status=2)
    seen: set[str] = set()
    unique = []
    for file in files:  # a file named twice, or inside two folders named, is scanned once
        if os.path.realpath(file) not in seen:
            seen.add(os.path.realpath(file))
            unique.append(file)
    return unique


# --------------------------------------------------------------------------- baseline


def _baseline_path(path: str, root: Path) -> str:
    """A finding's path as a baseline stores it: relative to the baseline's folder, with ``/``."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        return absolute.as_posix()


_BaselineKey = tuple[str, str, str]  # (path, symbol, category)


@dataclass
class Baseline:
    """Acknowledged findings, keyed by (path, symbol, category) with a count: line numbers are not
    stored, so the baseline survives edits; a new use of the same name in the same file beyond the
    count is reported again.

    The file is JSON: ``{"tool": "tvexp-api audit", "format": 1, "findings": [{"path": ..., "symbol":
    ..., "category": ..., "count": N}, ...]}``, paths relative to the baseline file's folder, sorted,
    so a change to it reviews as a small diff.
    """

    root: Path  # the baseline file's folder
    counts: dict[_BaselineKey, int]

    def __post_init__(self) -> None:
        self.root = Path(os.path.abspath(self.root))

    @classmethod
    def from_findings(cls, findings: Iterable[Finding], root: Path) -> "Baseline":
        """The baseline of ``findings`` for a baseline file in the folder ``root``."""
        root = Path(os.path.abspath(root))
        counts: dict[_BaselineKey, int] = {}
        for finding in findings:
            key = (_baseline_path(finding.path, root), finding.symbol, finding.category.value)
            counts[key] = counts.get(key, 0) + 1
        return cls(root, counts)

    @classmethod
    def load(cls, path: Path) -> "Baseline":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = data["findings"]
            counts: dict[_BaselineKey, int] = {}
            for entry in entries:
                category = AuditCategory(entry["category"]).value
                key = (str(entry["path"]), str(entry.get("symbol", "")), category)
                counts[key] = counts.get(key, 0) + int(entry.get("count", 1))
        except OSError as error:
            raise UsageError(f"{path}: cannot read the baseline: {error.strerror or error}", status=2) from None
        except (ValueError, KeyError, TypeError) as error:
            raise UsageError(
                f"{path}: not a tvexp-api audit baseline ({type(error).__name__}: {error}); "
                "write one with --write-baseline",
                status=2,
            ) from None
        return cls(path.parent, counts)

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": "tvexp-api audit",
            "format": 1,
            "findings": [
                {"path": path, "symbol": symbol, "category": category, "count": count}
                for (path, symbol, category), count in sorted(self.counts.items())
            ],
        }

    def write(self, path: Path) -> None:
        try:
            path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        except OSError as error:
            raise UsageError(f"{path}: cannot write the baseline: {error.strerror or error}", status=2) from None

    def split(self, findings: list[Finding]) -> tuple[list[Finding], list[Finding], list[dict[str, Any]]]:
        """(new findings, baselined findings, baseline entries that matched fewer findings than counted)."""
        left = dict(self.counts)
        new, known = [], []
        for finding in findings:
            key = (_baseline_path(finding.path, self.root), finding.symbol, finding.category.value)
            if left.get(key, 0) > 0:
                left[key] -= 1
                known.append(finding)
            else:
                new.append(finding)
        stale = [
            {"path": path, "symbol": symbol, "category": category, "unmatched": count}
            for (path, symbol, category), count in sorted(left.items())
            if count > 0
        ]
        return new, known, stale


# --------------------------------------------------------------------------- a whole run


@dataclass
class AuditReport:
    """What one audit run found: the findings that count, and those acknowledged."""

    findings: list[Finding]
    suppressed: list[Finding] = field(default_factory=list)  # by a ``# tvexp: ignore`` comment
    baselined: list[Finding] = field(default_factory=list)  # by the baseline file
    stale_baseline: list[dict[str, Any]] = field(default_factory=list)
    files: int = 0


def run_audit(
    paths: Iterable[Path], knowledge: Knowledge | None = None, baseline: Baseline | None = None
) -> AuditReport:
    """Audit files and folders (``.py`` files under folders; hidden folders and virtual environments skipped).

    Raises:
        UsageError: (status 2) when a path does not exist.
    """
    files = _collect(list(paths))
    knowledge = knowledge or Knowledge.installed()
    findings: list[Finding] = []
    suppressed: list[Finding] = []
    for file in files:
        source = _read(file)
        if isinstance(source, Finding):
            findings.append(source)
            continue
        kept, dropped = _scan(source, str(file), knowledge)
        findings += kept
        suppressed += dropped
    report = AuditReport(findings, suppressed, files=len(files))
    if baseline is not None:
        report.findings, report.baselined, report.stale_baseline = baseline.split(findings)
    return report


def audit_paths(paths: Iterable[Path], knowledge: Knowledge | None = None) -> list[Finding]:
    """The findings in files and folders (see :func:`run_audit`), ``# tvexp: ignore`` comments applied."""
    return run_audit(paths, knowledge).findings


def _due(removed_in: str | None, version: str) -> bool:
    """Whether a removal scheduled for ``removed_in`` has happened or happens in the next release."""
    return removed_in is not None and removal_status(removed_in, version) is not RemovalStatus.PENDING


def finding_fails(finding: Finding, *, strict: bool = False, version: str | None = None) -> bool:
    """Whether this finding fails the audit (see :class:`AuditCategory` for each category's rule)."""
    if finding.category in _ALWAYS_FAIL:
        return True
    if _due(finding.removed_in, version or tvexp.__version__):
        return True
    return strict and finding.category in _STRICT_FAIL


def must_fail(findings: list[Finding], *, strict: bool = False, version: str | None = None) -> bool:
    """Whether the audit fails: something removed in, or due for removal by, the next minor release."""
    return any(finding_fails(f, strict=strict, version=version) for f in findings)


# --------------------------------------------------------------------------- output


def format_findings(findings: list[Finding]) -> str:
    if not findings:
        return "no uses of prototype, deprecated, moved or private tvexp names found\n"
    lines = [f"{f.path}:{f.line}: {f.category}: {f.symbol} {f.message}. Change: {f.change}." for f in findings]
    return "\n".join(lines) + f"\n{len(findings)} finding(s)\n"


def _text(report: AuditReport) -> str:
    text = format_findings(report.findings)
    notes = []
    if report.suppressed:
        notes.append(f"{len(report.suppressed)} acknowledged by # tvexp: ignore comments")
    if report.baselined:
        notes.append(f"{len(report.baselined)} acknowledged by the baseline")
    if report.stale_baseline:
        notes.append(
            f"{len(report.stale_baseline)} baseline entries match fewer uses than counted "
            "(fixed? rewrite the baseline with --write-baseline)"
        )
    return text + "".join(f"{note}\n" for note in notes)


def _json(report: AuditReport, *, strict: bool, version: str) -> dict[str, Any]:
    def entry(finding: Finding) -> dict[str, Any]:
        return {**finding.to_json(), "fails": finding_fails(finding, strict=strict, version=version)}

    return {
        "tool": "tvexp-api audit",
        "tvexp_version": version,
        "strict": strict,
        "fails": must_fail(report.findings, strict=strict, version=version),
        "findings": [entry(f) for f in report.findings],
        "suppressed": [entry(f) for f in report.suppressed],
        "baselined": [entry(f) for f in report.baselined],
        "stale_baseline": report.stale_baseline,
        "files": report.files,
    }


def _uri(path: str) -> str:
    """A SARIF artifact URI: relative to the current folder where possible, with ``/``."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return absolute.as_uri()


def _fingerprints(findings: Iterable[Finding]) -> dict[Finding, str]:
    """A fingerprint per finding that survives edits elsewhere: path, symbol, category, and which use
    of that symbol in that file it is (the first, the second, ...), never the line number."""
    seen: dict[tuple[str, str, str], int] = {}
    prints = {}
    for finding in sorted(findings, key=lambda f: (f.path, f.line, f.column)):
        key = (_baseline_path(finding.path, Path.cwd()), finding.symbol, finding.category.value)
        seen[key] = seen.get(key, 0) + 1
        text = "\0".join((*key, str(seen[key])))
        prints[finding] = hashlib.sha256(text.encode()).hexdigest()[:32]
    return prints


def _sarif(report: AuditReport, *, strict: bool, version: str) -> dict[str, Any]:
    """A SARIF 2.1.0 log: one rule per category; acknowledged findings carry a ``suppressions`` entry."""
    rules = list(AuditCategory)
    fingerprints = _fingerprints([*report.findings, *report.suppressed, *report.baselined])

    def level(category: AuditCategory) -> str:
        if category in _ALWAYS_FAIL or (strict and category in _STRICT_FAIL):
            return "error"
        return "warning" if category not in _STRICT_FAIL else "note"

    def result(finding: Finding, suppression: str | None) -> dict[str, Any]:
        region: dict[str, int] = {"startLine": max(finding.line, 1)}
        if finding.column > 0:
            region["startColumn"] = finding.column
        entry: dict[str, Any] = {
            "ruleId": finding.category.value,
            "ruleIndex": rules.index(finding.category),
            "level": "error" if finding_fails(finding, strict=strict, version=version) else level(finding.category),
            "message": {"text": f"{finding.symbol} {finding.message}. Change: {finding.change}.".lstrip()},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(finding.path)}, "region": region}}],
            "partialFingerprints": {"tvexpAudit/v1": fingerprints[finding]},
            "properties": {"symbol": finding.symbol, "removedIn": finding.removed_in},
        }
        if suppression is not None:
            entry["suppressions"] = [{"kind": suppression}]
        return entry

    results = (
        [result(f, None) for f in report.findings]
        + [result(f, "inSource") for f in report.suppressed]
        + [result(f, "external") for f in report.baselined]
    )
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "tvexp-api audit",
                        "version": version,
                        "rules": [
                            {
                                "id": category.value,
                                "name": category.name.title().replace("_", ""),
                                "shortDescription": {"text": category.description},
                                "defaultConfiguration": {"level": level(category)},
                            }
                            for category in rules
                        ],
                    }
                },
                "results": results,
            }
        ],
    }


def _github_escape(text: str, *, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_value else text


def _github(report: AuditReport, *, strict: bool, version: str) -> str:
    """GitHub Actions workflow commands: ``::error`` for findings that fail, ``::warning`` for the rest."""
    lines = []
    for f in report.findings:
        command = "error" if finding_fails(f, strict=strict, version=version) else "warning"
        place = f"file={_github_escape(f.path, property_value=True)},line={max(f.line, 1)}"
        if f.column > 0:
            place += f",col={f.column}"
        title = _github_escape(f"tvexp-api audit ({f.category})", property_value=True)
        message = _github_escape(f"{f.symbol} {f.message}. Change: {f.change}.".lstrip())
        lines.append(f"::{command} {place},title={title}::{message}")
    return "".join(f"{line}\n" for line in lines)


FORMATS = ("text", "json", "sarif", "github")


def render(report: AuditReport, output_format: str, *, strict: bool = False, version: str | None = None) -> str:
    """The report in one of :data:`FORMATS`."""
    version = version or tvexp.__version__
    if output_format == "text":
        return _text(report)
    if output_format == "json":
        return json.dumps(_json(report, strict=strict, version=version), indent=2) + "\n"
    if output_format == "sarif":
        return json.dumps(_sarif(report, strict=strict, version=version), indent=2) + "\n"
    if output_format == "github":
        return _github(report, strict=strict, version=version)
    raise ValueError(f"output_format must be one of {', '.join(FORMATS)}, got {output_format!r}")


def write_report(text: str, stream: TextIO) -> None:
    """Write ``text``; a reader that went away (``tvexp-api audit src | head``) ends the output quietly."""
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        # Point the stream at /dev/null, so that the interpreter's flush at exit does not fail again.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError, io.UnsupportedOperation):
            pass


# --------------------------------------------------------------------------- references (for promote)


@dataclass(frozen=True)
class Reference:
    """A place that mentions a public name: ``how`` is ``code`` (a use the audit resolves in a Python
    file), ``text`` (the dotted path in a string, comment or document), ``alias`` (``tvp.Name`` in a
    document that binds ``tvp`` to the name's namespace) or ``name`` (the bare name as inline code in a
    document, when no other public object has that name)."""

    path: Path
    line: int
    how: str


_ALIAS_DECLARATIONS = (
    re.compile(r"\bimport\s+(?P<module>tvexp(?:\.\w+)*)\s+as\s+(?P<alias>\w+)"),
    re.compile(r"\bfrom\s+(?P<package>tvexp(?:\.\w+)*)\s+import\s+(?P<name>\w+)\s+as\s+(?P<alias>\w+)"),
)
_CODE_SPAN = re.compile(r"(`+)(?P<code>[^`]+?)\1")


def _expand(code: str) -> set[str]:
    """The names an inline code span names: ``A{1,2}B`` is A1B and A2B; ``Norm1d/3d`` is Norm1d and Norm3d."""
    match = re.search(r"\{([^{}]*)\}", code)
    if match:
        return set().union(
            *(_expand(code[: match.start()] + part + code[match.end() :]) for part in match.group(1).split(","))
        )
    names: set[str] = set()
    for word in re.split(r"\s+", code.strip()):
        pieces = word.split("/")
        first = pieces[0]
        names.add(first)
        for piece in pieces[1:]:
            names.add(first[: len(first) - len(piece)] + piece if 0 < len(piece) < len(first) else piece)
    return names


def _text_references(path: Path, text: str, symbol: str, unique_name: bool, python: bool) -> list[Reference]:
    namespace, _, name = symbol.rpartition(".")
    dotted = re.compile(rf"(?<![\w.]){re.escape(symbol)}(?![\w])")
    from_import = re.compile(rf"\bfrom\s+{re.escape(namespace)}\s+import\s+[^\n]*\b{re.escape(name)}\b")
    aliases = set()
    for declaration in _ALIAS_DECLARATIONS:
        for match in declaration.finditer(text):
            full = match.group("module") if "module" in declaration.groupindex else None
            full = full or f"{match.group('package')}.{match.group('name')}"
            if full == namespace:
                aliases.add(match.group("alias"))
    alias_use = (
        re.compile(rf"(?<![\w.])(?:{'|'.join(map(re.escape, sorted(aliases)))})\.{re.escape(name)}(?!\w)")
        if aliases
        else None
    )
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if dotted.search(line) or (not python and from_import.search(line)):
            found.append(Reference(path, number, "text"))
        elif alias_use is not None and not python and alias_use.search(line):
            found.append(Reference(path, number, "alias"))
        elif unique_name and not python and any(name in _expand(m.group("code")) for m in _CODE_SPAN.finditer(line)):
            found.append(Reference(path, number, "name"))
    return found


def _python_text(source: str) -> str:
    """Only the strings and comments of a Python file, on their lines (code is read by the visitor)."""
    lines = ["" for _ in source.splitlines()]
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in (tokenize.STRING, tokenize.COMMENT):
                for offset, part in enumerate(token.string.splitlines()):
                    if token.start[0] - 1 + offset < len(lines):
                        lines[token.start[0] - 1 + offset] += " " + part
    except (tokenize.TokenError, SyntaxError):
        return source
    return "\n".join(lines)


def find_references(
    symbol: str,
    paths: Iterable[Path],
    knowledge: Knowledge | None = None,
    suffixes: tuple[str, ...] = (".py", ".rst", ".md"),
) -> list[Reference]:
    """Every (file, line) under ``paths`` that refers to the public name ``symbol``, such as
    ``tvexp.prototype.LayerNorm2d``: the places to review when it is promoted, moved or renamed.

    In Python files the audit's resolution finds each use, through aliases (``tvp.LayerNorm2d``,
    ``from tvexp.prototype import LayerNorm2d as LN``, star imports, ``getattr``), plus the dotted
    path in strings and comments. In ``.rst``/``.md`` files (and any other suffix asked for) a
    textual search finds the dotted path, ``from namespace import Name`` lines, ``alias.Name`` where
    the file declares ``import namespace as alias``, and the bare name as inline code
    (```Name``` or ````Name````, braces and ``A1d/3d`` expanded) when no other public object of
    tvexp has that name. Sorted by path and line, one entry per line.

    Raises:
        UsageError: (status 2) when a path does not exist.
    """
    knowledge = knowledge or Knowledge.installed()
    name = symbol.rpartition(".")[2]
    namesakes = {
        s
        for s, facts in knowledge.objects.items()
        if s.rpartition(".")[2] == name and s != symbol and facts.get("moved_to") != symbol
    }
    unique_name = not namesakes
    found: dict[tuple[Path, int], Reference] = {}
    for path in _collect(list(paths), suffixes):
        text = _read(path)
        if isinstance(text, Finding):
            continue
        hits: list[Reference] = []
        if path.suffix == ".py":
            tree = _parse(text, str(path))
            if not isinstance(tree, Finding):
                visitor = _Visitor(str(path), knowledge)
                visitor.run(tree)
                hits += [
                    Reference(path, line, "code")
                    for line, _, dotted in visitor.uses
                    if dotted == symbol or dotted.startswith(symbol + ".")
                ]
            hits += _text_references(path, _python_text(text), symbol, unique_name=False, python=True)
        else:
            hits += _text_references(path, text, symbol, unique_name, python=False)
        for hit in hits:
            found.setdefault((hit.path, hit.line), hit)
    return [found[key] for key in sorted(found, key=lambda key: (str(key[0]), key[1]))]
