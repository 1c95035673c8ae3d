"""``tvexp-api diff`` output: the classified changes as text, JSON, a pull-request comment (markdown) or
GitHub workflow annotations. The JSON schema is documented in ``docs/guide/compatibility.rst``."""

from __future__ import annotations

import inspect
import json
from typing import Any

from tvexp._tooling.api_diff import Change, breaking_changes, format_changes
from tvexp._tooling.snapshot_store import MISSING, object_at

__all__ = ["FORMATS", "render_changes"]

FORMATS = ("text", "json", "markdown", "github")


def _verdict(change: Change) -> str:
    return "BREAKING" if change.breaking else "compatible" if change.tier != "prototype" else "prototype-only"


def _location(defined: str | None) -> tuple[str, int] | None:
    """``(file, line)`` of the definition at ``module:qualname`` in this process, if it can be found."""
    obj: Any = object_at(defined) if defined and ":" in defined else MISSING
    if obj is MISSING:
        return None
    try:
        obj = inspect.unwrap(obj)
        path = inspect.getsourcefile(obj)
        line = inspect.getsourcelines(obj)[1]
    except (TypeError, OSError):
        return None
    return (path, line) if path else None


def _facts(change: Change, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    return new["objects"].get(change.symbol) or old["objects"].get(change.symbol) or {}


def _entry(change: Change, old: dict[str, Any], new: dict[str, Any], live: bool) -> dict[str, Any]:
    facts = _facts(change, old, new)
    deprecated = facts.get("deprecated") or {}
    location = _location(facts.get("defined")) if live and change.symbol in new["objects"] else None
    return {
        "symbol": change.symbol,
        "tier": change.tier,
        "verdict": _verdict(change),
        "breaking": change.breaking,
        "kind": change.kind.value,
        "description": change.kind.description,
        "detail": change.detail,
        "old": change.old,
        "new": change.new,
        "since": facts.get("since"),
        "removed_in": deprecated.get("removed_in") or facts.get("removed_in"),
        "defined": facts.get("defined"),
        "location": f"{location[0]}:{location[1]}" if location else None,
    }


def render_changes(
    changes: list[Change], old: dict[str, Any], new: dict[str, Any], fmt: str, *, names: tuple[str, str], live: bool
) -> str:
    """The report in ``fmt`` (one of :data:`FORMATS`); ``names`` are the two sources as the user gave them."""
    if fmt == "text":
        return format_changes(changes)
    entries = [_entry(change, old, new, live) for change in changes]
    count = len(breaking_changes(changes))
    if fmt == "json":
        document = {
            "old": {"source": names[0], "version": old["version"]},
            "new": {"source": names[1], "version": new["version"]},
            "breaking": count,
            "changes": entries,
        }
        return json.dumps(document, indent=2) + "\n"
    if fmt == "markdown":
        title = f"### tvexp API changes: {names[0]} ({old['version']}) → {names[1]} ({new['version']})\n\n"
        if not entries:
            return title + "No API changes.\n"
        lines = [title + f"**{len(entries)} change(s), {count} breaking.**\n", "| | symbol | change | detail |"]
        lines.append("|---|---|---|---|")
        for e in entries:
            mark = "❌ breaking" if e["breaking"] else "✅ compatible" if e["tier"] != "prototype" else "🧪 prototype"
            detail = str(e["detail"]).replace("|", "\\|")
            lines.append(f"| {mark} | `{e['symbol']}` | `{e['kind']}` | {detail} |")
        return "\n".join(lines) + "\n"
    if fmt == "github":
        lines = []
        for e in entries:
            level = "error" if e["breaking"] else "notice"
            where = ""
            if e["location"]:
                path, _, line = str(e["location"]).rpartition(":")
                where = f" file={path},line={line},"
            title = "breaking API change" if e["breaking"] else "API change"
            message = f"{e['symbol']}: {e['kind']}: {e['detail']}".replace("%", "%25").replace("\n", "%0A")
            lines.append(f"::{level}{where or ' '}title={title}::{message}")
        return "\n".join(lines) + ("\n" if lines else "")
    raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
