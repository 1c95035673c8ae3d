"""Run by ``make wheel-check`` inside a scratch environment where tvexp is installed from the wheel."""

from __future__ import annotations

import importlib.resources
import sys

import tvexp

assert "site-packages" in tvexp.__file__, f"tvexp imported from the source tree: {tvexp.__file__}"
package = importlib.resources.files("tvexp")
assert package.joinpath("py.typed").is_file(), "py.typed is missing from the wheel"
snapshots = package.joinpath("_tooling", "snapshots")
names = sorted(p.name for p in snapshots.iterdir()) if snapshots.is_dir() else []
assert "current.txt" in names, f"the current API snapshot is missing from the wheel: {names}"
import tvexp.prototype  # noqa: E402
import tvexp.stable  # noqa: E402
from tvexp._tooling.cli import main  # noqa: E402

# The installed package compares itself with the snapshot it ships (no source tree needed).
assert main(["check"]) == 0, "the wheel's live API differs from the snapshot it ships"

print(
    f"wheel ok ({len(names)} snapshot files): tvexp {tvexp.__version__} from {tvexp.__file__}; {len(tvexp.stable.__all__)} stable, "
    f"{len(tvexp.prototype.__all__)} prototype names",
    file=sys.stderr,
)
