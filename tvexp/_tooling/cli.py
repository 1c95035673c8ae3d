"""``tvexp-api``: the maintainers' and users' command line over the API surface.

Subcommands::

    tvexp-api snapshot [--output PATH] [--format text|json] [--acknowledge-breaking REASON]
    tvexp-api check [--format text|json]                      live surface == committed snapshot?
    tvexp-api diff OLD NEW [--format text|json|markdown|github]
                           OLD/NEW: a release version, a snapshot file, ``current`` or ``live``
    tvexp-api promote NAME [--since VERSION]                  prototype -> stable
    tvexp-api deprecate NAME --removed-in VERSION [--instead NEW]
    tvexp-api deprecations [--format text|json]               every deprecation and moved name
    tvexp-api list [--tier T] [--format text|json]            the public API as a table
    tvexp-api audit PATH... [--strict] [--format text|json|sarif|github] [--baseline F] [--write-baseline F]

Exit status: 0 success (also when the reader of the output went away, as with ``| head``); 1 a
difference (check), an uncovered breaking change (diff), a refusal (snapshot, promote, deprecate) or a
finding that must be fixed (audit); 2 bad usage (unknown command or option, a missing file or an
unknown snapshot name).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

import tvexp
from tvexp._api import deprecation
from tvexp._api.policy import removal_status
from tvexp._tooling import api_diff, audit, change_report, readme_table, snapshot_format, source_edit
from tvexp._tooling.errors import UsageError
from tvexp._tooling.snapshot_store import (
    check,
    check_report,
    current_snapshot_path,
    is_source_checkout,
    latest_release,
    live_path_resolver,
    live_snapshot,
    load_ref,
    release_breaks,
    write_snapshot,
)

__all__ = ["main", "get_parser"]


# --------------------------------------------------------------------------- commands


def _snapshot(args: argparse.Namespace) -> int:
    if args.output is None:
        path = current_snapshot_path()
        if not is_source_checkout():
            raise UsageError(
                f"refusing to rewrite the committed snapshot {path}: this tvexp is installed, not a "
                "source checkout (no pyproject.toml or .git next to the package); pass --output PATH"
            )
    else:
        path = Path(args.output)
    snapshot = live_snapshot()
    if args.output is None:
        snapshot = _with_acknowledgements(snapshot, path, args.acknowledge_breaking)
    write_snapshot(snapshot, path, args.format)
    print(f"wrote {len(snapshot['objects'])} objects to {path}")
    readme = Path(tvexp.__file__).resolve().parent.parent / "README.md"
    if args.output is None and readme.is_file() and readme_table.BEGIN in readme.read_text(encoding="utf-8"):
        print(f"{readme}: tier table {'updated' if readme_table.update_readme(readme) else 'up to date'}")
    return 0


def _with_acknowledgements(snapshot: dict[str, Any], path: Path, reason: str | None) -> dict[str, Any]:
    """The snapshot to commit: refused while it breaks the last release without an acknowledgement.

    Breaking changes against the latest release stay listed in the committed snapshot with their
    reason, so the break is a reviewed line of the diff and ``make test`` keeps passing.
    """
    committed = snapshot_format.parse_any(path.read_text(encoding="utf-8")) if path.is_file() else {}
    every_break = release_breaks(snapshot)
    previous = {(a["symbol"], a["kind"]): a for a in committed.get("acknowledged", ())}
    breaks = [c for c in every_break if (c.symbol, c.kind.value) not in previous]
    # An acknowledgement stays while its break does; one whose break went away is dropped.
    kept = [previous[key] for key in {(c.symbol, c.kind.value) for c in every_break} if key in previous]
    if breaks and not (reason and reason.strip()):
        raise UsageError(
            f"refusing to accept a surface that breaks release {latest_release()}:\n"
            + api_diff.format_changes(breaks)
            + "Fix the code, or acknowledge the break with a reason that is recorded in the snapshot:\n"
            + '    tvexp-api snapshot --acknowledge-breaking "REASON"'
        )
    added = [{"symbol": c.symbol, "kind": c.kind.value, "reason": " ".join(str(reason).split())} for c in breaks]
    acknowledged = sorted(kept + added, key=lambda a: (a["symbol"], a["kind"]))
    return {**snapshot, "acknowledged": acknowledged} if acknowledged else snapshot


def _check(args: argparse.Namespace) -> int:
    if args.format != "json":
        equal, report = check_report()
        print(report, end="")
        return 0 if equal else 1
    result = check()
    document = {
        "matches": result.equal,
        "changes": [change.to_json() for change in result.changes],
        "unacknowledged_breaking_changes_against_release": [change.to_json() for change in result.release_breaks],
        "release": latest_release(),
    }
    print(json.dumps(document, indent=2))
    return 0 if result.equal else 1


def _diff(args: argparse.Namespace) -> int:
    old, new = load_ref(args.old), load_ref(args.new)
    changes = api_diff.diff_snapshots(old, new, live_path_resolver if args.new == "live" else None)
    report = change_report.render_changes(
        changes, old, new, args.format, names=(args.old, args.new), live=args.new == "live"
    )
    print(report, end="")
    return 1 if api_diff.breaking_changes(changes) else 0


def _list(args: argparse.Namespace) -> int:
    objects = live_snapshot()["objects"]
    if args.format == "json":
        chosen = {s: f for s, f in objects.items() if not args.tier or f["tier"] == args.tier}
        print(json.dumps({"version": tvexp.__version__, "objects": chosen}, indent=2))
        return 0
    rows = [("symbol", "tier", "since", "kind", "status")]
    for symbol, facts in objects.items():
        if args.tier and facts["tier"] != args.tier:
            continue
        status = ""
        if facts.get("deprecated"):
            status = f"deprecated, removed in {facts['deprecated']['removed_in']}"
        elif facts.get("kind") == "moved-name":
            status = f"moved to {facts['moved_to']}, removed in {facts['removed_in']}"
        rows.append((symbol, facts["tier"], facts.get("since") or "", facts.get("kind", ""), status))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + ("  " + row[4] if row[4] else ""))
    return 0


def _deprecations(args: argparse.Namespace) -> int:
    live_snapshot()  # imports every namespace, so that every declaration has registered
    if args.format == "json":
        records = [
            {**vars(record), "status": str(removal_status(record.removed_in, tvexp.__version__))}
            for record in sorted(deprecation.REGISTRY, key=lambda r: (r.removed_in, r.symbol))
        ]
        print(json.dumps({"version": tvexp.__version__, "deprecations": records}, indent=2))
        return 0
    rows = [("kind", "symbol", "since", "removed_in", "status", "instead")]
    for record in sorted(deprecation.REGISTRY, key=lambda r: (r.removed_in, r.symbol)):
        rows.append(
            (
                record.kind,
                record.symbol,
                record.since,
                record.removed_in,
                str(removal_status(record.removed_in, tvexp.__version__)),
                record.instead or "",
            )
        )
    if len(rows) == 1:
        print(f"no deprecations or moved names in tvexp {tvexp.__version__}")
        return 0
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def _audit(args: argparse.Namespace) -> int:
    baseline = audit.Baseline.load(Path(args.baseline)) if args.baseline else None
    report = audit.run_audit([Path(p) for p in args.paths], baseline=baseline)
    if args.write_baseline:
        path = Path(args.write_baseline)
        everything = report.findings + report.baselined
        audit.Baseline.from_findings(everything, path.parent).write(path)
        print(f"wrote {len(everything)} finding(s) to the baseline {path}", file=sys.stderr)
        return 0
    audit.write_report(audit.render(report, args.format, strict=args.strict), sys.stdout)
    return 1 if audit.must_fail(report.findings, strict=args.strict) else 0


def _promote(args: argparse.Namespace) -> int:
    return source_edit.promote(args.name, since=args.since, skip_conformance=args.skip_conformance)


def _deprecate(args: argparse.Namespace) -> int:
    return source_edit.deprecate(args.name, removed_in=args.removed_in, instead=args.instead)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tvexp-api",
        description="tvexp's public API surface: snapshot, diff, promotion, deprecation and the upgrade audit.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("snapshot", help="write the live API surface (default: the committed snapshot)")
    p.add_argument("--output", "-o", help="write here instead of the committed snapshot")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument(
        "--acknowledge-breaking",
        metavar="REASON",
        help="accept breaking changes against the last release; the reason is recorded in the snapshot",
    )
    p.set_defaults(run=_snapshot)

    p = commands.add_parser(
        "check", help="compare the live surface with the committed snapshot (exit 1 if they differ)"
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=_check)

    p = commands.add_parser(
        "diff", help="classify the changes between two snapshots (exit 1 if a stable change breaks)"
    )
    p.add_argument("old", metavar="OLD", help="snapshot file, release version, 'current' or 'live'")
    p.add_argument("new", metavar="NEW", help="snapshot file, release version, 'current' or 'live'")
    p.add_argument("--format", choices=change_report.FORMATS, default="text")
    p.set_defaults(run=_diff)

    p = commands.add_parser("promote", help="make a prototype object stable")
    p.add_argument("name", metavar="NAME", help="e.g. LayerNorm2d or tvexp.prototype.LayerNorm2d")
    p.add_argument("--since", help="first stable release (default: the next release)")
    p.add_argument("--skip-conformance", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(run=_promote)

    p = commands.add_parser("deprecate", help="mark a public object deprecated next to its definition")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--removed-in", required=True, metavar="VERSION")
    p.add_argument("--instead", metavar="NEW", help="what to use instead")
    p.set_defaults(run=_deprecate)

    p = commands.add_parser("deprecations", help="every deprecation and moved name with its status")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=_deprecations)

    p = commands.add_parser("list", help="the public API as a table")
    p.add_argument("--tier", choices=("stable", "prototype", "core"))
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=_list)

    p = commands.add_parser(
        "audit",
        help="scan your code for prototype, deprecated, moved and private tvexp names",
        description="Exit status: 0 nothing that must be fixed; 1 a finding that fails (removed, unknown, "
        "unparsable, due for removal; with --strict also prototype and private); 2 bad usage, such as a "
        "missing path or an unreadable baseline. A '# tvexp: ignore[CATEGORY,...]' comment on a line "
        "acknowledges its findings.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="Python files, or folders to scan for .py files")
    p.add_argument("--strict", action="store_true", help="also fail on prototype and private uses")
    p.add_argument("--format", choices=audit.FORMATS, default="text", help="output format (default: text)")
    p.add_argument(
        "--baseline", metavar="FILE", help="acknowledged findings (from --write-baseline): report only new ones"
    )
    p.add_argument(
        "--write-baseline",
        metavar="FILE",
        help="write every current finding to FILE as the baseline, and exit 0",
    )
    p.set_defaults(run=_audit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = get_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        return int(args.run(args))
    except UsageError as error:
        print(f"tvexp-api: error: {error}", file=sys.stderr)
        return error.status
    except BrokenPipeError:
        # The reader went away (`tvexp-api diff ... | head`): stop quietly, and keep Python from
        # reporting the failed flush of stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
