"""Every row of the moved-name table works: the old path gives the same object, warns, and unpickles."""

from __future__ import annotations

import importlib
import pickle

import pytest

import tvexp
from tvexp._api.deprecation import MOVED_NAMES
from tvexp._api.versions import version_reached

# A release may have no moved names; then these tests say so instead of collecting nothing.
ROWS = sorted(MOVED_NAMES) or [pytest.param(None, marks=pytest.mark.skip(reason="no moved names in this version"))]


@pytest.mark.parametrize("old", ROWS, ids=str)
def test_old_path_returns_the_same_object_with_a_warning(old):
    moved = MOVED_NAMES[old]
    old_module, _, name = old.partition(":")
    new_module, _, new_name = moved.new.partition(":")
    target = getattr(importlib.import_module(new_module), new_name)
    with pytest.warns(tvexp.TvexpDeprecationWarning, match=f"{old_module}.{name} is deprecated") as record:
        assert getattr(importlib.import_module(old_module), name) is target
    assert record[0].message.removed_in == moved.removed_in and record[0].filename == __file__
    assert name not in importlib.import_module(old_module).__all__


@pytest.mark.parametrize("old", ROWS, ids=str)
def test_pickle_naming_the_old_path_still_loads(old):
    module, _, name = old.partition(":")
    reference = f"c{module}\n{name}\n".encode()
    with pytest.warns(tvexp.TvexpDeprecationWarning):
        loaded = pickle.loads(b"\x80\x02" + reference + b".")
    assert loaded is MOVED_NAMES[old].resolve()


@pytest.mark.skipif(
    version_reached(tvexp.__version__, "0.3.0"), reason="the 0.2.0 promotion's old path expires in 0.3.0"
)
def test_the_promoted_layer_is_in_the_table():
    # 0.2.0 promoted Conv1dNormActivation with `tvexp-api promote`; the old path lives until 0.3.0.
    assert MOVED_NAMES["tvexp.prototype:Conv1dNormActivation"].removed_in == "0.3.0"
