"""The source edits behind ``tvexp-api promote`` and ``tvexp-api deprecate``.

Edits are small and textual, located with :mod:`ast`: the one marker line of a definition, one
entry of an ``__all__`` list, one name of an import statement, a row of the moved-name table, two
decorator lines above a definition. Everything else in the files stays byte-for-byte the same.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import torch

import tvexp
from tvexp._api.deprecation import _message, check_policy
from tvexp._api.policy import PROMOTION_TARGET, TIER_NAMESPACES, moved_name_removed_in
from tvexp._api.tiers import Tier, internal_construction, tier_of
from tvexp._api.versions import next_release, parse_version
from tvexp._tooling import api_diff, audit, readme_table, snapshot_format
from tvexp._tooling.conformance import cases
from tvexp._tooling.conformance.checks import failures, run_conformance
from tvexp._tooling.conformance.table import seeded
from tvexp._tooling.errors import UsageError
from tvexp._tooling.snapshot_store import current_snapshot_path, is_source_checkout, live_snapshot, release_snapshots

__all__ = [
    "promote",
    "deprecate",
    "promotion_problems",
    "find_public",
    "edit_marker",
    "remove_export",
    "add_export",
    "add_moved_name_row",
    "add_deprecation_decorators",
]


class Refusal(Exception):
    """The command refuses; the message says why and what to do."""


# --------------------------------------------------------------------------- locating things


def find_public(name: str, namespaces: tuple[str, ...]) -> tuple[str, str, Any]:
    """``(namespace, short name, object)`` for ``Name`` or ``tvexp.<tier>[.sub].Name``."""
    if "." in name:
        namespace, _, short = name.rpartition(".")
        candidates = [namespace] if namespace in namespaces else []
    else:
        short = name
        candidates = list(namespaces)
    found = []
    for namespace in candidates:
        module = importlib.import_module(namespace)
        if short in getattr(module, "__all__", ()):
            found.append((namespace, short, getattr(module, short)))
    if not found:
        raise Refusal(f"{name!r} is not exported by any of {', '.join(candidates or namespaces)}")
    if len(found) > 1:
        raise Refusal(
            f"{name!r} is ambiguous: {', '.join(f'{ns}.{short}' for ns, short, _ in found)}; pass the full path"
        )
    return found[0]


def _module_file(module_name: str) -> Path:
    module = importlib.import_module(module_name)
    assert module.__file__ is not None
    return Path(module.__file__)


def _definition(path: Path, name: str) -> ast.ClassDef | ast.FunctionDef:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name == name:
            return node
    raise Refusal(f"no top-level definition of {name!r} in {path}")


def _source_of(obj: Any) -> tuple[Path, str]:
    target = inspect.unwrap(obj) if not isinstance(obj, type) else obj
    return Path(inspect.getsourcefile(target) or ""), target.__name__


# --------------------------------------------------------------------------- edits


def edit_marker(path: Path, name: str, *, old: str, new: str, since: str) -> None:
    """Rewrites ``@<old>(since=...)`` on ``name`` as ``@<new>(since="<since>")`` and fixes the import."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    node = _definition(path, name)
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Name) and decorator.func.id == old:
            line = lines[decorator.lineno - 1]
            start, end = decorator.col_offset, decorator.end_col_offset
            assert decorator.end_lineno == decorator.lineno, "a marker spans one line"
            lines[decorator.lineno - 1] = line[:start] + f'{new}(since="{since}")' + line[end:]
            break
    else:
        raise Refusal(f"{path}: {name} has no @{old}(since=...) marker line")
    text = "".join(lines)
    still_used = re.search(rf"@{old}\(", text) is not None
    text = _fix_import(text, "tvexp._api.tiers", add=new, remove=None if still_used else old)
    path.write_text(text, encoding="utf-8")


