"""The tier contract: markers match namespaces, prototype warnings, stable silence, the opt-in."""

from __future__ import annotations

import functools
import importlib
import inspect

import pytest
from torch import nn

from tvexp._api.tiers import Tier, prototype, prototype_parameters, stable, tier_of

NAMESPACES = {
    "stable": ("tvexp.stable", "tvexp.stable.functional", "tvexp.stable.losses"),
    "prototype": ("tvexp.prototype", "tvexp.prototype.functional", "tvexp.prototype.losses"),
}


def _exported():
    for level, modules in NAMESPACES.items():
        for module_name in modules:
            module = importlib.import_module(module_name)
            for name in module.__all__:
                yield pytest.param(level, module_name, name, id=f"{module_name}.{name}")


@pytest.mark.parametrize("level, module_name, name", list(_exported()))
def test_every_exported_name_carries_the_marker_of_its_namespace(level, module_name, name):
    obj = getattr(importlib.import_module(module_name), name)
    tier = tier_of(obj)
    assert tier is not None, f"{module_name}.{name} is exported without a tier marker"
    assert tier.level == level, f"{module_name}.{name} is exported from the {level} tier but marked {tier.level}"


def test_all_lists_are_sorted_unique_and_resolvable():
    for modules in NAMESPACES.values():
        for module_name in modules:
            module = importlib.import_module(module_name)
            assert list(module.__all__) == sorted(set(module.__all__)), (
                f"{module_name}.__all__ must be sorted, one per name"
            )
            for name in module.__all__:
                assert hasattr(module, name), f"{module_name}.__all__ lists {name} which does not exist"


def test_no_name_is_in_two_tiers():
    stable_names = {n for m in NAMESPACES["stable"] for n in importlib.import_module(m).__all__}
    prototype_names = {n for m in NAMESPACES["prototype"] for n in importlib.import_module(m).__all__}
    assert not stable_names & prototype_names


def test_public_objects_are_defined_in_private_modules():
    for modules in NAMESPACES.values():
        for module_name in modules:
            module = importlib.import_module(module_name)
            for name in module.__all__:
                obj = inspect.unwrap(getattr(module, name))
                assert "._" in obj.__module__, f"{name} is defined in public module {obj.__module__}"


def test_core_objects_have_no_tier_and_are_exported():
    import tvexp.prototype

    assert set(tvexp.__all__) == {"PrototypeWarning", "TvexpDeprecationWarning", "__version__"}
    assert issubclass(tvexp.PrototypeWarning, UserWarning)
    assert issubclass(tvexp.TvexpDeprecationWarning, FutureWarning)
    assert tier_of(tvexp.PrototypeWarning) is None and tier_of(tvexp.TvexpDeprecationWarning) is None
    for name in ("opt_in", "opted_in"):
        assert callable(getattr(tvexp.prototype, name)) and name not in tvexp.prototype.__all__
        assert tier_of(getattr(tvexp.prototype, name)) is None


def _stable_classes():
    import tvexp.stable

    return [getattr(tvexp.stable, n) for n in tvexp.stable.__all__ if isinstance(getattr(tvexp.stable, n), type)]


def _is_prototype(obj) -> bool:
    tier = tier_of(obj) if isinstance(obj, type) or callable(obj) else None
    return tier is not None and tier.level == "prototype"


def _referenced_objects(default) -> list:
    """The classes and functions a default names: itself, a partial's target and arguments, an instance's class."""
    if isinstance(default, functools.partial):
        return [
            *_referenced_objects(default.func),
            *(o for a in (*default.args, *default.keywords.values()) for o in _referenced_objects(a)),
        ]
    if isinstance(default, type) or inspect.isfunction(default):
        return [default]
    if isinstance(default, nn.Module):
        return [type(default)]
    return []


def test_stable_objects_do_not_depend_on_prototype_objects():
    import tvexp.stable
    import tvexp.stable.functional
    import tvexp.stable.losses
    from tvexp._tooling.conformance.cases import LAYER_CASES
    from tvexp._tooling.conformance.table import seeded

    problems = []
    for module in (tvexp.stable, tvexp.stable.functional, tvexp.stable.losses):
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, type):
                problems += [f"{name} has prototype base {b.__name__}" for b in obj.__mro__[1:] if _is_prototype(b)]
            for parameter in inspect.signature(obj).parameters.values():
                for default in _referenced_objects(parameter.default):
                    if _is_prototype(default):
                        problems.append(f"{name}({parameter.name}=) defaults to prototype {default.__name__}")
    stable_classes = set(_stable_classes())
    for case in LAYER_CASES:
        module = seeded(case.build)
        if type(module) in stable_classes:
            for child_name, child in module.named_modules():
                if _is_prototype(type(child)):
                    problems.append(f"{case.id} builds prototype {type(child).__name__} at {child_name!r}")
    assert not problems, "\n".join(problems)


