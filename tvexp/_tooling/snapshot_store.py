"""Where snapshots live and how they are loaded, written and compared with the live package.

Snapshot sources: ``live`` (the imported package), ``current`` (the committed snapshot), a release
version shipped in ``snapshots/`` and a snapshot file path.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
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
    "CheckResult",
    "MISSING",
    "check",
    "check_report",
    "object_at",
    "release_breaks",
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
    """A snapshot named by ``live``, ``current``, a release version, a snapshot file, an installed tvexp
    (a wheel file, or a directory such as ``site-packages`` that holds a ``tvexp`` package) or a git
    revision of the checkout (``HEAD~1``, a tag, a branch)."""
    directory = directory or SNAPSHOT_DIRECTORY
    if ref == "live":
        return live_snapshot()
    if ref == "current":
        path = directory / "current.txt"
    elif ref in release_snapshots(directory):
        path = release_snapshots(directory)[ref]
    else:
        path = Path(ref)
        if path.suffix == ".whl" and path.is_file():
            return _snapshot_of_wheel(path)
        if path.is_dir() and (path / "tvexp" / "__init__.py").is_file():
            return _snapshot_of_tree(path, f"the tvexp installed in {path}")
        if not path.is_file():
            revision = _git_revision(ref)
            if revision is not None:
                return _snapshot_of_revision(ref, revision)
            known = ", ".join(["live", "current", *release_snapshots(directory)])
            raise UsageError(
                f"{ref!r} is not a snapshot file, a wheel, a directory holding tvexp, a git revision of this "
                f"checkout, or a known snapshot ({known})",
                2,
            )
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


@dataclass(frozen=True)
class CheckResult:
    """The live surface compared with the committed snapshot (one live snapshot, computed once)."""

    committed_path: Path
    committed: dict[str, Any] | None
    live: dict[str, Any]
    changes: list[api_diff.Change]
    release_breaks: list[api_diff.Change]  # against the latest release, not acknowledged

    @property
    def equal(self) -> bool:
        """Whether the committed snapshot (its acknowledgements aside) reads exactly like the live one."""
        if self.committed is None:
            return False
        surface_only = {"version": self.committed["version"], "objects": self.committed["objects"]}
        return snapshot_format.render_text(surface_only) == snapshot_format.render_text(self.live)


def check(committed_path: Path | None = None) -> CheckResult:
    """Compares the live surface with the committed snapshot and the latest release."""
    committed_path = committed_path or current_snapshot_path()
    live = live_snapshot()
    if not committed_path.is_file():
        return CheckResult(committed_path, None, live, [], [])
    committed = snapshot_format.parse_any(committed_path.read_text(encoding="utf-8"))
    surface_only = {"version": committed["version"], "objects": committed["objects"]}
    changes = api_diff.diff_snapshots(surface_only, live, live_path_resolver)
    return CheckResult(committed_path, committed, live, changes, unacknowledged_breaking_changes(committed, live))


def check_report(committed_path: Path | None = None) -> tuple[bool, str]:
    """Compares the live surface with the committed snapshot: ``(equal, report)``."""
    result = check(committed_path)
    if result.committed is None:
        return False, f"{result.committed_path} does not exist.\nRun `{ACCEPT_COMMAND}` to create it.\n"
    if result.equal:
        return True, "the live API surface matches the committed snapshot\n"
    if result.release_breaks:
        advice = (
            f"\nThis breaks the compatibility promise against release {latest_release()}:\n"
            + api_diff.format_changes(result.release_breaks)
            + "Fix the code, or, if the break is deliberate and reviewed, accept it with a recorded reason:\n"
            + f'    {ACCEPT_COMMAND} --acknowledge-breaking "REASON"\n'
        )
    else:
        advice = f"\nIf the change is intended, accept it with:\n    {ACCEPT_COMMAND}\n"
    surface_only = {"version": result.committed["version"], "objects": result.committed["objects"]}
    report = (
        "The live API surface differs from the committed snapshot.\n\n"
        + text_diff(surface_only, result.live, f"{result.committed_path} (committed)", "live")
        + "\nClassification:\n"
        + api_diff.format_changes(result.changes)
        + advice
    )
    return False, report


MISSING = object()  # what object_at returns for a path that leads nowhere


def object_at(path: str) -> Any:
    """The object at ``module:qualname`` in this process, or :data:`MISSING`."""
    module_name, _, qualname = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError:
        return MISSING
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a moved name's shim warns; reaching it is what counts here
        for part in qualname.split("."):
            obj = getattr(obj, part, MISSING)
            if obj is MISSING:
                return MISSING
    return obj


def live_path_resolver(old_path: str, new_path: str) -> bool:
    """Whether the object defined at ``new_path`` is still reachable at ``old_path`` in the live package
    (so imports and pickles that name the old path keep working)."""
    old, new = object_at(old_path), object_at(new_path)
    return old is not MISSING and new is not MISSING and inspect.unwrap(old) is inspect.unwrap(new)


def latest_release() -> str | None:
    """The newest release snapshot shipped with the package, or ``None``."""
    releases = release_snapshots()
    return max(releases, key=lambda version: parse_version(version).sort_key()) if releases else None


def release_breaks(live: dict[str, Any] | None = None) -> list[api_diff.Change]:
    """Every breaking change from the latest release to ``live`` (default: the live package)."""
    release = latest_release()
    if release is None:
        return []
    changes = api_diff.diff_snapshots(load_ref(release), live or live_snapshot(), live_path_resolver)
    return api_diff.breaking_changes(changes)


def unacknowledged_breaking_changes(
    committed: dict[str, Any] | None = None, live: dict[str, Any] | None = None
) -> list[api_diff.Change]:
    """Breaking changes from the latest release to the live package that the committed snapshot does not
    acknowledge (``tvexp-api snapshot --acknowledge-breaking REASON`` records them, with the reason)."""
    if committed is None:
        path = current_snapshot_path()
        committed = snapshot_format.parse_any(path.read_text(encoding="utf-8")) if path.is_file() else {}
    acknowledged = {(a["symbol"], a["kind"]) for a in committed.get("acknowledged", ())}
    return [c for c in release_breaks(live) if (c.symbol, c.kind.value) not in acknowledged]


# --------------------------------------------------------------------------- other versions of tvexp


def _repository_root() -> Path:
    return Path(tvexp_package_directory()).parent


def tvexp_package_directory() -> Path:
    """The directory of the imported ``tvexp`` package."""
    return SNAPSHOT_DIRECTORY.parent.parent


def _git_revision(ref: str) -> str | None:
    """The commit ``ref`` names in the checkout this tvexp lives in, or ``None``."""
    root = _repository_root()
    if not (root / ".git").exists():
        return None
    result = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    return result.stdout.strip() or None if result.returncode == 0 else None


def _snapshot_of_tree(root: Path, what: str) -> dict[str, Any]:
    """Snapshots the tvexp under ``root`` in a fresh interpreter (its own imports, not this process's)."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "snapshot.json"
        # Releases before the tooling moved to tvexp._tooling (0.1.0) ran it as tvexp._api.cli.
        module = "tvexp._tooling" if (root / "tvexp" / "_tooling" / "__main__.py").is_file() else "tvexp._api.cli"
        command = [sys.executable, "-m", module, "snapshot", "--output", str(output), "--format", "json"]
        result = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=scratch)
        if result.returncode != 0 or not output.is_file():
            lines = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise UsageError(f"could not snapshot {what}: " + " / ".join(lines), 2)
        return snapshot_format.parse_any(output.read_text(encoding="utf-8"))


def _snapshot_of_wheel(path: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        with zipfile.ZipFile(path) as wheel:
            wheel.extractall(scratch)
        return _snapshot_of_tree(Path(scratch), f"the wheel {path}")


def _snapshot_of_revision(ref: str, revision: str) -> dict[str, Any]:
    """Snapshots the package as committed at ``revision`` (extracted with ``git archive``, no worktree)."""
    root = _repository_root()
    with tempfile.TemporaryDirectory() as scratch:
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", "--format=tar", revision, "tvexp"], capture_output=True
        )
        if archive.returncode != 0:
            raise UsageError(f"git archive {ref} failed: {archive.stderr.decode().strip()}", 2)
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(scratch, filter="data")
        return _snapshot_of_tree(Path(scratch), f"revision {ref} ({revision[:10]})")
