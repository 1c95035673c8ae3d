"""Where snapshots live and how they are loaded, written and compared with the live package.

Snapshot sources: ``live`` (the imported package), ``current`` (the committed snapshot), a release
version shipped in ``snapshots/`` and a snapshot file path.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import warnings
from pathlib import Path
from typing import Any

from tvexp._api.versions import parse_version
from tvexp._tooling import api_diff, snapshot_format, surface
from tvexp._tooling.errors import UsageError

__all__ = [
    "SNAPSHOT_DIRECTORY",
    "ACCEPT_COMMAND",
    "live_snapshot",
    "is_source_checkout",
    "release_snapshots",
    "load_ref",
    "write_snapshot",
    "text_diff",
    "current_snapshot_path",
    "check_report",
    "latest_release",
    "live_path_resolver",
    "unacknowledged_breaking_changes",
]

SNAPSHOT_DIRECTORY = Path(__file__).resolve().parent / "snapshots"
ACCEPT_COMMAND = "tvexp-api snapshot"


def live_snapshot() -> dict[str, Any]:
    return {"version": surface.version(), "objects": surface.collect()}


def is_source_checkout(snapshot_directory: Path | None = None) -> bool:
    """Whether the package sits in a source tree (a ``pyproject.toml`` or ``.git`` next to it)."""
    root = (snapshot_directory or SNAPSHOT_DIRECTORY).parent.parent.parent
    return (root / "pyproject.toml").is_file() or (root / ".git").exists()


def release_snapshots(directory: Path | None = None) -> dict[str, Path]:
    """Shipped release snapshots by version (``0.1.0.txt`` -> ``"0.1.0"``)."""
    directory = directory or SNAPSHOT_DIRECTORY
    found = {}
    for path in sorted(directory.glob("*.*")):
        if path.stem != "current" and path.suffix in (".txt", ".json"):
            found[path.stem] = path
    return found


def load_ref(ref: str, directory: Path | None = None) -> dict[str, Any]:
    """A snapshot named by ``live``, ``current``, a release version or a file path."""
    directory = directory or SNAPSHOT_DIRECTORY
    if ref == "live":
        return live_snapshot()
    if ref == "current":
        path = directory / "current.txt"
    elif ref in release_snapshots(directory):
        path = release_snapshots(directory)[ref]
    else:
        path = Path(ref)
        if not path.is_file():
            known = ", ".join(["live", "current", *release_snapshots(directory)])
            raise UsageError(f"{ref!r} is neither a snapshot file nor a known snapshot ({known})", 2)
    try:
        return snapshot_format.parse_any(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise UsageError(f"{path}: {error}", 2) from None


def write_snapshot(snapshot: dict[str, Any], path: Path, fmt: str = "text") -> None:
    text = snapshot_format.render_json(snapshot) if fmt == "json" else snapshot_format.render_text(snapshot)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def text_diff(old: dict[str, Any], new: dict[str, Any], old_name: str, new_name: str) -> str:
    return "".join(
        difflib.unified_diff(
            snapshot_format.render_text(old).splitlines(keepends=True),
            snapshot_format.render_text(new).splitlines(keepends=True),
            fromfile=old_name,
            tofile=new_name,
        )
    )


def current_snapshot_path() -> Path:
    return SNAPSHOT_DIRECTORY / "current.txt"


def check_report(committed_path: Path | None = None) -> tuple[bool, str]:
    """Compares the live surface with the committed snapshot: ``(equal, report)``."""
    committed_path = committed_path or current_snapshot_path()
    live = live_snapshot()
    if not committed_path.is_file():
        return False, f"{committed_path} does not exist.\nRun `{ACCEPT_COMMAND}` to create it.\n"
    committed = snapshot_format.parse_any(committed_path.read_text(encoding="utf-8"))
    surface_only = {"version": committed["version"], "objects": committed["objects"]}
    if snapshot_format.render_text(surface_only) == snapshot_format.render_text(live):
        return True, "the live API surface matches the committed snapshot\n"
    changes = api_diff.diff_snapshots(surface_only, live, live_path_resolver)
    release_breaks = unacknowledged_breaking_changes(committed)
    if release_breaks:
        advice = (
            f"\nThis breaks the compatibility promise against release {latest_release()}:\n"
            + api_diff.format_changes(release_breaks)
            + "Fix the code, or, if the break is deliberate and reviewed, accept it with a recorded reason:\n"
            + f'    {ACCEPT_COMMAND} --acknowledge-breaking "REASON"\n'
        )
    else:
        advice = f"\nIf the change is intended, accept it with:\n    {ACCEPT_COMMAND}\n"
    report = (
        "The live API surface differs from the committed snapshot.\n\n"
        + text_diff(surface_only, live, f"{committed_path} (committed)", "live")
        + "\nClassification:\n"
        + api_diff.format_changes(changes)
        + advice
    )
    return False, report


_MISSING = object()


def _find(path: str) -> Any:
    """The object at ``module:qualname`` in this process, or ``_MISSING``."""
    module_name, _, qualname = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError:
        return _MISSING
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a moved name's shim warns; reaching it is what counts here
        for part in qualname.split("."):
            obj = getattr(obj, part, _MISSING)
            if obj is _MISSING:
                return _MISSING
    return obj


def live_path_resolver(old_path: str, new_path: str) -> bool:
    """Whether the object defined at ``new_path`` is still reachable at ``old_path`` in the live package
    (so imports and pickles that name the old path keep working)."""
    old, new = _find(old_path), _find(new_path)
    return old is not _MISSING and new is not _MISSING and inspect.unwrap(old) is inspect.unwrap(new)


def latest_release() -> str | None:
    """The newest release snapshot shipped with the package, or ``None``."""
    releases = release_snapshots()
    return max(releases, key=lambda version: parse_version(version).sort_key()) if releases else None


def unacknowledged_breaking_changes(committed: dict[str, Any] | None = None) -> list[api_diff.Change]:
    """Breaking changes from the latest release to the live package that the committed snapshot does not
    acknowledge (``tvexp-api snapshot --acknowledge-breaking REASON`` records them, with the reason)."""
    release = latest_release()
    if release is None:
        return []
    if committed is None:
        path = current_snapshot_path()
        committed = snapshot_format.parse_any(path.read_text(encoding="utf-8")) if path.is_file() else {}
    acknowledged = {(a["symbol"], a["kind"]) for a in committed.get("acknowledged", ())}
    changes = api_diff.diff_snapshots(load_ref(release), live_snapshot(), live_path_resolver)
    return [c for c in api_diff.breaking_changes(changes) if (c.symbol, c.kind.value) not in acknowledged]