def test_stable_check_catches_a_prototype_default():
    @prototype(since="0.1.0")
    class NewNorm(nn.Module):
        pass

    @stable(since="0.1.0")
    class Block(nn.Module):
        def __init__(self, norm_layer=NewNorm):
            super().__init__()

    defaults = [p.default for p in inspect.signature(Block).parameters.values()]
    assert any(_is_prototype(d) for default in defaults for d in _referenced_objects(default))
    wrapped = functools.partial(NewNorm)
    assert any(_is_prototype(d) for d in _referenced_objects(wrapped))


def test_tier_requires_a_release_version():
    with pytest.raises(ValueError, match="release"):
        Tier("stable", "0.2.0.dev0")
    with pytest.raises(ValueError, match="MAJOR.MINOR"):
        stable(since="soon")


def test_markers_refuse_double_marking_and_non_definitions():
    @stable(since="0.1.0")
    def f():
        return 1

    with pytest.raises(TypeError, match="already carries"):
        prototype(since="0.1.0")(f)
    with pytest.raises(TypeError, match="classes and functions"):
        stable(since="0.1.0")(3)


def test_marker_adds_a_tier_note_to_the_docstring():
    @prototype(since="0.1.0")
    class Thing:
        """Does a thing.

        Args:
            x: a value.
        """

    assert "Prototype since 0.1.0" in Thing.__doc__
    assert Thing.__doc__.startswith("Does a thing.")


def test_tier_is_not_inherited_by_user_subclasses():
    @stable(since="0.1.0")
    class Base(nn.Module):
        pass

    class Mine(Base):
        pass

    assert tier_of(Base) == Tier("stable", "0.1.0") and tier_of(Mine) is None


def test_prototype_parameters_require_an_optional_parameter():
    with pytest.raises(TypeError, match="no optional parameter 'missing'"):
        prototype_parameters(missing="0.1.0")(lambda x, y=1: None)


# ----------------------------------------------------------------------------- subprocess checks

PROTOTYPE_SCRIPT = """
import warnings, torch
from torch import nn
from tvexp._api.tiers import prototype, stable, prototype_parameters

@prototype(since="0.1.0")
class Inner(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)
    def forward(self, x):
        return self.lin(x)

@prototype(since="0.1.0")
class Outer(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = Inner()
    def forward(self, x):
        return self.inner(x)

@prototype(since="0.1.0")
def scale(x: torch.Tensor, factor: float = 2.0) -> torch.Tensor:
    return x * factor

@stable(since="0.1.0")
class Stable(nn.Module):
    @prototype_parameters(fancy="0.1.0")
    def __init__(self, fancy: bool = False):
        super().__init__()
    def forward(self, x):
        return x
"""


def _run(python_subprocess, body: str, **kwargs):
    result = python_subprocess(PROTOTYPE_SCRIPT + body, **kwargs)
    assert result.returncode == 0, result.stderr
    return result


def _warning_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "PrototypeWarning" in line]


def test_prototype_class_warns_once_per_class_not_per_instance(python_subprocess):
    result = _run(python_subprocess, "layers = [Outer() for _ in range(50)]\nlayers[0](torch.ones(1, 2))\n")
    lines = _warning_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert "__main__.Outer is a prototype class: its name, arguments and checkpoint layout may change" in lines[0]
    assert "tvexp.prototype.opt_in()" in lines[0] and "TVEXP_PROTOTYPE_OPT_IN=1" in lines[0]
    assert 'opt_in(scope="<package>") in a library' in lines[0]


def test_prototype_built_inside_another_tvexp_object_does_not_warn(python_subprocess):
    result = _run(python_subprocess, "Outer()\n")
    assert "Inner" not in result.stderr
    result = _run(python_subprocess, "Outer()\nInner()\n")
    assert len(_warning_lines(result.stderr)) == 2, "a direct use of Inner still warns"


def test_prototype_warning_points_at_the_user_line(python_subprocess, tmp_path):
    script = tmp_path / "user_code.py"
    script.write_text(PROTOTYPE_SCRIPT + "\n\nOuter()  # line A\n")
    line_a = script.read_text().splitlines().index("Outer()  # line A") + 1
    result = python_subprocess(f"import runpy; runpy.run_path({str(script)!r}, run_name='__main__')")
    assert f"user_code.py:{line_a}: PrototypeWarning" in result.stderr, result.stderr


def test_user_subclass_of_prototype_warns_once(python_subprocess):
    body = "class Mine(Outer):\n    def __init__(self):\n        super().__init__()\nfor _ in range(3):\n    Mine()\n"
    result = _run(python_subprocess, body)
    lines = _warning_lines(result.stderr)
    assert len(lines) == 1 and "Outer is a prototype class" in lines[0], result.stderr


@pytest.mark.parametrize(
    "silencer, kwargs",
    [
        ("import tvexp.prototype; tvexp.prototype.opt_in()\n", {}),
        ("", {"env": {"TVEXP_PROTOTYPE_OPT_IN": "1"}}),
        ("import tvexp; warnings.filterwarnings('ignore', category=tvexp.PrototypeWarning)\n", {}),
    ],
    ids=["opt_in", "environment", "filterwarnings"],
)
def test_prototype_warning_can_be_silenced(python_subprocess, silencer, kwargs):
    result = _run(python_subprocess, silencer + "Outer(); scale(torch.ones(1)); Stable(fancy=True)\n", **kwargs)
    assert "PrototypeWarning" not in result.stderr, result.stderr


