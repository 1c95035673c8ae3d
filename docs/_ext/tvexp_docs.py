"""Sphinx extension for the tvexp site: API reference pages generated from the tier markers.

Directives:

``.. tvexp-namespace:: tvexp.stable``
    A summary table and one autodoc entry for every name in the namespace's ``__all__`` (sorted),
    plus the moved names whose old path is in that namespace.
``.. tvexp-core::``
    The tier-less core objects (``tvexp._tooling.surface.CORE_OBJECTS``).
``.. tvexp-api-changes::``
    The classified API changes between the release snapshots shipped in
    ``tvexp/_tooling/snapshots/`` (and from the latest release to the current snapshot).

An ``autodoc-process-docstring`` hook replaces the admonition that the tier markers append to every
docstring with a badge line (tier, ``since``), a deprecation notice with its replacement, and the
prototype options and deprecated parameters of the object, all read from the markers. Nothing about
tiers or versions is typed by hand in the pages.

Docstring examples are run by ``pytest --doctest-modules`` in their module's namespace, so under
the doctest builder the generated reference content is left out (it would run without those
globals); the guide pages' examples run under the doctest builder.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

TIER_LABELS = {"stable": "Stable", "prototype": "Prototype", "core": "Core"}
# The admonition appended by ``tvexp._api.tiers._with_tier_note``: replaced by the badge line.
_MARKER_NOTE = re.compile(r"^\.\. admonition:: (Stable|Prototype) since \S+\s*$")
# Methods every layer has; their docstrings (if any) belong to torch.nn.Module's contract.
_SKIPPED_MEMBERS = {"forward", "extra_repr", "reset_parameters", "reset_running_stats"}


# --------------------------------------------------------------------------- what the code says


def tier_namespaces() -> dict[str, str]:
    from tvexp._tooling.surface import TIER_NAMESPACES

    return dict(TIER_NAMESPACES)


def core_objects() -> dict[str, str]:
    from tvexp._tooling.surface import CORE_OBJECTS

    return dict(CORE_OBJECTS)


def resolve(symbol: str) -> Any:
    module_name, _, name = symbol.rpartition(".")
    return getattr(importlib.import_module(module_name), name)


def public_symbols() -> dict[str, tuple[str, str | None]]:
    """Every public symbol -> (tier, since): the six namespaces' ``__all__`` plus the core objects."""
    from tvexp._api.tiers import tier_of

    symbols: dict[str, tuple[str, str | None]] = {}
    for namespace, tier in tier_namespaces().items():
        module = importlib.import_module(namespace)
        for name in getattr(module, "__all__", ()):
            marker = tier_of(getattr(module, name))
            symbols[f"{namespace}.{name}"] = (tier, marker.since if marker else None)
    for symbol, since in core_objects().items():
        symbols[symbol] = ("core", since)
    return symbols


def _wrapper_chain(fn: Any) -> list[Any]:
    chain: list[Any] = []
    while fn is not None and all(fn is not seen for seen in chain):
        chain.append(fn)
        fn = getattr(fn, "__wrapped__", None)
    return chain


def parameter_markers(obj: Any) -> tuple[dict[str, str], dict[str, Any]]:
    """(prototype option -> since, deprecated parameter -> Deprecation) of a class or function."""
    target = vars(obj).get("__init__") if isinstance(obj, type) else obj
    prototype: dict[str, str] = {}
    deprecated: dict[str, Any] = {}
    for link in _wrapper_chain(target):
        for name, tier in (getattr(link, "__tvexp_prototype_parameters__", None) or {}).items():
            prototype.setdefault(name, tier.since)
        for name, record in (getattr(link, "__tvexp_deprecated_parameters__", None) or {}).items():
            deprecated.setdefault(name, record)
    return prototype, deprecated


def deprecation_of(obj: Any) -> Any:
    if isinstance(obj, type):
        return vars(obj).get("__tvexp_deprecation__")
    return getattr(obj, "__tvexp_deprecation__", None)