def _format_import(module: str, names: list[str]) -> str:
    line = f"from {module} import {', '.join(names)}\n"
    if len(line) <= 101:
        return line
    return f"from {module} import (\n" + "".join(f"    {n},\n" for n in names) + ")\n"


def _fix_import(text: str, module: str, *, add: str | None = None, remove: str | None = None) -> str:
    """Adds/removes one name of the ``from module import ...`` statement (adds one if missing)."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == module and node.level == 0:
            names = [alias.name for alias in node.names]
            if add and add not in names:
                names.append(add)
            if remove in names:
                names.remove(remove)
            replacement = _format_import(module, sorted(names, key=lambda n: (n.lower(), n))) if names else ""
            assert node.end_lineno is not None
            lines[node.lineno - 1 : node.end_lineno] = [replacement]
            return "".join(lines)
    if add is None:
        return text
    return _insert_import(text, _format_import(module, [add]))


def _insert_import(text: str, statement: str) -> str:
    """Inserts an import statement among the top-level ``from tvexp...`` imports, sorted by module."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    if not imports:
        docstring = tree.body[0] if tree.body and isinstance(tree.body[0], ast.Expr) else None
        at = docstring.end_lineno if docstring is not None and docstring.end_lineno else 0
        lines[at:at] = ["\n", statement]
        return "".join(lines)
    key = statement.split()[1]

    def module_of(node: ast.stmt) -> str:
        return (node.module or "") if isinstance(node, ast.ImportFrom) else node.names[0].name  # type: ignore[attr-defined]

    ours = [n for n in imports if module_of(n).split(".")[0] == "tvexp"]
    others = [n for n in imports if module_of(n).split(".")[0] != "tvexp"]
    if key.split(".")[0] == "tvexp" and ours:
        following = next((n for n in ours if module_of(n) > key), None)
        if following is not None:
            lines[following.lineno - 1 : following.lineno - 1] = [statement]
            return "".join(lines)
        at = ours[-1].end_lineno or ours[-1].lineno
    else:
        group = [n for n in others if module_of(n) != "__future__"] or others or imports
        at = group[-1].end_lineno or group[-1].lineno
    lines[at:at] = [statement]
    return "".join(lines)


def _all_list(tree: ast.Module) -> ast.List:
    return _all_named(tree, "__all__")


