"""``tvexp-api audit``: static findings on sample user files, resolved through aliases and chains."""

from __future__ import annotations

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
