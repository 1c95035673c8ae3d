"""The documentation site builds offline with warnings as errors, and documents every public object.

The site is built once per test session into a temporary directory (``sphinx-build -W -b html``
in a subprocess, as ``make docs`` runs it). Every public object (the six tier namespaces'
``__all__`` plus the core objects) must have an anchor on a reference page, and its entry must
carry the tier badge and ``since`` read from its marker, and an example.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tvexp._api.tiers import tier_of
from tvexp._tooling.surface import CORE_OBJECTS, TIER_NAMESPACES

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = REPO_ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))

import tvexp_docs  # noqa: E402

pytestmark = pytest.mark.slow


def public_objects() -> dict[str, tuple[str, str]]:
    """symbol -> (tier, since) for every public object, from the code."""
    objects = {}
    for namespace, tier in TIER_NAMESPACES.items():
        module = importlib.import_module(namespace)
        for name in module.__all__:
            marker = tier_of(getattr(module, name))
            assert marker is not None, f"{namespace}.{name} has no tier marker"
            objects[f"{namespace}.{name}"] = (tier, marker.since)
    for symbol, since in CORE_OBJECTS.items():
        objects[symbol] = ("core", since)
    return objects


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Builds the HTML site once; returns {page path: html} for the reference pages."""
    out = tmp_path_factory.mktemp("docs")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(out / "doctrees"),
            str(DOCS),
            str(out / "html"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
    )
    assert result.returncode == 0, f"sphinx-build failed:\n{result.stdout}\n{result.stderr}"
    pages = {}
    for page in sorted((out / "html").rglob("*.html")):
        pages[str(page.relative_to(out / "html"))] = page.read_text(encoding="utf-8")
    return pages


def entry(html: str, symbol: str) -> str | None:
    """The HTML of the ``<dl>`` whose signature has the anchor ``symbol`` (nested ``dl`` included)."""
    anchor = html.find(f'id="{symbol}"')
    if anchor < 0:
        return None
    start = html.rfind("<dl", 0, anchor)
    depth, position = 0, start
    for tag in re.finditer(r"<(/?)dl[\s>]", html[start:]):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            position = start + tag.end()
            break
    return html[start:position]


def find_entry(site: dict[str, str], symbol: str) -> tuple[str, str] | None:
    for page, html in site.items():
        if page.startswith("reference/"):
            found = entry(html, symbol)
            if found is not None:
                return page, found
    return None


def test_every_public_object_has_an_entry_with_its_tier_badge_and_since(site: dict[str, str]) -> None:
    objects = public_objects()
    assert len(objects) >= len(CORE_OBJECTS)
    missing, unbadged = [], []
    for symbol, (tier, since) in objects.items():
        found = find_entry(site, symbol)
        if found is None:
            missing.append(symbol)
            continue
        _, html = found
        if f'class="tvexp-badge tvexp-badge-{tier}"' not in html or f">since {since}<" not in html:
            unbadged.append(f"{symbol} (expected {tier}, since {since})")
    assert not missing, f"public objects without a reference entry (anchor): {missing}"
    assert not unbadged, f"reference entries without their tier badge or since: {unbadged}"


def test_each_object_is_on_its_tiers_page(site: dict[str, str]) -> None:
    pages = {
        namespace: f"reference/{namespace.removeprefix('tvexp.').replace('.', '_')}.html"
        for namespace in TIER_NAMESPACES
    }
    wrong = []
    for symbol, (tier, _) in public_objects().items():
        namespace = symbol.rpartition(".")[0]
        expected = pages.get(namespace, "reference/core.html") if tier != "core" else "reference/core.html"
        if entry(site[expected], symbol) is None:
            wrong.append(f"{symbol} not on {expected}")
    assert not wrong, wrong


def test_every_entry_shows_a_signature_and_an_example(site: dict[str, str]) -> None:
    without_example = []
    for symbol in public_objects():
        found = find_entry(site, symbol)
        assert found is not None, symbol
        _, html = found
        if 'class="doctest' not in html:
            without_example.append(symbol)
    assert not without_example, f"reference entries without a >>> example in the docstring: {without_example}"


def test_marker_admonition_is_replaced_by_the_badge(site: dict[str, str]) -> None:
    shown_twice = [page for page, html in site.items() if re.search(r"(Stable|Prototype) since \d", html)]
    assert not shown_twice, f"the marker's admonition is still rendered on {shown_twice}"


