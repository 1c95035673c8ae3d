"""``tvexp-api audit``: a static scan of user code for tvexp names that need attention on upgrade.

The user's files are parsed with :mod:`ast`, never imported. Imports of tvexp are followed through
aliases (``import tvexp.prototype as tvp``, ``from tvexp.prototype import X as Y``, ``from
tvexp.prototype import *``) and attribute chains (``tvexp.stable.functional.f``), and every use is
looked up in the installed package's API surface and its shipped release snapshots:

* prototype objects, and prototype options of stable objects passed as keywords;
* deprecated objects, and deprecated (renamed or removed) keyword arguments of calls;
* moved names (a promoted prototype's old path, a renamed object's old name);
* names that a release had and this version no longer has.

A finding fails the audit (exit status 1) when what it names is removed in, or due for removal
by, the next minor release, or is already gone; prototype uses fail only with ``--strict``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import tvexp
from tvexp._api.policy import RemovalStatus, removal_status
from tvexp._api.versions import parse_version
from tvexp._tooling.snapshot_format import parse_any
from tvexp._tooling.snapshot_store import live_snapshot, release_snapshots

__all__ = ["Finding", "Knowledge", "audit_source", "audit_paths", "format_findings", "must_fail"]


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    category: str  # prototype, prototype-parameter, deprecated, deprecated-parameter, moved, removed
    symbol: str
    message: str
    change: str
    removed_in: str | None = None


class Knowledge:
    """What the audit knows about tvexp's public names: the live surface plus release snapshots."""

    def __init__(self, objects: dict[str, Any], version: str, released: dict[str, str] | None = None) -> None:
        self.objects = objects
        self.version = version
        self.released = released or {}  # symbol -> last release that had it (for names now gone)
        self.namespaces = {symbol.rpartition(".")[0] for symbol in objects} | {"tvexp"}

    @classmethod
    def installed(cls) -> "Knowledge":

        live = live_snapshot()
        released: dict[str, str] = {}
        for version, path in sorted(release_snapshots().items(), key=lambda item: parse_version(item[0]).sort_key()):
            for symbol in parse_any(path.read_text(encoding="utf-8"))["objects"]:
                released[symbol] = version
        return cls(live["objects"], live["version"], released)

    def names_in(self, namespace: str) -> list[str]:
        return [s.rpartition(".")[2] for s in self.objects if s.rpartition(".")[0] == namespace]