def remove_export(path: Path, name: str, defining_module: str) -> None:
    """Drops ``name`` from the namespace's ``__all__`` and from its import statement."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    for element in _all_list(ast.parse(text)).elts:
        if isinstance(element, ast.Constant) and element.value == name:
            line = lines[element.lineno - 1]
            if line.strip() in (f'"{name}",', f"'{name}',"):
                del lines[element.lineno - 1]
            else:
                lines[element.lineno - 1] = re.sub(rf"""\s*["']{re.escape(name)}["'],?""", "", line, count=1)
            break
    else:
        raise Refusal(f"{path}: {name!r} is not in __all__")
    text = _fix_import("".join(lines), defining_module, remove=name)
    path.write_text(text, encoding="utf-8")


def add_export(path: Path, name: str, defining_module: str) -> None:
    """Adds ``name`` to the namespace's import statements and, sorted, to its ``__all__``."""
    text = _fix_import(path.read_text(encoding="utf-8"), defining_module, add=name)
    lines = text.splitlines(keepends=True)
    listing = _all_list(ast.parse(text))
    entries = [e for e in listing.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    if any(e.value == name for e in entries):
        path.write_text(text, encoding="utf-8")
        return
    following = next((e for e in entries if str(e.value) > name), None)
    if following is not None:
        indent = re.match(r"\s*", lines[following.lineno - 1]).group(0)  # type: ignore[union-attr]
        lines.insert(following.lineno - 1, f'{indent}"{name}",\n')
    elif entries:
        last = entries[-1]
        indent = re.match(r"\s*", lines[last.lineno - 1]).group(0)  # type: ignore[union-attr]
        lines.insert(last.lineno, f'{indent}"{name}",\n')
    else:  # an empty ``__all__: list[str] = [\n]``
        assert listing.end_lineno is not None
        if listing.lineno == listing.end_lineno:
            line = lines[listing.lineno - 1]
            lines[listing.lineno - 1] = line.replace("[]", f'[\n    "{name}",\n]')
        else:
            lines.insert(listing.end_lineno - 1, f'    "{name}",\n')
    path.write_text("".join(lines), encoding="utf-8")


def add_moved_name_row(path: Path, row: tuple[str, str, str, str]) -> None:
    """Appends ``(old, new, since, removed_in)`` to the literal ``MOVED_NAME_ROWS`` table."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    listing = _all_named(tree, "MOVED_NAME_ROWS")
    lines = text.splitlines(keepends=True)
    assert listing.end_lineno is not None
    entry = "    (" + ", ".join(f'"{part}"' for part in row) + "),\n"
    if listing.lineno == listing.end_lineno:
        lines[listing.lineno - 1] = lines[listing.lineno - 1].replace("[]", "[\n" + entry + "]")
    else:
        lines.insert(listing.end_lineno - 1, entry)
    path.write_text("".join(lines), encoding="utf-8")


def _all_named(tree: ast.Module, name: str) -> ast.List:
    for node in tree.body:
        target: ast.expr
        value: ast.expr | None
        if isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        elif isinstance(node, ast.Assign):
            target, value = node.targets[0], node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == name and isinstance(value, ast.List):
            return value
    raise Refusal(f"no literal {name} list")


def add_deprecation_decorators(
    path: Path, name: str, *, since: str, removed_in: str, instead: str | None, public: str
) -> None:
    """Writes ``@deprecated_object(...)`` and ``@typing_extensions.deprecated(...)`` right above ``name``."""

    text = path.read_text(encoding="utf-8")
    node = _definition(path, name)
    lines = text.splitlines(keepends=True)
    indent = " " * node.col_offset
    instead_text = f", instead={instead!r}".replace("'", '"') if instead else ""
    message = _message(public, since, removed_in, instead)
    new_lines = [
        f'{indent}@deprecated_object(since="{since}", removed_in="{removed_in}"{instead_text}, name="{public}")\n',
        f"{indent}@typing_extensions.deprecated({_quote(message)}, category=None)\n",
    ]
    lines[node.lineno - 1 : node.lineno - 1] = new_lines
    text = "".join(lines)
    if not re.search(r"^import typing_extensions$", text, re.MULTILINE):
        text = _insert_import(text, "import typing_extensions\n")
    text = _fix_import(text, "tvexp._api.deprecation", add="deprecated_object")
    path.write_text(text, encoding="utf-8")


def update_references(directory: Path, namespace: str, target: str, name: str) -> list[Path]:
    """Rewrites the conformance table's references to ``namespace.name`` as ``target.name``.

    Handles ``namespace.name``, ``from namespace import name`` and the table's
    ``_prototype("name", ...)`` builders; returns the files it changed.
    """
    old_short, new_short = namespace.rpartition(".")[2], target.rpartition(".")[2]
    changed = []
    for path in sorted(directory.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        new = re.sub(rf"\b{re.escape(namespace)}\.{re.escape(name)}\b", f"{target}.{name}", text)
        new = re.sub(
            rf"^(\s*)from {re.escape(namespace)} import {re.escape(name)}$",
            rf"\1from {target} import {name}",
            new,
            flags=re.MULTILINE,
        )
        if namespace == "tvexp.prototype":
            new = re.sub(rf"\b_{old_short}\((['\"]){re.escape(name)}\1", rf"_{new_short}(\1{name}\1", new)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed


def references_to_review(root: Path, symbol: str) -> list[str]:
    """``file:line (how)`` of every place in the checkout's tests, examples, benchmarks, docs and README
    that refers to ``symbol``, found by the audit engine (aliases such as ``tvp.Name`` included).

    Call it before the sources change: the audit resolves names against the surface as it is."""
    paths = [root / name for name in ("tests", "examples", "benchmarks", "docs", "README.md") if (root / name).exists()]
    return [
        f"{reference.path.relative_to(root)}:{reference.line} ({reference.how})"
        for reference in audit.find_references(symbol, paths)
        if "_build" not in reference.path.parts
    ]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --------------------------------------------------------------------------- promotion


def _prototype_objects(value: Any) -> list[str]:

    if isinstance(value, functools.partial):
        return _prototype_objects(value.func) + [
            n for a in (*value.args, *value.keywords.values()) for n in _prototype_objects(a)
        ]
    if isinstance(value, (tuple, list)):
        return [n for item in value for n in _prototype_objects(item)]
    if isinstance(value, type) or callable(value):
        classes = value.__mro__ if isinstance(value, type) else (value,)
        return [
            f"{c.__module__}.{c.__qualname__}"
            for c in classes
            if (tier := tier_of(c)) is not None and tier.level == "prototype"
        ]
    return []


def _prototype_names() -> set[str]:

    names: set[str] = set()
    for namespace, tier in TIER_NAMESPACES.items():
        if tier == "prototype":
            names |= set(getattr(importlib.import_module(namespace), "__all__", ()))
    return names


def _functions_of(obj: Any) -> list[Any]:
    """The Python functions that run when ``obj`` is used: the function itself, or a class's own methods."""
    if not isinstance(obj, type):
        return [inspect.unwrap(obj)]
    found = []
    for value in vars(obj).values():
        value = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
        if isinstance(value, property):
            found += [f for f in (value.fget, value.fset, value.fdel) if f is not None]
        elif inspect.isfunction(value):
            found.append(inspect.unwrap(value))
    return found


def runtime_prototype_calls(obj: Any) -> list[str]:
    """Prototype objects that ``obj``'s code names as globals (a stable loss whose forward calls the
    prototype function form, say): promoting it would make stable code depend on prototype code."""
    found: set[str] = set()
    for function in _functions_of(obj):
        codes = [function.__code__]
        while codes:
            code = codes.pop()
            codes += [const for const in code.co_consts if inspect.iscode(const)]
            for name in code.co_names:
                value = function.__globals__.get(name)
                marker = tier_of(value) if value is not None and value is not obj else None
                if marker is not None and marker.level == "prototype":
                    found.add(f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', name)}")
    return sorted(found)


def promotion_problems(short: str, obj: Any, *, conformance: bool = True) -> list[str]:
    """Why ``obj`` cannot be promoted (empty when it can)."""

    problems = []
    doc = inspect.getdoc(obj) or ""
    if ">>>" not in doc:
        problems.append("its docstring has no example (an `Example:` section with `>>>` lines)")
    if isinstance(obj, type):
        for base in obj.__mro__[1:]:
            tier = tier_of(base)
            if tier is not None and tier.level == "prototype":
                problems.append(f"it subclasses the prototype class {base.__module__}.{base.__qualname__}")
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        signature = None
    others = _prototype_names() - {short}
    if signature is not None:
        for parameter in signature.parameters.values():
            if parameter.default is not inspect.Parameter.empty:
                for dependency in _prototype_objects(parameter.default):
                    problems.append(f"the default of {parameter.name!r} is the prototype object {dependency}")
            annotations = [parameter.annotation] if isinstance(parameter.annotation, str) else []
            for annotation in annotations:
                for other in sorted(others):
                    if re.search(rf"\b{re.escape(other)}\b", annotation):
                        problems.append(f"the annotation of {parameter.name!r} names the prototype object {other}")
    for dependency in runtime_prototype_calls(obj):
        problems.append(f"its code calls the prototype object {dependency} at run time: promote that first")
    if isinstance(obj, type) and issubclass(obj, torch.nn.Module):
        layer_cases = [c for c in cases.LAYER_CASES if c.class_name == short]
        loss_cases = [c for c in cases.LOSS_CASES if c.module is obj]
        references = [c for c in layer_cases if c.reference] or layer_cases[:1]
        if layer_cases and not any(c.rejects for c in references):
            problems.append(
                f"its reference case {references[0].id} records no bad uses (rejects=): a stable layer's "
                "exception types are part of its snapshot"
            )
        for case in references:
            with warnings.catch_warnings(), internal_construction():
                warnings.simplefilter("ignore")
                module = seeded(case.build)
            for path, sub in module.named_modules():
                if not path:
                    continue
                for dependency in _prototype_objects(type(sub)):
                    problems.append(
                        f"its reference configuration {case.id} builds the prototype sub-layer {path} ({dependency})"
                    )
        if not layer_cases and not loss_cases:
            problems.append(
                f"it has no case in the conformance table (tvexp/_tooling/conformance/): add a LayerCase for {short}"
            )
        if conformance:
            for case in layer_cases:
                for check, outcome in failures(run_conformance(case)).items():
                    problems.append(f"conformance {case.id} {check}: {outcome}")
    return problems


def _rewrite_readme_table() -> None:
    """Regenerates the README's tier table (from a fresh interpreter: the namespaces changed)."""
    readme = _package_root().parent / "README.md"
    if not readme.is_file() or readme_table.BEGIN not in readme.read_text(encoding="utf-8"):
        return
    result = run_fresh("-m", "tvexp._tooling.readme_table", str(readme))
    if result.returncode != 0:
        raise UsageError(f"rewriting the README's tier table failed:\n{result.stdout}{result.stderr}")
    print(result.stdout.strip())


def _package_root() -> Path:

    return Path(tvexp.__file__).resolve().parent


def _released_as_prototype(symbol: str) -> list[str]:
    """The shipped release snapshots in which ``symbol`` is a prototype object."""

    releases = []
    for version, path in release_snapshots().items():
        facts = snapshot_format.parse_any(path.read_text(encoding="utf-8"))["objects"].get(symbol)
        if facts is not None and facts.get("tier") == "prototype" and facts.get("kind") != "moved-name":
            releases.append(version)
    return releases


def _ensure_source_checkout() -> None:

    if not is_source_checkout():
        raise Refusal("this tvexp is installed, not a source checkout: promote and deprecate edit the sources")


def promote(name: str, *, since: str | None = None, skip_conformance: bool = False) -> int:
    """``tvexp-api promote``: prototype -> stable, with the checks, edits, snapshot and diff."""

    try:
        _ensure_source_checkout()
        stable_hit = None
        try:
            stable_hit = find_public(name, tuple(PROMOTION_TARGET.values()))
        except Refusal:
            pass
        if stable_hit is not None and not name.startswith("tvexp.prototype"):
            raise Refusal(f"{stable_hit[0]}.{stable_hit[1]} is already stable")
        namespace, short, obj = find_public(name, tuple(PROMOTION_TARGET))
        tier = tier_of(obj)
        if tier is None or tier.level != "prototype":
            raise Refusal(f"{namespace}.{short} carries no @prototype marker")
        since = since or next_release(tvexp.__version__)
        try:
            Tier("stable", since)
        except ValueError as error:
            raise Refusal(f"--since: {error}") from None
        if parse_version(since).sort_key() < parse_version(next_release(tvexp.__version__)).sort_key():
            raise Refusal(f"--since={since} is before the next release {next_release(tvexp.__version__)}")
        before = live_snapshot()
        to_review = references_to_review(_package_root().parent, f"{namespace}.{short}")
        print(f"checking {namespace}.{short} for promotion (docstring, prototype dependencies, conformance battery)...")
        problems = promotion_problems(short, obj, conformance=not skip_conformance)
        if problems:
            raise Refusal(f"refusing to promote {namespace}.{short}:\n" + "\n".join(f"  - {p}" for p in problems))
        target_namespace = PROMOTION_TARGET[namespace]
        source_path, definition_name = _source_of(obj)
        defining_module = (inspect.unwrap(obj) if not isinstance(obj, type) else obj).__module__
        edit_marker(source_path, definition_name, old="prototype", new="stable", since=since)
        remove_export(_module_file(namespace), short, defining_module)
        add_export(_module_file(target_namespace), short, defining_module)
        print(f'{source_path}: @prototype -> @stable(since="{since}")')
        print(f"{namespace} -> {target_namespace}: moved {short!r} between the __all__ lists and imports")
        for path in update_references(_package_root() / "_tooling" / "conformance", namespace, target_namespace, short):
            print(f"{path}: the conformance table now builds {target_namespace}.{short}")
        releases = _released_as_prototype(f"{namespace}.{short}")
        if releases:
            removed_in = moved_name_removed_in(since)
            row = (f"{namespace}:{short}", f"{target_namespace}:{short}", since, removed_in)
            add_moved_name_row(_package_root() / "_api" / "moved_names.py", row)
            print(
                f"moved names: {namespace}.{short} keeps working (warning, same object) until {removed_in} "
                f"(released as prototype in {', '.join(releases)})"
            )
        else:
            print(f"moved names: none needed ({namespace}.{short} was never in a release)")
        rewrite_snapshot_and_print_diff(before)
        _rewrite_readme_table()
        if to_review:
            print(f"review these uses of the old path {namespace}.{short}:\n  " + "\n  ".join(to_review))
        return 0
    except Refusal as refusal:
        raise UsageError(str(refusal)) from None


def deprecate(name: str, *, removed_in: str, instead: str | None = None) -> int:
    """``tvexp-api deprecate``: two decorator lines next to the definition, snapshot and diff."""

    try:
        _ensure_source_checkout()
        namespace, short, obj = find_public(name, tuple(TIER_NAMESPACES))
        public = f"{namespace}.{short}"
        if getattr(obj, "__tvexp_deprecation__", None) is not None:
            raise Refusal(f"{public} is already deprecated")
        since = next_release(tvexp.__version__)
        try:
            check_policy(since, removed_in, what=public)
        except ValueError as error:
            raise Refusal(str(error)) from None
        before = live_snapshot()
        source_path, definition_name = _source_of(obj)
        add_deprecation_decorators(
            source_path, definition_name, since=since, removed_in=removed_in, instead=instead, public=public
        )
        print(f"{source_path}: {public} deprecated since {since}, removed in {removed_in}")
        rewrite_snapshot_and_print_diff(before)
        return 0
    except Refusal as refusal:
        raise UsageError(str(refusal)) from None


def rewrite_snapshot_and_print_diff(before: dict[str, Any]) -> dict[str, Any]:
    """Writes the committed snapshot from a fresh interpreter (the sources changed) and prints the diff."""
    result = run_fresh("-m", "tvexp._tooling", "snapshot")
    if result.returncode != 0:
        raise UsageError(f"rewriting the snapshot failed:\n{result.stdout}{result.stderr}")
    after = snapshot_format.parse_any(current_snapshot_path().read_text(encoding="utf-8"))
    print(f"rewrote {current_snapshot_path()}")
    print(api_diff.format_changes(api_diff.diff_snapshots(before, after)), end="")
    return after


def subprocess_environment() -> dict[str, str]:
    """The environment for a fresh interpreter that imports this very tvexp."""
    environment = dict(os.environ)
    root = str(_package_root().parent)
    environment["PYTHONPATH"] = root + (os.pathsep + environment["PYTHONPATH"] if environment.get("PYTHONPATH") else "")
    return environment


def run_fresh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=subprocess_environment())