def summary_line(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    first = doc.strip().split("\n\n", 1)[0]
    return " ".join(first.split())


# --------------------------------------------------------------------------- badges


def badge_role(
    name: str,
    rawtext: str,
    text: str,
    lineno: int,
    inliner: Any,
    options: dict | None = None,
    content: list | None = None,
) -> tuple[list[nodes.Node], list]:
    """``:tvexp-badge:`stable```, ``:tvexp-badge:`since 0.1.0```: a pill, ``<span class="tvexp-badge ...">``."""
    text = text.strip()
    kind = text.split()[0].lower()
    label = TIER_LABELS.get(kind, text if " " in text else text.capitalize())
    return [nodes.inline(rawtext, label, classes=["tvexp-badge", f"tvexp-badge-{kind}"])], []


def badge_lines(tier: str, since: str | None, obj: Any) -> list[str]:
    """The reST lines that open an object's entry: tier badge, ``since`` and any deprecation."""
    line = f":tvexp-badge:`{tier}`"
    if since:
        line += f" :tvexp-badge:`since {since}`"
    record = deprecation_of(obj)
    if record is not None:
        line += " :tvexp-badge:`deprecated`"
    lines = [line, ""]
    if record is not None:
        lines += [f".. deprecated:: {record.since}", ""]
        text = f"   Removed in {record.removed_in}."
        if record.instead:
            text += f" Use :py:obj:`{record.instead}` instead."
        lines += [text, ""]
    return lines


def parameter_note_lines(obj: Any) -> list[str]:
    """Notes on the prototype options and deprecated parameters of ``obj`` (after its summary)."""
    prototype, deprecated = parameter_markers(obj)
    lines: list[str] = []
    if prototype:
        options = ", ".join(f"``{name}`` (since {since})" for name, since in sorted(prototype.items()))
        lines += [
            ".. rst-class:: tvexp-prototype-options",
            "",
            f":tvexp-badge:`prototype` options: {options}. Passing one warns "
            "``tvexp.PrototypeWarning`` once per process; these may change in any release.",
            "",
        ]
    for name, record in sorted(deprecated.items()):
        text = f"Parameter ``{name}`` is deprecated since {record.since} and will be removed in {record.removed_in}"
        text += f"; use ``{record.instead}`` instead." if record.instead else "."
        lines += [".. rst-class:: tvexp-deprecated-parameter", "", f":tvexp-badge:`deprecated` {text}", ""]
    return lines


def strip_marker_note(lines: list[str]) -> None:
    """Removes the marker's ``.. admonition:: Stable since ...`` block in place."""
    for index, line in enumerate(lines):
        if _MARKER_NOTE.match(line.strip()) and not line.startswith(" "):
            end = index + 1
            while end < len(lines) and (not lines[end].strip() or lines[end].startswith((" ", "\t"))):
                end += 1
            del lines[index:end]
            while lines and not lines[-1].strip():
                lines.pop()
            return


def process_docstring(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    strip_marker_note(lines)
    info = app.env.tvexp_public.get(name)  # type: ignore[attr-defined]
    if info is None:
        return
    tier, since = info
    notes = parameter_note_lines(obj)
    if notes:
        summary_end = lines.index("") if "" in lines else len(lines)
        lines[summary_end:summary_end] = ["", *notes]
    lines[:0] = badge_lines(tier, since, obj)


def skip_member(app: Sphinx, what: str, name: str, obj: Any, skip: bool, options: Any) -> bool | None:
    if name in _SKIPPED_MEMBERS:
        return True
    return None


# --------------------------------------------------------------------------- directives


class _GeneratedDirective(SphinxDirective):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Pages made by these directives are rebuilt when this extension changes.
        self.env.note_dependency(__file__)

    def parse(self, lines: list[str]) -> list[nodes.Node]:
        container = nodes.container()
        nested_parse_with_titles(self.state, StringList(lines, source=f"<tvexp:{self.name}>"), container)
        return container.children

    @property
    def doctest_build(self) -> bool:
        return self.env.app.builder.name == "doctest"


def _autodoc_directive(obj: Any) -> str:
    if isinstance(obj, type) and issubclass(obj, BaseException):
        return "autoexception"
    if isinstance(obj, type):
        return "autoclass"
    if callable(obj):
        return "autofunction"
    return "autodata"


def _kind(obj: Any) -> str:
    if isinstance(obj, type):
        import torch.nn

        return "layer" if issubclass(obj, torch.nn.Module) else "class"
    return "function" if callable(obj) else "data"


class NamespaceDirective(_GeneratedDirective):
    """``.. tvexp-namespace:: tvexp.stable``: the whole namespace, from its ``__all__``."""

    required_arguments = 1
    option_spec = {"no-summary": directives.flag}

    def run(self) -> list[nodes.Node]:
        namespace = self.arguments[0]
        module = importlib.import_module(namespace)
        self.env.note_dependency(inspect.getfile(module))
        names = sorted(getattr(module, "__all__", ()))
        lines: list[str] = []
        if not names:
            lines += ["*This namespace exports nothing yet.*", ""]
        elif "no-summary" not in self.options:
            lines += self.summary_table(namespace, module, names)
        if not self.doctest_build:
            for name in names:
                obj = getattr(module, name)
                lines += [f".. {_autodoc_directive(obj)}:: {namespace}.{name}"]
                if isinstance(obj, type) and not issubclass(obj, BaseException):
                    lines += ["   :members:"]
                lines += [""]
        lines += self.moved_names(namespace)
        return self.parse(lines)

    def summary_table(self, namespace: str, module: Any, names: list[str]) -> list[str]:
        from tvexp._api.tiers import tier_of

        lines = [
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 30 10 10 50",
            "   :class: tvexp-summary",
            "",
            "   * - Name",
            "     - Kind",
            "     - Since",
            "     - Summary",
        ]
        for name in names:
            obj = getattr(module, name)
            marker = tier_of(obj)
            status = " :tvexp-badge:`deprecated`" if deprecation_of(obj) is not None else ""
            lines += [
                f"   * - :py:obj:`~{namespace}.{name}`{status}",
                f"     - {_kind(obj)}",
                f"     - {marker.since if marker else '?'}",
                f"     - {summary_line(obj) or ' '}",
            ]
        return lines + [""]

    def moved_names(self, namespace: str) -> list[str]:
        from tvexp._api.deprecation import MOVED_NAMES

        rows = [moved for moved in MOVED_NAMES.values() if moved.old.partition(":")[0] == namespace]
        if not rows:
            return []
        lines = [
            ".. rubric:: Moved names",
            "",
            "These old paths still work, warn ``tvexp.TvexpDeprecationWarning`` and return the very "
            "same object as the new path, until the release named.",
            "",
            ".. list-table::",
            "   :header-rows: 1",
            "   :class: tvexp-moved",
            "",
            "   * - Old path",
            "     - New path",
            "     - Since",
            "     - Removed in",
        ]
        for moved in sorted(rows, key=lambda m: m.old):
            lines += [
                f"   * - ``{moved.old.replace(':', '.')}``",
                f"     - :py:obj:`{moved.new.replace(':', '.')}`",
                f"     - {moved.since}",
                f"     - {moved.removed_in}",
            ]
        return lines + [""]


class CoreDirective(_GeneratedDirective):
    """``.. tvexp-core::``: the tier machinery that every tier shares."""

    def run(self) -> list[nodes.Node]:
        lines: list[str] = []
        order = {"class": 0, "layer": 0, "function": 1, "data": 2}
        symbols = sorted(core_objects(), key=lambda symbol: (order[_kind(resolve(symbol))], symbol.lower()))
        for symbol in symbols:
            obj = resolve(symbol)
            if isinstance(obj, str):
                lines += self.data_entry(symbol, obj)
            elif not self.doctest_build:
                lines += [f".. {_autodoc_directive(obj)}:: {symbol}", ""]
        return self.parse(lines)

    def data_entry(self, symbol: str, value: str) -> list[str]:
        tier, since = self.env.tvexp_public[symbol]  # type: ignore[attr-defined]
        module_name, _, name = symbol.rpartition(".")
        return [
            f".. py:data:: {symbol}",
            "   :type: str",
            f"   :value: {value!r}",
            "",
            *("   " + line if line else "" for line in badge_lines(tier, since, None)),
            "   The installed release of tvexp, a :pep:`440` version string; the package's single",
            "   source of its version (``0.2.0.dev0`` between releases). ``since`` values of the tier",
            "   markers name the release an object first shipped in.",
            "",
            "   .. rubric:: Example",
            "",
            f"   >>> import {module_name}",
            f"   >>> {symbol}",
            f"   {value!r}",
            "",
        ]


# Read-only commands only: ``promote``, ``deprecate`` and ``snapshot`` edit the source tree.
_READ_ONLY_COMMANDS = {"list", "audit", "diff", "deprecations"}


class CommandDirective(_GeneratedDirective):
    """``.. tvexp-command:: audit train.py``: runs ``tvexp-api`` at build time and shows its output.

    Options: ``:cwd:`` (relative to the page's directory) and ``:head:`` (show the first N lines).
    The exit status is shown too, so the page always tells what the tool really does.
    """

    required_arguments = 1
    final_argument_whitespace = True
    option_spec = {"cwd": directives.unchanged, "head": directives.nonnegative_int}

    def run(self) -> list[nodes.Node]:
        import contextlib
        import io
        import os
        import shlex

        from tvexp._tooling.cli import main

        command = self.arguments[0]
        if "{latest_release}" in command:
            # The newest release snapshot shipped in the package; before the first release there
            # is nothing to compare, and the page says so instead of showing a made-up diff.
            releases, _ = release_snapshots()
            if not releases:
                note = (
                    "No release snapshot has been recorded yet; once one is, this shows "
                    f"``tvexp-api {command.replace('{latest_release}', '<release>')}``."
                )
                return self.parse([note, ""])
            command = command.replace("{latest_release}", releases[-1][0])
            for _, path in releases:
                self.env.note_dependency(str(path))
        argv = shlex.split(command)
        if argv[0] not in _READ_ONLY_COMMANDS:
            raise self.error(f"tvexp-command runs only {sorted(_READ_ONLY_COMMANDS)}, not {argv[0]!r}")
        page_directory = Path(self.env.doc2path(self.env.docname)).parent
        cwd = (page_directory / self.options.get("cwd", ".")).resolve()
        for argument in argv[1:]:
            if (cwd / argument).is_file():
                self.env.note_dependency(str(cwd / argument))
        output = io.StringIO()
        previous = os.getcwd()
        try:
            os.chdir(cwd)
            with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
                status = main(argv)
        finally:
            os.chdir(previous)
        lines = output.getvalue().rstrip("\n").splitlines()
        head = self.options.get("head")
        if head is not None and len(lines) > head:
            lines = lines[:head] + [f"... ({len(lines) - head} more lines)"]
        text = "\n".join([f"$ tvexp-api {shlex.join(argv)}", *lines, "$ echo $?", str(status)])
        block = nodes.literal_block(text, text, language="console", classes=["tvexp-command"])
        return [block]


def snapshot_directory() -> Path:
    """The snapshots shipped in the package (``tvexp/_tooling/snapshots``)."""
    import tvexp

    return Path(tvexp.__file__).resolve().parent / "_tooling" / "snapshots"


def release_snapshots(directory: Path | None = None) -> tuple[list[tuple[str, Path]], Path | None]:
    """(release version, file) sorted by version, and the current snapshot file if there is one."""
    from tvexp._api.versions import parse_version

    releases: list[tuple[Any, str, Path]] = []
    current = None
    directory = directory or snapshot_directory()
    for path in sorted(directory.glob("*.txt")) if directory.is_dir() else []:
        try:
            parsed = parse_version(path.stem)
        except ValueError:
            current = path if current is None or path.stem == "current" else current
            continue
        if parsed.dev is None:
            releases.append((parsed, path.stem, path))
    releases.sort(key=lambda item: item[0].sort_key())
    return [(name, path) for _, name, path in releases], current


class ApiChangesDirective(_GeneratedDirective):
    """``.. tvexp-api-changes::``: classified changes between consecutive release snapshots."""

    def run(self) -> list[nodes.Node]:
        import tvexp
        from tvexp._tooling.snapshot_format import parse_any

        configured = self.config.tvexp_snapshot_directory
        releases, current = release_snapshots(Path(configured) if configured else None)
        for _, path in releases:
            self.env.note_dependency(str(path))
        if current is not None:
            self.env.note_dependency(str(current))
        lines: list[str] = []
        steps: list[tuple[str, str, Path, Path]] = [
            (old, new, old_path, new_path) for (old, old_path), (new, new_path) in zip(releases, releases[1:])
        ]
        if releases and current is not None:
            steps.append((releases[-1][0], f"{tvexp.__version__} (unreleased)", releases[-1][1], current))
        if not releases:
            lines += [
                "No release snapshot has been recorded yet, so there is nothing to compare. "
                "Once ``tvexp-api`` records one in ``tvexp/_tooling/snapshots/``, each release "
                "gets a section here.",
                "",
            ]
        for old, new, old_path, new_path in reversed(steps):
            lines += self.section(old, new, parse_any(old_path.read_text()), parse_any(new_path.read_text()))
        if releases:
            first, first_path = releases[0]
            objects = parse_any(first_path.read_text()).get("objects", {})
            lines += [
                f"{first}",
                "-" * max(len(first), 3),
                "",
                f"The first release: {self.count_by_tier(objects)}.",
                "",
            ]
        return self.parse(lines)

    @staticmethod
    def count_by_tier(objects: dict[str, Any]) -> str:
        counts: dict[str, int] = {}
        for facts in objects.values():
            if facts.get("kind") != "moved-name":
                counts[facts.get("tier", "?")] = counts.get(facts.get("tier", "?"), 0) + 1
        return ", ".join(f"{counts[t]} {t}" for t in ("stable", "prototype", "core") if t in counts) + " public objects"

    def section(self, old: str, new: str, old_snapshot: dict, new_snapshot: dict) -> list[str]:
        from tvexp._tooling.api_diff import diff_snapshots

        changes = diff_snapshots(old_snapshot, new_snapshot)
        title = f"{old} to {new}"
        lines = [title, "-" * len(title), ""]
        if not changes:
            return lines + ["No changes to the public API.", ""]
        breaking = sum(change.breaking for change in changes)
        lines += [
            f"{len(changes)} change(s), {breaking} breaking.",
            "",
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 28 10 20 10 32",
            "   :class: tvexp-changes",
            "",
            "   * - Object",
            "     - Tier",
            "     - Change",
            "     - Breaking",
            "     - Detail",
        ]
        for change in sorted(changes, key=lambda c: (not c.breaking, c.symbol, c.kind)):
            verdict = ":tvexp-badge:`breaking`" if change.breaking else "no"
            lines += [
                f"   * - ``{change.symbol}``",
                f"     - :tvexp-badge:`{change.tier}`",
                f"     - ``{change.kind}``",
                f"     - {verdict}",
                f"     - {_escape(change.detail)}",
            ]
        return lines + [""]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("`", "\\`").replace("|", "\\|") or " "


# --------------------------------------------------------------------------- math without MathJax

# The site is read offline too, so math is rendered as HTML text (sub/superscripts and Unicode
# symbols) instead of loading MathJax from a CDN. The docstrings use a small subset of LaTeX.
_SYMBOLS = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "varepsilon": "ε",
    "lambda": "λ",
    "mu": "μ",
    "sigma": "σ",
    "tau": "τ",
    "theta": "θ",
    "rho": "ρ",
    "phi": "φ",
    "pi": "π",
    "omega": "ω",
    "Delta": "Δ",
    "Sigma": "Σ",
    "cdot": "·",
    "times": "×",
    "ldots": "…",
    "cdots": "⋯",
    "dots": "…",
    "lceil": "⌈",
    "rceil": "⌉",
    "lfloor": "⌊",
    "rfloor": "⌋",
    "le": "≤",
    "leq": "≤",
    "ge": "≥",
    "geq": "≥",
    "ne": "≠",
    "neq": "≠",
    "in": "∈",
    "mid": "|",
    "odot": "⊙",
    "infty": "∞",
    "to": "→",
    "rightarrow": "→",
    "approx": "≈",
    "sum": "∑",
    "prod": "∏",
    "pm": "±",
    "cap": "∩",
    "cup": "∪",
    "setminus": "∖",
    "vert": "|",
    "lVert": "‖",
    "rVert": "‖",
    "{": "{",
    "}": "}",
    "_": "_",
    "%": "%",
    ",": " ",
    ";": " ",
    "!": "",
    " ": " ",
    "quad": "  ",
    "qquad": "    ",
    "left": "",
    "right": "",
    "big": "",
    "Big": "",
    "bigl": "",
    "bigr": "",
    "log": "log",
    "exp": "exp",
    "max": "max",
    "min": "min",
    "mean": "mean",
}
_TEXT_COMMANDS = {"mathrm", "operatorname", "text", "mathbf", "mathit", "textrm", "mathcal", "boldsymbol"}
_ACCENTS = {"bar": "\u0304", "hat": "\u0302", "tilde": "\u0303"}


def _math_group(text: str, index: int) -> tuple[str, int]:
    """The HTML of one argument (a ``{...}`` group or a single token) starting at ``index``."""
    while index < len(text) and text[index] == " ":
        index += 1
    if index >= len(text):
        return "", index
    if text[index] == "{":
        depth, end = 1, index + 1
        while end < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            end += 1
        return latex_to_html(text[index + 1 : end - 1]), end
    if text[index] == "\\":
        match = re.match(r"\\([A-Za-z]+|.)", text[index:])
        assert match is not None
        return latex_to_html(match.group(0)), index + len(match.group(0))
    return _html_escape(text[index]), index + 1


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def latex_to_html(text: str) -> str:
    """A small LaTeX subset as HTML: ``C_{in}`` -> ``C<sub>in</sub>``, ``\\sigma`` -> ``σ``."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char in "_^":
            inner, index = _math_group(text, index + 1)
            out.append(f"<sub>{inner}</sub>" if char == "_" else f"<sup>{inner}</sup>")
        elif char == "{" or char == "}":
            index += 1
        elif char == "\\":
            match = re.match(r"\\([A-Za-z]+|.)", text[index:])
            assert match is not None
            command, index = match.group(1), index + len(match.group(0))
            if command in _TEXT_COMMANDS:
                inner, index = _math_group(text, index)
                out.append(inner)
            elif command == "frac":
                numerator, index = _math_group(text, index)
                denominator, index = _math_group(text, index)
                out.append(f"({numerator}) / ({denominator})")
            elif command == "sqrt":
                inner, index = _math_group(text, index)
                out.append(f"√({inner})")
            elif command in _ACCENTS:
                inner, index = _math_group(text, index)
                out.append(inner + _ACCENTS[command])
            else:
                out.append(_SYMBOLS.get(command, command))
        else:
            out.append(_html_escape(char))
            index += 1
    return "".join(out)


def visit_math_inline(self: Any, node: nodes.Element) -> None:
    self.body.append(f'<span class="math tvexp-math">{latex_to_html(node.astext())}</span>')
    raise nodes.SkipNode


def visit_math_block(self: Any, node: nodes.Element) -> None:
    lines = [latex_to_html(line.strip()) for line in node.astext().split("\\\\") if line.strip()]
    self.body.append('<div class="math tvexp-math-block">' + "<br/>".join(lines) + "</div>\n")
    raise nodes.SkipNode


# --------------------------------------------------------------------------- wiring


def builder_inited(app: Sphinx) -> None:
    app.env.tvexp_public = public_symbols()  # type: ignore[attr-defined]


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("sphinx.ext.autodoc")
    app.add_html_math_renderer("tvexp_text", (visit_math_inline, None), (visit_math_block, None))
    app.add_role("tvexp-badge", badge_role)
    # Where the API-change page reads snapshots from; None means the package's own (tests override it).
    app.add_config_value("tvexp_snapshot_directory", None, "env")
    app.add_directive("tvexp-namespace", NamespaceDirective)
    app.add_directive("tvexp-core", CoreDirective)
    app.add_directive("tvexp-api-changes", ApiChangesDirective)
    app.add_directive("tvexp-command", CommandDirective)
    app.connect("builder-inited", builder_inited)
    app.connect("autodoc-process-docstring", process_docstring)
    app.connect("autodoc-skip-member", skip_member)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