class _Visitor(ast.NodeVisitor):
    def __init__(self, path: str, knowledge: Knowledge) -> None:
        self.path = path
        self.k = knowledge
        self.aliases: dict[str, str] = {}
        self.findings: list[Finding] = []
        self.reported: set[tuple[int, str, str]] = set()

    # ------------------------------------------------------------------ resolution

    def dotted(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            base = self.dotted(node.args[0])  # getattr(tvp, "Name") is tvp.Name
            return f"{base}.{node.args[1].value}" if base else None
        return None

    def symbol_of(self, dotted: str) -> str | None:
        """The longest prefix of ``dotted`` that names a public object (or a vanished one)."""
        parts = dotted.split(".")
        for end in range(len(parts), 1, -1):
            candidate = ".".join(parts[:end])
            if candidate in self.k.objects or candidate in self.k.released:
                return candidate
        parent = ".".join(parts[:-1])
        if len(parts) > 1 and parent in self.k.namespaces and parent != "tvexp" and not parts[-1].startswith("_"):
            return dotted  # a name in a tier namespace that the package does not know
        return None

    # ------------------------------------------------------------------ findings

    def add(
        self, node: ast.AST, category: str, symbol: str, message: str, change: str, removed_in: str | None = None
    ) -> None:
        key = (node.lineno, category, symbol)  # type: ignore[attr-defined]
        if key not in self.reported:
            self.reported.add(key)
            self.findings.append(Finding(self.path, node.lineno, category, symbol, message, change, removed_in))  # type: ignore[attr-defined]

    def check_symbol(self, node: ast.AST, symbol: str) -> None:
        facts = self.k.objects.get(symbol)
        if facts is None:
            if symbol in self.k.released:
                self.add(
                    node,
                    "removed",
                    symbol,
                    f"was public in tvexp {self.k.released[symbol]} and is gone in {self.k.version}",
                    "see the changelog for its replacement",
                )
            else:
                self.add(node, "removed", symbol, f"is not a public name of tvexp {self.k.version}", "check the name")
            return
        if facts.get("kind") == "moved-name":
            self.add(
                node,
                "moved",
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
                "deprecated",
                symbol,
                f"deprecated since {deprecation['since']}, removed in {deprecation['removed_in']}",
                instead,
                deprecation["removed_in"],
            )
        if facts.get("tier") == "prototype":
            self.add(
                node,
                "prototype",
                symbol,
                "is a prototype object: it may change in any release",
                "pin tvexp, or call tvexp.prototype.opt_in() to acknowledge it",
            )

    # ------------------------------------------------------------------ imports

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] != "tvexp":
                continue
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                self.aliases["tvexp"] = "tvexp"
            symbol = self.symbol_of(alias.name)
            if symbol:
                self.check_symbol(node, symbol)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level or module.split(".")[0] != "tvexp":
            return
        for alias in node.names:
            if alias.name == "*":
                for name in self.k.names_in(module):
                    self.aliases.setdefault(name, f"{module}.{name}")
                continue
            full = f"{module}.{alias.name}"
            self.aliases[alias.asname or alias.name] = full
            symbol = self.symbol_of(full)
            if symbol:
                self.check_symbol(node, symbol)

    # ------------------------------------------------------------------ uses

    def visit_Attribute(self, node: ast.Attribute) -> None:
        dotted = self.dotted(node)
        if dotted is None:
            self.generic_visit(node)
            return
        symbol = self.symbol_of(dotted)
        if symbol:
            self.check_symbol(node, symbol)

    def visit_Name(self, node: ast.Name) -> None:
        full = self.aliases.get(node.id)
        if full and isinstance(node.ctx, ast.Load) and full in self.k.objects and full.rpartition(".")[2] == node.id:
            # a star-imported name is reported where it is used; explicit imports were reported at the import
            if not any(f.symbol == full for f in self.findings):
                self.check_symbol(node, full)

    def visit_Assign(self, node: ast.Assign) -> None:
        # ``Layer = tvp.X`` (or ``ns = tvexp.prototype``) makes ``Layer`` an alias, so later calls resolve.
        self.generic_visit(node)
        dotted = self.dotted(node.value)
        if dotted is not None:
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.aliases[target.id] = dotted

    def visit_Call(self, node: ast.Call) -> None:
        own = self.dotted(node)  # a getattr(...) that names a tvexp object is a use of it
        if own is not None:
            symbol = self.symbol_of(own)
            if symbol:
                self.check_symbol(node, symbol)
        dotted = self.dotted(node.func)
        symbol = self.symbol_of(dotted) if dotted else None
        facts = self.k.objects.get(symbol or "")
        if facts and facts.get("kind") == "moved-name":
            facts = self.k.objects.get(facts["moved_to"])
        if facts:
            deprecated = facts.get("deprecated_parameters", {})
            prototype = facts.get("prototype_parameters", {})
            for keyword in node.keywords:
                if keyword.arg in deprecated:
                    record = deprecated[keyword.arg]
                    if record.get("detail") == "renamed" and record.get("instead"):
                        change = f"pass {record['instead']}= instead"
                    else:
                        change = f"drop {keyword.arg}=" + (
                            f"; use {record['instead']}" if record.get("instead") else ""
                        )
                    self.add(
                        keyword,
                        "deprecated-parameter",
                        f"{symbol}({keyword.arg}=...)",
                        f"argument deprecated since {record['since']}, removed in {record['removed_in']}",
                        change,
                        record["removed_in"],
                    )
                elif keyword.arg in prototype:
                    self.add(
                        keyword,
                        "prototype-parameter",
                        f"{symbol}({keyword.arg}=...)",
                        "is a prototype option of a stable object: it may change in any release",
                        "call tvexp.prototype.opt_in() to acknowledge it, or leave the default",
                    )
        self.generic_visit(node)


def audit_source(source: str, path: str, knowledge: Knowledge) -> list[Finding]:
    """Findings for one file's source text."""
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as error:
        return [Finding(path, error.lineno or 0, "unparsable", "", f"cannot parse: {error.msg}", "fix the syntax")]
    visitor = _Visitor(path, knowledge)
    visitor.visit(tree)
    return sorted(visitor.findings, key=lambda f: (f.line, f.category, f.symbol))


def _python_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.py") if not any(part.startswith(".") for part in p.parts))
        else:
            files.append(path)
    return files


def audit_paths(paths: Iterable[Path], knowledge: Knowledge | None = None) -> list[Finding]:
    knowledge = knowledge or Knowledge.installed()
    findings: list[Finding] = []
    for file in _python_files(paths):
        findings += audit_source(file.read_text(encoding="utf-8", errors="replace"), str(file), knowledge)
    return findings


def _due(removed_in: str | None, version: str) -> bool:
    """Whether a removal scheduled for ``removed_in`` has happened or happens in the next release."""
    return removed_in is not None and removal_status(removed_in, version) is not RemovalStatus.PENDING


def must_fail(findings: list[Finding], *, strict: bool = False, version: str | None = None) -> bool:
    """Whether the audit fails: something removed in, or due for removal by, the next minor release."""
    version = version or tvexp.__version__
    for finding in findings:
        if finding.category in ("removed", "unparsable"):
            return True
        if _due(finding.removed_in, version):
            return True
        if strict and finding.category in ("prototype", "prototype-parameter"):
            return True
    return False


def format_findings(findings: list[Finding]) -> str:
    if not findings:
        return "no uses of prototype, deprecated or moved tvexp names found\n"
    lines = [f"{f.path}:{f.line}: {f.category}: {f.symbol} {f.message}. Change: {f.change}." for f in findings]
    return "\n".join(lines) + f"\n{len(findings)} finding(s)\n"
