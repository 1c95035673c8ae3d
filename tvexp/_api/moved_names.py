"""The moved-name table as literal data, so that ``tvexp-api promote`` can append rows to it.

Each row is ``(old, new, since, removed_in)`` with paths written ``module:name``; the old path keeps
working (warning, same object) until ``removed_in``. Read by :mod:`tvexp._api.deprecation`.
"""

MOVED_NAME_ROWS: list[tuple[str, str, str, str]] = [
    ("tvexp.prototype:Conv1dNormActivation", "tvexp.stable:Conv1dNormActivation", "0.2.0", "0.3.0"),
]
