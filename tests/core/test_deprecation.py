"""The deprecation toolkit: objects, parameters, moved names, state-dict migrations, policy, expiry."""

from __future__ import annotations

import inspect
import pickle
import sys
import types
import warnings

import pytest
import torch
from torch import nn
from typing_extensions import deprecated

import tvexp
from tvexp._api import deprecation as dep
from tvexp._api.deprecation import (
    StateDictMigration,
    check_policy,
    deprecated_object,
    migrate_state_dict,
    moved_name_getattr,
    removed_parameter,
    renamed_parameter,
)

MESSAGE = "tvexp.stable.Old is deprecated since tvexp 0.3.0 and will be removed in 0.5.0; use tvexp.stable.New instead."


@pytest.fixture(autouse=True)
def _isolated_registry(monkeypatch):
    monkeypatch.setattr(dep, "REGISTRY", list(dep.REGISTRY))
    monkeypatch.setattr(dep, "MOVED_NAMES", dict(dep.MOVED_NAMES))


def _old_class():
    @deprecated_object(since="0.3.0", removed_in="0.5.0", instead="tvexp.stable.New", name="tvexp.stable.Old")
    @deprecated(MESSAGE, category=None)
    class Old(nn.Module):
        def __init__(self, width: int = 2) -> None:
            super().__init__()
            self.width = width

    return Old


def test_deprecated_class_warns_at_the_callers_line_with_since_and_removed_in():
    Old = _old_class()
    with pytest.warns(tvexp.TvexpDeprecationWarning) as record:
        Old(3)
        line = inspect.currentframe().f_lineno - 1
    (warning,) = record
    assert str(warning.message) == MESSAGE
    assert (warning.message.since, warning.message.removed_in) == ("0.3.0", "0.5.0")
    assert warning.filename == __file__ and warning.lineno == line
    assert isinstance(warning.message, FutureWarning)
    assert Old.__deprecated__ == MESSAGE  # PEP 702 attribute for type checkers and IDEs


def test_deprecated_class_warns_at_user_line_through_a_subclass_init():
    Old = _old_class()

    class Mine(Old):
        def __init__(self) -> None:
            super().__init__(width=4)
            self.extra = True

    with pytest.warns(tvexp.TvexpDeprecationWarning) as record:
        Mine()
    (warning,) = record
    assert warning.filename == __file__
    assert warning.lineno == inspect.getsourcelines(Mine.__init__)[1] + 1  # the super().__init__ line


def test_deprecated_function_and_method_warn_and_keep_signature():
    @deprecated_object(since="0.3.0", removed_in="0.5.0", instead="g", name="f")
    @deprecated("f is deprecated since tvexp 0.3.0 and will be removed in 0.5.0; use g instead.", category=None)
    def f(x: int, y: int = 1) -> int:
        return x + y

    class Holder:
        @deprecated_object(since="0.3.0", removed_in="0.6.0", name="Holder.method")
        @deprecated("Holder.method is deprecated since tvexp 0.3.0 and will be removed in 0.6.0.", category=None)
        def method(self) -> int:
            return 7

    assert list(inspect.signature(f).parameters) == ["x", "y"] and inspect.signature(f).parameters["y"].default == 1
    with pytest.warns(tvexp.TvexpDeprecationWarning, match="use g instead"):
        assert f(1) == 2
    with pytest.warns(tvexp.TvexpDeprecationWarning, match="removed in 0.6.0"):
        assert Holder().method() == 7


def test_deprecation_needs_the_pep702_decorator_with_the_same_message():
    with pytest.raises(TypeError, match="typing_extensions.deprecated"):
        deprecated_object(since="0.3.0", removed_in="0.5.0", name="h")(lambda: None)
    with pytest.raises(ValueError, match="differs"):
        deprecated_object(since="0.3.0", removed_in="0.5.0", name="h")(
            deprecated("other text", category=None)(lambda: None)
        )


@pytest.mark.parametrize("since, removed_in", [("0.3.0", "0.4.0"), ("0.3.0", "0.3.1"), ("0.3.0", "0.2.0")])
def test_policy_refuses_a_short_deprecation(since, removed_in):
    with pytest.raises(ValueError, match="at least 2"):
        check_policy(since, removed_in)
    with pytest.raises(ValueError, match="at least 2"):
        deprecated_object(since=since, removed_in=removed_in)
    with pytest.raises(ValueError, match="at least 2"):
        renamed_parameter(old="a", new="b", since=since, removed_in=removed_in)


