"""Opting in that fits libraries: ``opt_in(scope=...)``, the ``opted_in()`` block, precise texts.

Most checks run a user script in a fresh interpreter next to a fake library package written into
``tmp_path`` (warn-once state and the test session's opt-in would hide the warnings here).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path

import pytest
import torch

import tvexp
import tvexp.prototype as tvp
import tvexp.stable as tvs
from tvexp._api import tiers

REPO_ROOT = Path(__file__).resolve().parents[2]

LIBRARY = {
    "mylib/__init__.py": """
        import tvexp.prototype as tvp

        tvp.opt_in(scope=__name__)  # "mylib": this package and its submodules

        from mylib import models
    """,
    "mylib/models.py": """
        import tvexp.prototype as tvp
        import tvexp.stable as tvs


        def build():
            return [
                tvp.LayerNorm2d(8),
                tvp.make_divisible(10, 8),
                tvs.DropBlock2d(0.1, 3, shared_mask=True),
            ]


        class Norm(tvp.LayerNorm2d):  # a library class built on a prototype, without its own __init__
            pass


        class Frozen(tvp.FrozenBatchNorm1d):
            def __init__(self, channels):
                super().__init__(channels)
    """,
    # A sibling whose name starts like the library's but is another package: not covered.
    "mylibx/__init__.py": """
        import tvexp.prototype as tvp


        def build():
            return tvp.LayerNorm2d(4)
    """,
}

WARNING_LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+): PrototypeWarning: (?P<message>.*)$")


def _run(tmp_path: Path, user_code: str, *flags: str, env: dict[str, str] | None = None):
    """Writes the fake library and ``user.py`` into ``tmp_path`` and runs the script in a fresh interpreter."""
    for relative, text in LIBRARY.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    script = tmp_path / "user.py"
    script.write_text(textwrap.dedent(user_code))
    environment = {k: v for k, v in os.environ.items() if k != "TVEXP_PROTOTYPE_OPT_IN"}
    environment["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(REPO_ROOT)])
    environment.update(env or {})
    result = subprocess.run(
        [sys.executable, *flags, str(script)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=120,
    )
    return result, script.read_text().splitlines()


def _line_of(lines: list[str], marker: str) -> int:
    (number,) = [i + 1 for i, line in enumerate(lines) if line.rstrip().endswith(f"# {marker}")]
    return number


def _warnings(stderr: str) -> list[tuple[str, int, str]]:
    """(file name, line, message) of each PrototypeWarning that Python printed."""
    found = []
    for line in stderr.splitlines():
        match = WARNING_LINE.match(line)
        if match:
            found.append((Path(match["file"]).name, int(match["line"]), match["message"]))
    return found


# ----------------------------------------------------------------------------- libraries and users

USER_AFTER_LIBRARY = textwrap.dedent("""
    import tvexp.prototype as tvp
    import tvexp.stable as tvs
    import mylib

    for _ in range(3):
        mylib.models.build()
        mylib.models.Norm(4)
        mylib.models.Frozen(4)
    print("library done", flush=True)
    norm = tvp.LayerNorm2d(8)  # A
    norm = tvp.LayerNorm2d(8)
    tvp.make_divisible(20, 8)  # B
    tvp.make_divisible(20, 8)
    tvs.DropBlock2d(0.1, 3, shared_mask=True)  # C
    tvs.DropBlock2d(0.1, 3, shared_mask=True)
    tvp.FrozenBatchNorm1d(4)  # D