def test_prototype_function_warns_once_and_stays_compilable(python_subprocess):
    body = """
import torch._dynamo
scale(torch.ones(1)); scale(torch.ones(1))
class M(nn.Module):
    def forward(self, x):
        return scale(x)
warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=DeprecationWarning)
assert torch.jit.script(scale)(torch.ones(2)).tolist() == [2.0, 2.0]
assert torch.jit.script(M())(torch.ones(2)).tolist() == [2.0, 2.0]
explanation = torch._dynamo.explain(M())(torch.ones(2))
assert explanation.graph_break_count == 0, explanation
assert torch.export.export(M(), (torch.ones(2),)).module()(torch.ones(2)).tolist() == [2.0, 2.0]
print("ok")
"""
    result = _run(python_subprocess, body, warnings_filter="default")
    lines = _warning_lines(result.stderr)
    assert len(lines) == 1 and "__main__.scale is a prototype function" in lines[0], result.stderr
    assert "checkpoint" not in lines[0], "functions have no checkpoint layout"
    assert result.stdout.strip() == "ok"


def test_prototype_parameter_warns_once_only_when_used(python_subprocess):
    result = _run(python_subprocess, "Stable(); Stable(fancy=False)\n")
    assert "PrototypeWarning" not in result.stderr
    result = _run(python_subprocess, "Stable(fancy=True); Stable(True); Stable(fancy=True)\n")
    lines = _warning_lines(result.stderr)
    assert len(lines) == 1 and "__main__.Stable(fancy=...) is a prototype option of a stable class" in lines[0]


def test_importing_prototype_does_not_warn(python_subprocess):
    result = python_subprocess(
        "import tvexp.prototype, tvexp.prototype.functional, tvexp.prototype.losses", warnings_filter="error"
    )
    assert result.returncode == 0, result.stderr


def test_importing_stable_is_silent_and_leaves_prototype_out(python_subprocess):
    code = """
import sys
import tvexp.stable, tvexp.stable.functional, tvexp.stable.losses
leaked = sorted(m for m in sys.modules if m.startswith("tvexp.prototype"))
assert not leaked, leaked
"""
    result = python_subprocess(code, warnings_filter="error")
    assert result.returncode == 0, result.stderr


def test_every_stable_layer_constructs_and_runs_under_W_error(python_subprocess):
    code = """
import torch, warnings
import tvexp, tvexp.stable
from tvexp._tooling.conformance.cases import LAYER_CASES
from tvexp._tooling.conformance.table import seeded
stable = {n for n in tvexp.stable.__all__ if isinstance(getattr(tvexp.stable, n), type)}
ran = set()
for case in LAYER_CASES:
    if case.class_name in stable:
        deprecated = vars(getattr(tvexp.stable, case.class_name)).get("__tvexp_deprecation__") is not None
        try:
            with warnings.catch_warnings():
                if deprecated:  # a deprecated stable layer warns by design, and must still run
                    warnings.simplefilter("ignore", tvexp.TvexpDeprecationWarning)
                module = seeded(case.build)
        except tvexp.PrototypeWarning as warning:
            # a case that exercises a prototype option of a stable layer warns by design
            assert "is a prototype option" in str(warning), warning
            continue
        assert type(module) is getattr(tvexp.stable, case.class_name), case.id
        module(*case.inputs()).sum()
        module.eval()(*case.inputs())
        ran.add(case.class_name)
print(len(ran))
"""
    result = python_subprocess(code, warnings_filter="error")
    assert result.returncode == 0, result.stderr
    import tvexp.stable

    classes = [n for n in tvexp.stable.__all__ if isinstance(getattr(tvexp.stable, n), type)]
    assert int(result.stdout.strip()) == len(classes)


def test_prototype_parameter_on_a_function_keeps_it_scriptable_and_compilable(python_subprocess):
    body = """
import torch._dynamo

@stable(since="0.1.0")
@prototype_parameters(boost="0.1.0")
def shift(x: torch.Tensor, amount: float = 1.0, boost: bool = False) -> torch.Tensor:
    return x + (2 * amount if boost else amount)

class M(nn.Module):
    def forward(self, x):
        return shift(x, boost=True)

warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=DeprecationWarning)
assert torch.jit.script(shift)(torch.zeros(1), 1.0, boost=True).item() == 2.0
assert torch.jit.script(M())(torch.zeros(1)).item() == 2.0
assert torch._dynamo.explain(M())(torch.zeros(1)).graph_break_count == 0
assert shift(torch.zeros(1), 1.0, True).item() == 2.0 and shift(torch.zeros(1), boost=True).item() == 2.0
print("ok")
"""
    result = _run(python_subprocess, body, warnings_filter="default")
    lines = _warning_lines(result.stderr)
    assert len(lines) == 1 and "__main__.shift(boost=...) is a prototype option of a stable function" in lines[0]
    assert result.stdout.strip() == "ok"
