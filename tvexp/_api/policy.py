"""tvexp's compatibility policy as data: one definition of each rule, imported everywhere it is used.

The runtime (deprecation declarations, moved names, the prototype warning) and the developer tooling
(snapshot, diff, audit, promotion) read these; nothing else restates them.
"""

from __future__ import annotations

import enum

from tvexp._api.versions import next_release, parse_version

__all__ = [
    "MINIMUM_DEPRECATION_MINORS",
    "MOVED_NAME_MINORS",
    "TIER_NAMESPACES",
    "PROTOTYPE_NAMESPACES",
    "STABLE_NAMESPACES",
    "PROMOTION_TARGET",
    "RemovalStatus",
    "removal_status",
    "moved_name_removed_in",
]

# A stable object, parameter or behaviour is removed only after a deprecation spanning at least this
# many minor releases (deprecated in 0.3, removed in 0.5 at the earliest).
MINIMUM_DEPRECATION_MINORS = 2

# A promoted prototype name keeps working from its old path for this many minor releases.
MOVED_NAME_MINORS = 1

# The public namespaces and the tier their ``__all__`` lists belong to.
TIER_NAMESPACES: dict[str, str] = {
    "tvexp.stable": "stable",
    "tvexp.stable.functional": "stable",
    "tvexp.stable.losses": "stable",
    "tvexp.prototype": "prototype",
    "tvexp.prototype.functional": "prototype",
    "tvexp.prototype.losses": "prototype",
}
STABLE_NAMESPACES = tuple(name for name, tier in TIER_NAMESPACES.items() if tier == "stable")
PROTOTYPE_NAMESPACES = tuple(name for name, tier in TIER_NAMESPACES.items() if tier == "prototype")

# Where ``tvexp-api promote`` moves a name: each prototype namespace to its stable counterpart.
PROMOTION_TARGET: dict[str, str] = {
    namespace: namespace.replace("tvexp.prototype", "tvexp.stable", 1) for namespace in PROTOTYPE_NAMESPACES
}


class RemovalStatus(str, enum.Enum):
    """Where a scheduled removal (a deprecation's or moved name's ``removed_in``) stands."""

    OVERDUE = "overdue"
    """``removed_in`` is before the release being developed: it should be gone already."""
    DUE = "due in the next release"
    """``removed_in`` is the release being developed (or the next one after a release)."""
    PENDING = "pending"
    """A later release."""

    def __str__(self) -> str:
        return self.value


def removal_status(removed_in: str, current: str) -> RemovalStatus:
    """The status of a removal scheduled for ``removed_in``, seen from version ``current``.

    Example:
        >>> str(removal_status("0.2.0", "0.2.0.dev0")), str(removal_status("0.4.0", "0.2.0.dev0"))
        ('due in the next release', 'pending')
    """
    upcoming = parse_version(next_release(current)).sort_key()
    target = parse_version(removed_in).sort_key()
    if target < upcoming:
        return RemovalStatus.OVERDUE
    if target == upcoming:
        return RemovalStatus.DUE
    return RemovalStatus.PENDING


def moved_name_removed_in(since: str) -> str:
    """The earliest release that may drop the old path of a name moved in release ``since``.

    Example:
        >>> moved_name_removed_in("0.2.0")
        '0.3.0'
    """
    version = parse_version(since)
    return f"{version.major}.{version.minor + MOVED_NAME_MINORS}.0"
