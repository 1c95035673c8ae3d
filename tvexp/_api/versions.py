"""Release versions of tvexp (``MAJOR.MINOR.PATCH`` with an optional ``.devN``) and their arithmetic."""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["Version", "parse_version", "next_release", "minor_distance"]

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:\.dev(\d+))?$")


class Version(NamedTuple):
    """A parsed version; a ``.devN`` version sorts before its release."""

    major: int
    minor: int
    patch: int
    dev: int | None

    @property
    def release(self) -> str:
        """The release this version is or leads to, e.g. ``0.2.0`` for ``0.2.0.dev3``."""
        return f"{self.major}.{self.minor}.{self.patch}"

    def sort_key(self) -> tuple[int, int, int, float]:
        return (self.major, self.minor, self.patch, float("inf") if self.dev is None else self.dev)

    def __str__(self) -> str:
        return self.release + ("" if self.dev is None else f".dev{self.dev}")


def parse_version(text: str) -> Version:
    """Parses ``0.1``, ``0.1.0`` or ``0.2.0.dev0``; raises ``ValueError`` naming the text otherwise."""
    match = _VERSION.match(str(text).strip())
    if match is None:
        raise ValueError(f"version {text!r} is not of the form MAJOR.MINOR[.PATCH][.devN]")
    major, minor, patch, dev = match.groups()
    return Version(int(major), int(minor), int(patch or 0), None if dev is None else int(dev))


def next_release(current: str) -> str:
    """The release that ``current`` leads to: ``0.2.0.dev0`` -> ``0.2.0``; a release -> next minor."""
    version = parse_version(current)
    if version.dev is not None:
        return version.release
    return f"{version.major}.{version.minor + 1}.0"


def minor_distance(older: str, newer: str) -> int:
    """How many minor releases lie between two versions (counting majors as 100 minors)."""
    a, b = parse_version(older), parse_version(newer)
    return (b.major - a.major) * 100 + (b.minor - a.minor)


def version_reached(current: str, target: str) -> bool:
    """True when ``current`` is ``target`` or later; a ``.devN`` of ``target`` counts as reached.

    Used for expiry: once development of ``removed_in`` has started, the removal is due.
    """
    cur, tgt = parse_version(current), parse_version(target)
    return (cur.major, cur.minor, cur.patch) >= (tgt.major, tgt.minor, tgt.patch)
