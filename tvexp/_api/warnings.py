"""The two warning classes of tvexp: one for opting in to prototypes, one for deprecations."""

from __future__ import annotations

from typing import Callable

__all__ = ["PrototypeWarning", "TvexpDeprecationWarning"]


class PrototypeWarning(UserWarning):
    """Warned once per prototype class or function per process, at its first use.

    A prototype object may change or disappear in any release. An application silences the warning
    with :func:`tvexp.prototype.opt_in`, the environment variable ``TVEXP_PROTOTYPE_OPT_IN=1``, or
    ``warnings.filterwarnings("ignore", category=tvexp.PrototypeWarning)``; a library silences it
    for its own code only with ``tvexp.prototype.opt_in(scope="mylib")``, and
    :func:`tvexp.prototype.opted_in` does so for a block of code.

    Example:
        >>> import tvexp
        >>> issubclass(tvexp.PrototypeWarning, UserWarning)
        True
    """


class TvexpDeprecationWarning(FutureWarning):
    """Warned when a deprecated tvexp object, argument, import path or checkpoint layout is used.

    It subclasses :class:`FutureWarning`, so that Python's default filters show it to end users
    and not only to developers. It carries the version that deprecated the thing (``since``) and
    the first version that no longer has it (``removed_in``).

    Example:
        >>> import tvexp
        >>> w = tvexp.TvexpDeprecationWarning("old is deprecated", since="0.3.0", removed_in="0.5.0")
        >>> (w.since, w.removed_in)
        ('0.3.0', '0.5.0')
    """

    since: str | None
    removed_in: str | None

    def __init__(self, message: str, *, since: str | None = None, removed_in: str | None = None) -> None:
        super().__init__(message)
        self.since = since
        self.removed_in = removed_in

    def __reduce__(self) -> tuple[Callable[..., TvexpDeprecationWarning], tuple[str, str | None, str | None]]:
        # Keeps the attributes when the warning crosses a process boundary
        return (_rebuild_deprecation_warning, (str(self), self.since, self.removed_in))


def _rebuild_deprecation_warning(message: str, since: str | None, removed_in: str | None) -> TvexpDeprecationWarning:
    return TvexpDeprecationWarning(message, since=since, removed_in=removed_in)