def test_renamed_parameter_accepts_old_name_with_a_warning_naming_the_new_one():
    class Block(nn.Module):
        @renamed_parameter(old="act_layer", new="activation_layer", since="0.3.0", removed_in="0.5.0")
        def __init__(self, channels: int, activation_layer: type = nn.ReLU) -> None:
            super().__init__()
            self.act = activation_layer()

    assert "act_layer" not in inspect.signature(Block).parameters
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert isinstance(Block(2, activation_layer=nn.GELU).act, nn.GELU)
    with pytest.warns(
        tvexp.TvexpDeprecationWarning, match=r"Block\(act_layer=\.\.\.\).*use activation_layer= instead"
    ) as record:
        block = Block(2, act_layer=nn.GELU)
    assert isinstance(block.act, nn.GELU) and record[0].filename == __file__
    with pytest.raises(TypeError, match="both 'act_layer'"):
        Block(2, act_layer=nn.GELU, activation_layer=nn.ReLU)


def test_removed_parameter_is_accepted_and_ignored_with_a_warning():
    @removed_parameter(name="fast", since="0.3.0", removed_in="0.5.0")
    def op(x: int) -> int:
        return x

    with pytest.warns(tvexp.TvexpDeprecationWarning, match="op\\(fast=...\\).*no effect"):
        assert op(3, fast=True) == 3
    with pytest.raises(TypeError, match="still has parameter"):
        removed_parameter(name="x", since="0.3.0", removed_in="0.5.0")(op.__wrapped__)


def test_moved_name_returns_the_same_object_with_a_warning_and_unpickles():
    module = types.ModuleType("tvexp_fake_old_home")
    module.__getattr__ = moved_name_getattr(module.__name__)
    sys.modules[module.__name__] = module
    try:
        dep.register_moved_name(
            "tvexp_fake_old_home:OrderedDict", "collections:OrderedDict", since="0.2.0", removed_in="0.3.0"
        )
        import collections

        with pytest.warns(
            tvexp.TvexpDeprecationWarning, match="tvexp_fake_old_home.OrderedDict is deprecated"
        ) as record:
            assert module.OrderedDict is collections.OrderedDict
        assert record[0].filename == __file__
        with pytest.raises(AttributeError, match="has no attribute 'Missing'"):
            module.Missing
        # A pickle written while the class lived at the old path still loads, as the same class.
        old_pickle = b"\x80\x04c" + b"tvexp_fake_old_home\nOrderedDict\n" + b")R."
        with pytest.warns(tvexp.TvexpDeprecationWarning):
            assert type(pickle.loads(old_pickle)) is collections.OrderedDict
    finally:
        del sys.modules[module.__name__]


def test_moved_names_follow_the_one_minor_release_policy():
    with pytest.raises(ValueError, match="at least 1"):
        dep.register_moved_name("a:B", "c:B", since="0.2.0", removed_in="0.2.1")


def _migrated_class():
    @migrate_state_dict(
        StateDictMigration(
            from_version=1,
            renames={"proj.weight": "fc.weight", "proj.bias": "fc.bias"},
            since="0.2.0",
            removed_in="0.4.0",
        )
    )
    class Head(nn.Module):
        _version = 2

        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 2)

    return Head


def test_state_dict_migration_loads_old_checkpoints_strictly_with_a_warning():
    Head = _migrated_class()
    source = nn.Module()
    source.proj = nn.Linear(3, 2)
    old = {f"head.{k}": v for k, v in source.state_dict().items()}  # an old checkpoint, nested, no metadata
    model = nn.Module()
    model.head = Head()
    with pytest.warns(tvexp.TvexpDeprecationWarning, match="save the model again") as record:
        model.load_state_dict(old, strict=True)
    assert record[0].filename == __file__
    torch.testing.assert_close(model.head.fc.weight, source.proj.weight)


def test_state_dict_migration_leaves_current_checkpoints_alone():
    Head = _migrated_class()
    current = Head().state_dict()
    assert current._metadata[""]["version"] == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Head().load_state_dict(current, strict=True)


def test_state_dict_migration_requires_a_newer_version():
    with pytest.raises(ValueError, match="must exceed"):
        migrate_state_dict(StateDictMigration(1, {"a": "b"}, "0.2.0", "0.4.0"))(
            type("M", (nn.Module,), {"_version": 1})
        )


def test_deprecations_are_recorded_in_the_registry():
    before = len(dep.REGISTRY)
    _old_class()
    _migrated_class()
    kinds = [entry.kind for entry in dep.REGISTRY[before:]]
    assert kinds == ["object", "state-dict"]


def test_warning_survives_pickling():
    w = tvexp.TvexpDeprecationWarning("m", since="0.1.0", removed_in="0.3.0")
    clone = pickle.loads(pickle.dumps(w))
    assert (str(clone), clone.since, clone.removed_in) == ("m", "0.1.0", "0.3.0")