def test_site_needs_no_network(site: dict[str, str]) -> None:
    remote = sorted(
        {m for html in site.values() for m in re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', html)}
    )
    assert not remote, f"pages load remote resources: {remote}"


def test_api_changes_page_is_rendered_from_the_snapshots(site: dict[str, str]) -> None:
    html = site["reference/changes.html"]
    releases, _ = tvexp_docs.release_snapshots()
    if len(releases) < 1:
        assert "No release snapshot has been recorded yet" in html
    for version, _ in releases:
        assert version in html


def test_api_changes_page_diffs_consecutive_releases_and_the_current_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import copy

    from sphinx.application import Sphinx

    from tvexp._tooling.snapshot_format import parse_any, render_text

    current = parse_any((Path(tvexp_docs.snapshot_directory()) / "current.txt").read_text())
    snapshots = tmp_path / "snapshots"
    snapshots.mkdir()
    (snapshots / "0.1.0.txt").write_text(render_text(current))
    changed = copy.deepcopy(current)
    parameters = changed["objects"]["tvexp.stable.SqueezeExcitation"]["signature"]["parameters"]
    parameters[2]["default"] = "torch.nn.modules.activation.SiLU"
    (snapshots / "0.2.0.txt").write_text(render_text(changed))
    (snapshots / "current.txt").write_text(render_text(changed))
    import tvexp._tooling.snapshot_store

    monkeypatch.setattr(tvexp._tooling.snapshot_store, "SNAPSHOT_DIRECTORY", snapshots)
    monkeypatch.setattr(tvexp_docs, "snapshot_directory", lambda: snapshots)
    source = tmp_path / "source"
    source.mkdir()
    (source / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(DOCS / '_ext')!r})\nextensions = ['tvexp_docs']\n"
        f"html_math_renderer = 'tvexp_text'\ntvexp_snapshot_directory = {str(snapshots)!r}\n"
    )
    (source / "index.rst").write_text(
        "Changes\n=======\n\n.. tvexp-api-changes::\n\n.. tvexp-command:: diff {latest_release} current\n"
    )
    app = Sphinx(
        str(source),
        str(source),
        str(tmp_path / "html"),
        str(tmp_path / "doctrees"),
        "html",
        status=None,
        warning=None,
        freshenv=True,
        warningiserror=True,
    )
    app.build()
    html = (tmp_path / "html" / "index.html").read_text()
    first, second = html.index("0.2.0 to"), html.index("0.1.0 to 0.2.0")
    assert first < second, "the newest release comes first"
    section = html[second:]
    assert "tvexp.stable.SqueezeExcitation" in section and "parameter-default-changed" in section
    assert "tvexp-badge-breaking" in section and "1 change(s), 1 breaking" in section
    assert "No changes to the public API." in html[first:second]
    assert "The first release:" in html
    command = re.sub(r"<[^>]+>", "", html[html.index("tvexp-command") :])
    assert "$ tvexp-api diff 0.2.0 current\nno API changes\n$ echo $?\n0" in command


def test_badge_lines_render_deprecations_and_prototype_options() -> None:
    from tvexp._api.tiers import Tier

    def __init__(self, channels: int, new_option: bool = False) -> None: ...

    __init__.__tvexp_prototype_parameters__ = {"new_option": Tier("prototype", "0.2.0")}  # type: ignore[attr-defined]
    record = SimpleNamespace(since="0.3.0", removed_in="0.5.0", instead="tvexp.stable.New")
    cls = type("Old", (), {"__init__": __init__, "__tvexp_deprecation__": record})
    text = "\n".join(tvexp_docs.badge_lines("stable", "0.1.0", cls) + tvexp_docs.parameter_note_lines(cls))
    assert ":tvexp-badge:`stable` :tvexp-badge:`since 0.1.0` :tvexp-badge:`deprecated`" in text
    assert ".. deprecated:: 0.3.0" in text and "Removed in 0.5.0" in text and "tvexp.stable.New" in text
    assert "``new_option`` (since 0.2.0)" in text


def test_marker_note_is_stripped_from_a_docstring() -> None:
    from tvexp._api.tiers import Tier, _with_tier_note

    lines = _with_tier_note("Summary.\n\nExample:\n    >>> 1\n    1", Tier("prototype", "0.1.0")).splitlines()
    tvexp_docs.strip_marker_note(lines)
    assert lines == ["Summary.", "", "Example:", "    >>> 1", "    1"]


@pytest.mark.parametrize(
    "latex, html",
    [
        (r"(N, C_{in}, H_{in}, W_{in})", "(N, C<sub>in</sub>, H<sub>in</sub>, W<sub>in</sub>)"),
        (r"\sqrt{\mathrm{var} + \epsilon}", "√(var + ε)"),
        (r"4 \cdot planes", "4 · planes"),
        (r"\sigma^2", "σ<sup>2</sup>"),
    ],
)
def test_math_renders_offline_as_html_text(latex: str, html: str) -> None:
    assert tvexp_docs.latex_to_html(latex) == html