""")


def test_library_opted_in_for_itself_and_the_user_still_warns_once_at_their_line(tmp_path):
    result, lines = _run(tmp_path, USER_AFTER_LIBRARY)
    assert result.returncode == 0, result.stderr
    found = _warnings(result.stderr)
    assert [(name, line) for name, line, _ in found] == [
        ("user.py", _line_of(lines, "A")),
        ("user.py", _line_of(lines, "B")),
        ("user.py", _line_of(lines, "C")),
        ("user.py", _line_of(lines, "D")),
    ], result.stderr
    messages = [message for *_, message in found]
    assert messages[0].startswith("tvexp.prototype.LayerNorm2d is a prototype class")
    assert messages[1].startswith("tvexp.prototype.make_divisible is a prototype function")
    assert messages[2].startswith("tvexp.stable.DropBlock2d(shared_mask=...) is a prototype option")
    assert messages[3].startswith("tvexp.prototype.FrozenBatchNorm1d is a prototype class")


def test_the_library_s_own_uses_are_silent_even_under_W_error(tmp_path):
    user = """
        import mylib
        mylib.models.build()
        mylib.models.Norm(4)  # a library subclass without its own __init__, built from the user's line
        mylib.models.Frozen(4)
        print("ok")
    """
    result, _ = _run(tmp_path, user, "-W", "error::tvexp.PrototypeWarning")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok" and "PrototypeWarning" not in result.stderr


@pytest.mark.parametrize(
    "flags, prelude",
    [
        (("-W", "error::tvexp.PrototypeWarning"), ""),
        ((), "import warnings, tvexp\nwarnings.filterwarnings('error', category=tvexp.PrototypeWarning)\n"),
    ],
    ids=["W-error", "filterwarnings-error"],
)
def test_an_error_filter_still_fails_a_direct_user_use(tmp_path, flags, prelude):
    result, lines = _run(tmp_path, prelude + USER_AFTER_LIBRARY, *flags)
    assert result.returncode != 0
    assert "library done" in result.stdout, "the library's own uses passed the error filter"
    assert f'user.py", line {_line_of(lines, "A")}' in result.stderr, result.stderr
    assert "PrototypeWarning: tvexp.prototype.LayerNorm2d is a prototype class" in result.stderr


def test_a_scope_covers_its_package_and_submodules_only(tmp_path):
    user = """
        import mylib, mylibx
        mylib.models.build()
        mylibx.build()  # X
    """
    result, lines = _run(tmp_path, user)
    assert result.returncode == 0, result.stderr
    found = _warnings(result.stderr)
    sibling = (tmp_path / "mylibx" / "__init__.py").read_text().splitlines().index("    return tvp.LayerNorm2d(4)") + 1
    assert [(name, line) for name, line, _ in found] == [("__init__.py", sibling)], result.stderr
    assert "tvexp.prototype.LayerNorm2d" in found[0][2]
    assert "mylibx" in result.stderr.splitlines()[0]


def test_unscoped_opt_in_and_the_environment_variable_keep_their_meaning(tmp_path):
    user = USER_AFTER_LIBRARY + "print('done')\n"
    result, _ = _run(tmp_path, user, env={"TVEXP_PROTOTYPE_OPT_IN": "1"})
    assert result.returncode == 0 and "PrototypeWarning" not in result.stderr, result.stderr
    result, _ = _run(tmp_path, "import tvexp.prototype\ntvexp.prototype.opt_in()\n" + user)
    assert result.returncode == 0 and "PrototypeWarning" not in result.stderr, result.stderr


# ----------------------------------------------------------------------------- the opted_in() block


def test_the_block_restores_the_previous_state_also_after_an_exception(tmp_path):
    user = """
        import tvexp.prototype as tvp
        import mylib

        with tvp.opted_in():
            tvp.LayerNorm2d(8)
            tvp.make_divisible(10, 8)
        tvp.LayerNorm2d(8)  # after-block
        try:
            with tvp.opted_in():
                tvp.make_divisible(10, 8)
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        tvp.make_divisible(10, 8)  # after-exception
        with tvp.opted_in(scope="mylib"):
            tvp.FrozenBatchNorm1d(4)  # scoped-block
        with tvp.opted_in(scope="__main__"):
            with tvp.opted_in(scope="mylib"):
                tvp.FrozenBatchNorm3d(4)
            tvp.FrozenBatchNorm3d(4)
        tvp.FrozenBatchNorm3d(4)  # after-nested


        @tvp.opted_in()
        def build():
            return tvp.InvertedResidual(8, 8, 1, 2)


        build()
        tvp.InvertedResidual(8, 8, 1, 2)  # after-decorated
    """
    result, lines = _run(tmp_path, user)
    assert result.returncode == 0, result.stderr
    located = [line for name, line, _ in _warnings(result.stderr) if name == "user.py"]
    markers = ["after-block", "after-exception", "scoped-block", "after-nested", "after-decorated"]
    assert located == [_line_of(lines, marker) for marker in markers], result.stderr


def test_the_block_acts_in_its_own_thread_only(tmp_path):
    user = """
        import threading
        import tvexp.prototype as tvp

        inside = threading.Event()
        outside_done = threading.Event()
        b_entered = threading.Event()
        a_exited = threading.Event()

        def a():
            with tvp.opted_in():
                tvp.LayerNorm2d(8)
                inside.set()
                outside_done.wait(30)
                tvp.LayerNorm2d(8)
                b_entered.wait(30)
            a_exited.set()

        def b():
            inside.wait(30)
            tvp.LayerNorm2d(8)  # other-thread
            outside_done.set()
            with tvp.opted_in():
                b_entered.set()
                a_exited.wait(30)  # a left its block first: b's block is still on
                tvp.FrozenBatchNorm1d(4)
            tvp.FrozenBatchNorm3d(4)  # b-after

        threads = [threading.Thread(target=a), threading.Thread(target=b)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        tvp.FrozenBatchNorm1d(4)  # main-after
    """
    result, lines = _run(tmp_path, user)
    assert result.returncode == 0, result.stderr
    located = [line for name, line, _ in _warnings(result.stderr)]
    assert located == [_line_of(lines, m) for m in ("other-thread", "b-after", "main-after")], result.stderr


def test_concurrent_first_uses_warn_once(tmp_path):
    user = """
        import threading
        import tvexp.prototype as tvp

        start = threading.Barrier(8)

        def use():
            start.wait(30)
            for _ in range(20):
                tvp.make_divisible(10, 8)

        threads = [threading.Thread(target=use) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        scopes = [f"lib{i}" for i in range(50)]
        threads = [threading.Thread(target=tvp.opt_in, kwargs={"scope": s}) for s in scopes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        from tvexp._api import tiers
        assert tiers._scopes.names == frozenset(scopes), tiers._scopes.names
    """
    result, _ = _run(tmp_path, user, "-W", "always::tvexp.PrototypeWarning")
    assert result.returncode == 0, result.stderr
    assert len(_warnings(result.stderr)) == 1, result.stderr


# ----------------------------------------------------------------------------- in this process


@pytest.fixture
def fresh_tiers(monkeypatch):
    """Warn-once state of a fresh process, without the test session's opt-in; restored afterwards."""
    monkeypatch.delenv("TVEXP_PROTOTYPE_OPT_IN", raising=False)
    tiers._reset_for_tests()
    yield
    tiers._reset_for_tests()


def _caught(action) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        action()
    return [str(w.message) for w in caught if issubclass(w.category, tvexp.PrototypeWarning)]


def test_texts_name_the_public_path_and_fit_a_log_line(fresh_tiers):
    texts = _caught(lambda: (tvp.LayerNorm2d(8), tvp.make_divisible(10, 8), tvs.DropBlock2d(0.1, 3, shared_mask=True)))
    assert [text.split(" is a prototype ")[0] for text in texts] == [
        "tvexp.prototype.LayerNorm2d",
        "tvexp.prototype.make_divisible",
        "tvexp.stable.DropBlock2d(shared_mask=...)",
    ]
    assert "checkpoint layout" in texts[0] and "checkpoint" not in texts[1]
    assert "option of a stable class: it may change in any release." in texts[2]
    for text in texts:
        assert "\n" not in text and len(text) < 260, text
        assert text.endswith(
            "Silence: tvexp.prototype.opt_in() or TVEXP_PROTOTYPE_OPT_IN=1 in an application, "
            'opt_in(scope="<package>") in a library.'
        )


def test_a_scope_covering_this_module_silences_without_using_up_the_warning(fresh_tiers):
    tvp.opt_in(scope=__name__.split(".")[0])
    assert _caught(lambda: tvp.LayerNorm2d(8)) == []
    assert not tiers.is_opted_in(), "a scoped opt-in is not a process-wide one"
    assert "tvexp.prototype.LayerNorm2d" not in " ".join(tiers._warned)


def test_the_block_is_silent_and_restores_the_state(fresh_tiers):
    with tvp.opted_in():
        assert _caught(lambda: tvp.LayerNorm2d(8)) == []
    assert len(_caught(lambda: tvp.LayerNorm2d(8))) == 1
    assert tiers._block.get() is None


def test_a_block_in_another_thread_does_not_silence_this_one(fresh_tiers):
    entered, release = threading.Event(), threading.Event()

    def hold_a_block():
        with tvp.opted_in():
            entered.set()
            release.wait(30)

    thread = threading.Thread(target=hold_a_block)
    thread.start()
    try:
        entered.wait(30)
        assert len(_caught(lambda: tvp.LayerNorm2d(8))) == 1
    finally:
        release.set()
        thread.join()


@pytest.mark.parametrize("function", [tvp.opt_in, tvp.opted_in], ids=["opt_in", "opted_in"])
@pytest.mark.parametrize(
    "scope, error, match",
    [
        (3, TypeError, "scope must be a module name .str. or None, got int 3"),
        (["mylib"], TypeError, "got list"),
        ("", ValueError, "scope must be a dotted module name .* got ''"),
        ("my-lib", ValueError, "got 'my-lib'"),
        ("mylib.", ValueError, "got 'mylib.'"),
    ],
)
def test_scope_is_validated(function, scope, error, match):
    with pytest.raises(error, match=match):
        if function is tvp.opted_in:
            with function(scope=scope):
                pass
        else:
            function(scope=scope)


def test_scope_is_keyword_only():
    with pytest.raises(TypeError):
        tvp.opt_in("mylib")
    with pytest.raises(TypeError):
        tvp.opted_in("mylib")


def test_forward_runs_no_tier_code(fresh_tiers):
    """A prototype layer's forward does not reach the tier machinery, opted in or not."""
    tvp.opt_in(scope="mylib")
    layers = []
    assert len(_caught(lambda: layers.append(tvp.LayerNorm2d(8)))) == 1
    (layer,) = layers
    calls = []

    def tracer(frame, event, arg):
        if event == "call" and frame.f_code.co_filename in (tiers.__file__, tiers.external_caller.__code__.co_filename):
            calls.append(frame.f_code.co_name)

    sys.setprofile(tracer)
    try:
        layer(torch.ones(1, 8, 2, 2))
    finally:
        sys.setprofile(None)
    assert calls == []
