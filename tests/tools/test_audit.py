"""``tvexp-api audit``: static findings on sample user files, resolved through aliases and chains."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tvexp._tooling import audit, cli

OBJECTS = {
    "tvexp.prototype.LayerNorm2d": {
        "tier": "prototype",
        "kind": "class",
        "deprecated": None,
        "prototype_parameters": {},
        "deprecated_parameters": {},
    },
    "tvexp.prototype.functional.fancy": {
        "tier": "prototype",
        "kind": "function",
        "deprecated": None,
        "prototype_parameters": {},
        "deprecated_parameters": {},
    },
    "tvexp.stable.MLP": {
        "tier": "stable",
        "kind": "class",
        "deprecated": None,
        "prototype_parameters": {},
        "deprecated_parameters": {
            "norm": {"since": "0.2.0", "removed_in": "0.4.0", "instead": "norm_layer", "detail": "renamed"}
        },
    },
    "tvexp.stable.DropBlock2d": {
        "tier": "stable",
        "kind": "class",
        "deprecated": None,
        "prototype_parameters": {"shared_mask": "0.1.0"},
        "deprecated_parameters": {},
    },
    "tvexp.stable.Old": {
        "tier": "stable",
        "kind": "class",
        "prototype_parameters": {},
        "deprecated_parameters": {},
        "deprecated": {"since": "0.2.0", "removed_in": "0.4.0", "instead": "tvexp.stable.MLP"},
    },
    "tvexp.stable.Later": {
        "tier": "stable",
        "kind": "class",
        "prototype_parameters": {},
        "deprecated_parameters": {},
        "deprecated": {"since": "0.3.0", "removed_in": "0.6.0", "instead": None},
    },
    "tvexp.stable.functional.stochastic_depth": {
        "tier": "stable",
        "kind": "function",
        "deprecated": None,
        "prototype_parameters": {},
        "deprecated_parameters": {},
    },
    "tvexp.prototype.Promoted": {
        "tier": "prototype",
        "kind": "moved-name",
        "moved_to": "tvexp.stable.Promoted",
        "removed_in": "0.4.0",
        "since": "0.3.0",
    },
    "tvexp.stable.Promoted": {
        "tier": "stable",
        "kind": "class",
        "deprecated": None,
        "prototype_parameters": {},
        "deprecated_parameters": {
            "eps": {"since": "0.3.0", "removed_in": "0.5.0", "instead": None, "detail": "removed"}
        },
    },
}


@pytest.fixture
def knowledge() -> audit.Knowledge:
    return audit.Knowledge(OBJECTS, "0.3.0.dev0", released={"tvexp.stable.Gone": "0.2.0"})


def findings_for(source: str, knowledge: audit.Knowledge) -> list[tuple[int, str, str]]:
    return [(f.line, f.category, f.symbol) for f in audit.audit_source(textwrap.dedent(source), "user.py", knowledge)]


def test_module_alias_and_attribute_chains_are_resolved(knowledge) -> None:
    found = findings_for(
        """
        import tvexp.prototype as tvp
        import tvexp

        norm = tvp.LayerNorm2d(8)
        y = tvexp.prototype.functional.fancy(x)
        z = tvexp.stable.functional.stochastic_depth(x, 0.1, "row")
    """,
        knowledge,
    )
    assert found == [
        (5, "prototype", "tvexp.prototype.LayerNorm2d"),
        (6, "prototype", "tvexp.prototype.functional.fancy"),
    ]


def test_from_imports_with_aliases_and_star_imports(knowledge) -> None:
    found = findings_for(
        """
        from tvexp.prototype import LayerNorm2d as LN
        from tvexp import prototype as p
        from tvexp.stable import *

        p.functional.fancy(x)
        Old(3)
    """,
        knowledge,
    )
    assert found == [
        (2, "prototype", "tvexp.prototype.LayerNorm2d"),
        (6, "prototype", "tvexp.prototype.functional.fancy"),
        (7, "deprecated", "tvexp.stable.Old"),
    ]


def test_deprecated_and_prototype_keyword_arguments_of_calls(knowledge) -> None:
    found = audit.audit_source(
        textwrap.dedent("""
        import tvexp.stable as tvs
        from tvexp.stable import DropBlock2d

        mlp = tvs.MLP(3, [4], norm=None)
        drop = DropBlock2d(0.1, 3, shared_mask=True)
        fine = tvs.MLP(3, [4], norm_layer=None)
    """),
        "user.py",
        knowledge,
    )
    assert [(f.line, f.category, f.symbol) for f in found] == [
        (5, "deprecated-parameter", "tvexp.stable.MLP(norm=...)"),
        (6, "prototype-parameter", "tvexp.stable.DropBlock2d(shared_mask=...)"),
    ]
    assert found[0].change == "pass norm_layer= instead"
    assert found[0].removed_in == "0.4.0"


def test_moved_names_point_to_the_new_path_and_their_arguments_are_checked(knowledge) -> None:
    found = audit.audit_source(
        textwrap.dedent("""
        from tvexp.prototype import Promoted
        Promoted(3, eps=1e-5)
    """),
        "user.py",
        knowledge,
    )
    assert [(f.line, f.category) for f in found] == [(2, "moved"), (3, "deprecated-parameter")]
    assert found[0].change == "use tvexp.stable.Promoted"


def test_exit_status_fails_on_what_the_next_minor_release_removes(knowledge) -> None:
    due = audit.audit_source("import tvexp.stable as tvs\ntvs.Old(3)\n", "a.py", knowledge)  # removed in 0.4.0
    later = audit.audit_source("import tvexp.stable as tvs\ntvs.Later(3)\n", "b.py", knowledge)  # removed in 0.6.0
    prototype = audit.audit_source("import tvexp.prototype as tvp\ntvp.LayerNorm2d(3)\n", "c.py", knowledge)
    gone = audit.audit_source("from tvexp.stable import Gone\n", "d.py", knowledge)
    assert audit.must_fail(due, version="0.3.0")
    assert audit.must_fail(due, version="0.4.0.dev0")
    assert not audit.must_fail(due, version="0.2.0"), "0.4.0 is two minors away from 0.2.0"
    assert not audit.must_fail(later, version="0.3.0")
    assert not audit.must_fail(prototype, version="0.3.0")
    assert audit.must_fail(prototype, strict=True, version="0.3.0")
    assert [f.category for f in gone] == ["removed"] and audit.must_fail(gone, version="0.3.0")


def test_unrelated_names_and_other_packages_are_ignored(knowledge) -> None:
    assert (
        findings_for(
            """
        import torch
        from torchvision.ops import MLP
        LayerNorm2d = object
        LayerNorm2d()
        torch.nn.LayerNorm(3)
    """,
            knowledge,
        )
        == []
    )


def test_audit_command_on_files_and_directories(tmp_path: Path, capsys) -> None:
    import tvexp.prototype

    name = next(n for n in tvexp.prototype.__all__ if n[0].isupper())
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "model.py").write_text(f"import tvexp.prototype as tvp\nlayer = tvp.{name}\n")
    (tmp_path / "clean.py").write_text("import tvexp.stable as tvs\n")
    assert cli.main(["audit", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"model.py:2: prototype: tvexp.prototype.{name}" in out and "Change:" in out
    assert cli.main(["audit", "--strict", str(tmp_path / "pkg")]) == 1


def test_assigned_aliases_and_getattr_are_followed(knowledge) -> None:
    found = findings_for(
        """
        import tvexp.prototype as tvp
        import tvexp.stable as tvs

        Norm = tvp.LayerNorm2d
        block = getattr(tvs, "MLP")(8, [8], norm=None)
        norm = Norm(8)
        Layer = tvs.MLP
        layer = Layer(8, [8], norm=None)
        old = getattr(tvs, "Old")
        x = 3
    """,
        knowledge,
    )
    assert (5, "prototype", "tvexp.prototype.LayerNorm2d") in found
    assert (6, "deprecated-parameter", "tvexp.stable.MLP(norm=...)") in found
    assert (9, "deprecated-parameter", "tvexp.stable.MLP(norm=...)") in found
    assert (10, "deprecated", "tvexp.stable.Old") in found
    assert len(found) == 4, found


# --------------------------------------------------------------------------- names: false alarms and scoping

RELEASED = {"tvexp.stable.Gone": "0.2.0", "tvexp.old.Thing": "0.1.0"}


@pytest.fixture
def history() -> audit.Knowledge:
    """The sample surface plus a release that had ``tvexp.stable.Gone`` and a namespace ``tvexp.old``."""
    return audit.Knowledge(OBJECTS, "0.3.0.dev0", released=RELEASED)


def test_imports_of_public_modules_are_not_findings(knowledge) -> None:
    source = """
        import tvexp.stable.losses
        import tvexp.prototype.functional as pf
        from tvexp.stable import functional
        from tvexp.prototype import losses
        from tvexp import stable, prototype
        import tvexp
    """
    assert findings_for(source, knowledge) == []
    assert not audit.must_fail(audit.audit_source(textwrap.dedent(source), "user.py", knowledge), strict=True)


def test_unknown_and_removed_names_and_modules_still_fail(history) -> None:
    found = findings_for(
        """
        from tvexp.stable import Nope
        import tvexp.old
        tvexp.old.Thing()
        from tvexp.stable import Gone
        import tvexp.stable.nothing
    """,
        history,
    )
    assert found == [
        (2, "unknown", "tvexp.stable.Nope"),
        (3, "removed", "tvexp.old"),
        (4, "removed", "tvexp.old.Thing"),
        (5, "removed", "tvexp.stable.Gone"),
        (6, "unknown", "tvexp.stable.nothing"),
    ]
    assert audit.must_fail(audit.audit_source("from tvexp.stable import Nope\n", "u.py", history), version="0.3.0")


def test_private_modules_and_names_are_their_own_category(knowledge) -> None:
    source = """
        import tvexp._layers.mlp
        from tvexp._api.tiers import prototype as marker
        from tvexp._tooling.conformance import table
        import tvexp
        block = tvexp._layers.mlp.MLP(3, [4])
        from tvexp.stable import _helper
        version = tvexp.__version__
    """
    found = audit.audit_source(textwrap.dedent(source), "user.py", knowledge)
    assert [(f.line, f.category, f.symbol) for f in found] == [
        (2, "private", "tvexp._layers.mlp"),
        (3, "private", "tvexp._api.tiers.prototype"),
        (4, "private", "tvexp._tooling.conformance.table"),
        (6, "private", "tvexp._layers.mlp.MLP"),
        (7, "private", "tvexp.stable._helper"),
    ]
    assert all(f.category is audit.AuditCategory.PRIVATE for f in found)
    assert not audit.must_fail(found, version="0.3.0")
    assert audit.must_fail(found, strict=True, version="0.3.0")


def test_a_name_rebound_to_another_library_is_not_tvexps(knowledge) -> None:
    found = findings_for(
        """
        from tvexp.stable import MLP
        import tvexp.prototype as tvp
        from torchvision.ops import MLP
        MLP(3, [4], norm=None)
        Norm = tvp.LayerNorm2d
        Norm = object
        Norm(8, eps=1)
        tvp = __import__("numpy")
        tvp.LayerNorm2d(3)
    """,
        knowledge,
    )
    assert found == [(6, "prototype", "tvexp.prototype.LayerNorm2d")]


def test_parameters_locals_comprehensions_and_class_bodies_shadow_aliases(knowledge) -> None:
    found = findings_for(
        """
        import tvexp.prototype as tvp
        import tvexp.stable as tvs

        def takes(tvp):
            return tvp.LayerNorm2d(3)

        def local():
            tvs = make()
            return tvs.MLP(3, [4], norm=None)

        names = [tvp.LayerNorm2d for tvp in loaders]

        class Model:
            tvs = None
            def build(self):
                return tvs.MLP(3, [4], norm=None)

        def uses_module_alias():
            return tvp.LayerNorm2d(3)
    """,
        knowledge,
    )
    assert found == [
        (17, "deprecated-parameter", "tvexp.stable.MLP(norm=...)"),
        (20, "prototype", "tvexp.prototype.LayerNorm2d"),
    ]


def test_a_binding_from_any_branch_counts_and_function_bodies_see_the_final_module(knowledge) -> None:
    found = findings_for(
        """
        try:
            import tvexp.prototype as tvp
        except ImportError:
            import timm.layers as tvp
        if fast:
            Norm = tvp.LayerNorm2d
        else:
            Norm = None

        def build():
            return tvq.LayerNorm2d(Norm)

        import tvexp.prototype as tvq
        tvp.LayerNorm2d(3)
    """,
        knowledge,
    )
    assert found == [
        (7, "prototype", "tvexp.prototype.LayerNorm2d"),
        (12, "prototype", "tvexp.prototype.LayerNorm2d"),
        (15, "prototype", "tvexp.prototype.LayerNorm2d"),
    ]


def test_star_imports_are_reported_at_each_use_until_rebound(knowledge) -> None:
    found = findings_for(
        """
        from tvexp.prototype import *

        first = LayerNorm2d(3)
        second = LayerNorm2d(4)

        def norm(LayerNorm2d):
            return LayerNorm2d(5)

        LayerNorm2d = None
        LayerNorm2d(6)
    """,
        knowledge,
    )
    assert found == [(4, "prototype", "tvexp.prototype.LayerNorm2d"), (5, "prototype", "tvexp.prototype.LayerNorm2d")]


def test_string_annotations_are_followed(knowledge) -> None:
    found = findings_for(
        """
        from __future__ import annotations
        from typing import TYPE_CHECKING, Optional
        if TYPE_CHECKING:
            import tvexp.prototype as tvp

        def build(norm: "tvp.LayerNorm2d", rest: Optional["tvp.functional.fancy"] = None) -> "list[Old]":
            layer: "tvp.LayerNorm2d" = norm
            return [layer]

        from tvexp.stable import *
    """,
        knowledge,
    )
    assert found == [
        (7, "deprecated", "tvexp.stable.Old"),
        (7, "prototype", "tvexp.prototype.LayerNorm2d"),
        (7, "prototype", "tvexp.prototype.functional.fancy"),
        (8, "prototype", "tvexp.prototype.LayerNorm2d"),
    ]


def test_importlib_import_module_is_followed(knowledge) -> None:
    found = findings_for(
        """
        import importlib
        from importlib import import_module as load

        tvp = importlib.import_module("tvexp.prototype")
        tvp.LayerNorm2d(3)
        tvs = load(".stable", package="tvexp")
        tvs.Old(3)
        internals = importlib.import_module("tvexp._layers.mlp")
        importlib.import_module("tvexp.prototype.functional").fancy(1)
        other = importlib.import_module("torch")
        other.LayerNorm2d(3)
    """,
        knowledge,
    )
    assert found == [
        (6, "prototype", "tvexp.prototype.LayerNorm2d"),
        (8, "deprecated", "tvexp.stable.Old"),
        (9, "private", "tvexp._layers.mlp"),
        (10, "prototype", "tvexp.prototype.functional.fancy"),
    ]


# --------------------------------------------------------------------------- files that cannot be read


@pytest.mark.parametrize(
    "content",
    [
        b"import tvexp.prototype as tvp\ndef broken(:\n",
        b"x = 1\x00\n",
        b"# -*- coding: no-such-codec -*-\nimport tvexp\n",
        b"name = '\xff\xfe'\n",
        b"x = " + b" + ".join([b"a"] * 20_000) + b"\n",
    ],
    ids=["syntax-error", "nul-byte", "unknown-codec", "not-utf8", "too-deep"],
)
def test_an_unparsable_file_is_a_failing_finding_not_a_crash(tmp_path: Path, knowledge, content: bytes) -> None:
    (tmp_path / "bad.py").write_bytes(content)
    (tmp_path / "good.py").write_text("import tvexp.prototype as tvp\ntvp.LayerNorm2d(3)\n")
    findings = audit.audit_paths([tmp_path], knowledge)
    assert [(Path(f.path).name, f.category) for f in findings] == [
        ("bad.py", "unparsable"),
        ("good.py", "prototype"),
    ]
    assert audit.must_fail(findings, version="0.3.0")


# --------------------------------------------------------------------------- acknowledging findings


def test_inline_suppression_comments(knowledge) -> None:
    found = findings_for(
        """
        import tvexp.prototype as tvp
        import tvexp.stable as tvs
        a = tvp.LayerNorm2d(3)  # tvexp: ignore[prototype]
        b = tvp.LayerNorm2d(3)  # tvexp: ignore
        c = tvp.LayerNorm2d(3)  # tvexp: ignore[deprecated]
        d = tvs.Old(3)  # noqa: E501  # tvexp: ignore[ prototype , deprecated ]
        e = tvp.LayerNorm2d("# tvexp: ignore")
        f = tvs.MLP(3, [4],
                    norm=None)  # tvexp: ignore[deprecated-parameter]
    """,
        knowledge,
    )
    assert found == [(6, "prototype", "tvexp.prototype.LayerNorm2d"), (8, "prototype", "tvexp.prototype.LayerNorm2d")]


def _project(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "model.py").write_text(
        "import tvexp.prototype as tvp\nnorm = tvp.LayerNorm2d(3)\nother = tvp.LayerNorm2d(4)\nfrom tvexp._layers import mlp\n"
    )
    return root / "src"


def test_baseline_acknowledges_reviewed_findings_by_name_not_line(tmp_path: Path, knowledge, monkeypatch) -> None:
    src = _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    first = audit.run_audit([Path("src")], knowledge)
    assert [(f.line, f.category) for f in first.findings] == [(2, "prototype"), (3, "prototype"), (4, "private")]
    audit.Baseline.from_findings(first.findings, tmp_path).write(tmp_path / "audit-baseline.json")
    stored = json.loads((tmp_path / "audit-baseline.json").read_text())
    assert stored["findings"] == [
        {"path": "src/model.py", "symbol": "tvexp._layers.mlp", "category": "private", "count": 1},
        {"path": "src/model.py", "symbol": "tvexp.prototype.LayerNorm2d", "category": "prototype", "count": 2},
    ]

    # The code moves down; the baseline still matches. It is read from another folder, with absolute paths.
    model = src / "model.py"
    model.write_text("'''A model.'''\n\n" + model.read_text())
    monkeypatch.chdir(src)
    baseline = audit.Baseline.load(tmp_path / "audit-baseline.json")
    again = audit.run_audit([model.resolve()], knowledge, baseline)
    assert again.findings == [] and len(again.baselined) == 3 and again.stale_baseline == []

    # A third use of the same prototype is new; a fixed use leaves a stale entry.
    model.write_text(model.read_text().replace("from tvexp._layers import mlp\n", "tvp.LayerNorm2d(5)\n"))
    third = audit.run_audit([model], knowledge, baseline)
    assert [(f.line, f.category) for f in third.findings] == [(6, "prototype")]
    assert third.stale_baseline == [
        {"path": "src/model.py", "symbol": "tvexp._layers.mlp", "category": "private", "unmatched": 1}
    ]


def test_cli_write_baseline_then_strict_with_baseline(tmp_path: Path, monkeypatch, capsys) -> None:
    _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["audit", "--strict", "src"]) == 1
    assert cli.main(["audit", "--strict", "src", "--write-baseline", "baseline.json"]) == 0
    assert "wrote 3 finding(s) to the baseline baseline.json" in capsys.readouterr().err
    assert {entry["path"] for entry in json.loads((tmp_path / "baseline.json").read_text())["findings"]} == {
        "src/model.py"
    }
    assert cli.main(["audit", "--strict", "src", "--baseline", "baseline.json"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("no uses of") and "3 acknowledged by the baseline" in out
    (tmp_path / "src" / "new.py").write_text("from tvexp.prototype import LayerNorm2d\n")
    assert cli.main(["audit", "--strict", "src", "--baseline", "baseline.json"]) == 1
    assert "new.py:1: prototype: tvexp.prototype.LayerNorm2d" in capsys.readouterr().out


@pytest.mark.parametrize(
    "content", [None, "not json", '{"findings": [{"path": "a.py", "symbol": "x", "category": "nonsense"}]}', "[]"]
)
def test_a_missing_or_malformed_baseline_is_a_usage_error(tmp_path: Path, capsys, content: str | None) -> None:
    (tmp_path / "a.py").write_text("import tvexp\n")
    if content is not None:
        (tmp_path / "baseline.json").write_text(content)
    assert cli.main(["audit", str(tmp_path / "a.py"), "--baseline", str(tmp_path / "baseline.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tvexp-api: error: ") and "baseline" in err and err.count("\n") == 1


# --------------------------------------------------------------------------- output formats and exit status


def test_categories_are_a_documented_string_enum() -> None:
    values = [c.value for c in audit.AuditCategory]
    assert values == [
        "prototype",
        "prototype-parameter",
        "deprecated",
        "deprecated-parameter",
        "moved",
        "removed",
        "unknown",
        "private",
        "unparsable",
    ]
    assert audit.AuditCategory.PROTOTYPE == "prototype" and f"{audit.AuditCategory.MOVED}" == "moved"
    page = (Path(__file__).parents[2] / "docs" / "guide" / "compatibility.rst").read_text()
    assert all(f"``{value}``" in page for value in values), "every category is described in the audit docs"


def _sample_report(tmp_path: Path, knowledge, write: bool = True) -> audit.AuditReport:
    if write:
        (tmp_path / "m.py").write_text(
            "import tvexp.prototype as tvp\nimport tvexp.stable as tvs\n"
            "tvp.LayerNorm2d(3)\ntvs.Old(3)\nfrom tvexp.stable import Gone\ntvp.LayerNorm2d(4)  # tvexp: ignore\n"
        )
    return audit.run_audit([tmp_path / "m.py"], audit.Knowledge(OBJECTS, "0.3.0.dev0", released=RELEASED))


def test_json_format(tmp_path: Path, knowledge) -> None:
    data = json.loads(audit.render(_sample_report(tmp_path, knowledge), "json", version="0.3.0"))
    assert data["fails"] is True and data["strict"] is False and data["files"] == 1
    assert [(f["line"], f["category"], f["fails"]) for f in data["findings"]] == [
        (3, "prototype", False),
        (4, "deprecated", True),
        (5, "removed", True),
    ]
    assert data["findings"][1] == {
        "path": str(tmp_path / "m.py"),
        "line": 4,
        "column": 1,
        "category": "deprecated",
        "symbol": "tvexp.stable.Old",
        "message": "deprecated since 0.2.0, removed in 0.4.0",
        "change": "use tvexp.stable.MLP",
        "removed_in": "0.4.0",
        "fails": True,
    }
    assert [f["line"] for f in data["suppressed"]] == [6]
    assert {f["category"] for f in data["findings"]} <= {c.value for c in audit.AuditCategory}


def test_sarif_format(tmp_path: Path, knowledge, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    log = json.loads(audit.render(_sample_report(tmp_path, knowledge), "sarif", version="0.3.0"))
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [c.value for c in audit.AuditCategory]
    results = run["results"]
    assert [(r["ruleId"], r["level"], "suppressions" in r) for r in results] == [
        ("prototype", "note", False),
        ("deprecated", "error", False),
        ("removed", "error", False),
        ("prototype", "note", True),
    ]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == "m.py" and location["region"]["startLine"] >= 1
    assert results[3]["suppressions"] == [{"kind": "inSource"}]
    prints = [r["partialFingerprints"]["tvexpAudit/v1"] for r in results]
    assert len(set(prints)) == 4, "two uses of one name in one file are two alerts"
    # An edit above the findings moves their lines, not their fingerprints.
    (tmp_path / "m.py").write_text("'''Docstring.'''\n\n" + (tmp_path / "m.py").read_text())
    moved = json.loads(audit.render(_sample_report(tmp_path, knowledge, write=False), "sarif", version="0.3.0"))
    assert [r["partialFingerprints"]["tvexpAudit/v1"] for r in moved["runs"][0]["results"]] == prints
    assert moved["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 5


def test_github_format(tmp_path: Path, knowledge) -> None:
    lines = audit.render(_sample_report(tmp_path, knowledge), "github", version="0.3.0").splitlines()
    path = str(tmp_path / "m.py").replace(":", "%3A").replace(",", "%2C")
    assert lines == [
        f"::warning file={path},line=3,col=1,title=tvexp-api audit (prototype)::tvexp.prototype.LayerNorm2d is a "
        "prototype object: it may change in any release. Change: pin tvexp, or call tvexp.prototype.opt_in() to "
        "acknowledge it.",
        f"::error file={path},line=4,col=1,title=tvexp-api audit (deprecated)::tvexp.stable.Old deprecated since "
        "0.2.0, removed in 0.4.0. Change: use tvexp.stable.MLP.",
        f"::error file={path},line=5,col=1,title=tvexp-api audit (removed)::tvexp.stable.Gone was public in tvexp "
        "0.2.0 and is gone in 0.3.0.dev0. Change: see the changelog for its replacement.",
    ]
    odd = audit.Finding("a,b:c.py", 2, "unparsable", "", "cannot be parsed: 100% wrong\nhere", "fix it")
    assert audit.render(audit.AuditReport([odd]), "github") == (
        "::error file=a%2Cb%3Ac.py,line=2,title=tvexp-api audit (unparsable)::cannot be parsed: 100%25 wrong%0Ahere. "
        "Change: fix it.\n"
    )


def test_exit_status_0_clean_1_failing_2_usage(tmp_path: Path, capsys) -> None:
    (tmp_path / "clean.py").write_text("import tvexp.stable.losses\nfrom tvexp.stable import functional\n")
    (tmp_path / "gone.py").write_text("from tvexp.stable import NoSuchName\n")
    assert cli.main(["audit", str(tmp_path / "clean.py")]) == 0
    assert cli.main(["audit", str(tmp_path / "gone.py")]) == 1
    assert cli.main(["audit", str(tmp_path / "missing.py")]) == 2
    assert cli.main(["audit", str(tmp_path / "clean.py"), "--format", "yaml"]) == 2
    assert cli.main(["audit"]) == 2
    assert cli.main(["audit", str(tmp_path), "--write-baseline", str(tmp_path / "no" / "such" / "b.json")]) == 2
    assert f"tvexp-api: error: {tmp_path / 'missing.py'}: no such file or directory" in capsys.readouterr().err


def test_folders_skip_hidden_folders_and_virtual_environments_and_scan_each_file_once(
    tmp_path: Path, knowledge
) -> None:
    root = tmp_path / ".cache" / "project"
    for folder in ("src", ".git", "venv", "build/lib/site-packages/x"):
        (root / folder).mkdir(parents=True)
        (root / folder / "m.py").write_text("from tvexp.stable import Nope\n")
    (root / "venv" / "pyvenv.cfg").write_text("home = /usr\n")
    assert [Path(f.path).relative_to(root).as_posix() for f in audit.audit_paths([root], knowledge)] == ["src/m.py"]
    twice = audit.audit_paths([root / "src", root / "src" / "m.py", root], knowledge)
    assert len(twice) == 1, "a file named twice is scanned once"


def test_audit_command_is_quiet_on_a_closed_pipe(tmp_path: Path, monkeypatch) -> None:
    """``tvexp-api audit src | head``: the reader goes away; no BrokenPipeError, now or at exit."""
    (tmp_path / "many.py").write_text("import tvexp.prototype as tvp\n" + "tvp.LayerNorm2d(3)\n" * 500)
    read, write = os.pipe()
    os.close(read)
    with os.fdopen(write, "w") as stream:
        monkeypatch.setattr(sys, "stdout", stream)
        assert cli.main(["audit", "--strict", str(tmp_path)]) == 1
        monkeypatch.undo()
    # closing flushed what was left into /dev/null, where the stream now points


@pytest.mark.subprocess
def test_a_missing_path_is_a_one_line_usage_error_in_a_fresh_process(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    result = subprocess.run(
        [sys.executable, "-m", "tvexp._tooling", "audit", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"tvexp-api: error: {tmp_path / 'nope'}: no such file or directory\n"


# --------------------------------------------------------------------------- references, for promote


def test_find_references_in_python_and_documents(tmp_path: Path, knowledge) -> None:
    (tmp_path / "model.py").write_text(
        textwrap.dedent("""\
        import tvexp.prototype as tvp
        from tvexp.prototype import LayerNorm2d as LN
        from timm.layers import LayerNorm2d
        norm = tvp.LayerNorm2d(3)
        other = LayerNorm2d(3)
        message = "tvexp.prototype.LayerNorm2d is a prototype"  # not tvexp.prototype.LayerNorm2dX
        size = tvp.LayerNorm2d.__init__
        """)
    )
    (tmp_path / "star.py").write_text("from tvexp.prototype import *\n\nLayerNorm2d(3)\n")
    (tmp_path / "guide.rst").write_text(
        textwrap.dedent("""\
        ``LayerNorm2d``
           A norm.

        >>> import tvexp.prototype as tvp
        >>> tvp.LayerNorm2d(3)
        See :class:`~tvexp.prototype.LayerNorm2d` and ``fancy``.
        Not ``LayerNorm2dX``, nor tvexp.prototype.LayerNorm2dX.
        """)
    )
    (tmp_path / "README.md").write_text(
        "| `tvexp.prototype` | `LayerNorm{1,2}d`, `FrozenBatchNorm1d/3d` |\n"
        "| other | `LayerNorm3d` |\n"
        "from tvexp.prototype import BasicBlock, LayerNorm2d\n"
    )
    found = [
        (r.path.name, r.line, r.how)
        for r in audit.find_references("tvexp.prototype.LayerNorm2d", [tmp_path], knowledge)
    ]
    assert found == [
        ("README.md", 1, "name"),
        ("README.md", 3, "text"),
        ("guide.rst", 1, "name"),
        ("guide.rst", 5, "alias"),
        ("guide.rst", 6, "text"),
        ("model.py", 2, "code"),
        ("model.py", 4, "code"),
        ("model.py", 6, "text"),
        ("model.py", 7, "code"),
        ("star.py", 3, "code"),
    ]
    # A bare name that another public object shares is not evidence of either.
    shared = audit.Knowledge({**OBJECTS, "tvexp.stable.functional.fancy": OBJECTS["tvexp.stable.MLP"]}, "0.3.0")
    assert [r.line for r in audit.find_references("tvexp.prototype.functional.fancy", [tmp_path], shared)] == []
    assert [r.line for r in audit.find_references("tvexp.prototype.functional.fancy", [tmp_path], knowledge)] == [6]


def test_find_references_finds_the_places_promote_used_to_miss() -> None:
    repo = Path(__file__).parents[2]
    found = {
        (r.path.relative_to(repo).as_posix(), r.line)
        for r in audit.find_references(
            "tvexp.prototype.LayerNorm2d",
            [repo / "examples", repo / "tests" / "distributed", repo / "docs", repo / "README.md"],
        )
    }

    def line_of(path: str, text: str) -> tuple[str, int]:
        lines = (repo / path).read_text().splitlines()
        return path, next(number for number, line in enumerate(lines, 1) if text in line)

    expected = {
        line_of("examples/train_digits.py", "tvp.LayerNorm2d(64)"),
        line_of("tests/distributed/ddp_worker.py", "norm_layer=tvp.LayerNorm2d"),
        line_of("docs/_examples/detector.py", "tvp.LayerNorm2d(32)"),
        line_of("README.md", "`LayerNorm2d`"),
        line_of("docs/guide/differences.rst", "``LayerNorm2d``"),
    }
    assert expected <= found, expected - found
