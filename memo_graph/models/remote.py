"""Telling a remote model's transport failure (timed out, unreachable) from every other error,
whatever client raised it: openai and httpx, google's clients, or the standard library."""

from __future__ import annotations

from collections.abc import Iterator

from memo_graph.errors import MemoError

_TIMEOUTS = {
    "APITimeoutError",
    "TimeoutException",
    "ReadTimeout",
    "ConnectTimeout",
    "WriteTimeout",
    "PoolTimeout",
    "TimeoutError",
    "DeadlineExceeded",
}
_UNREACHABLE = {
    "APIConnectionError",
    "ConnectError",
    "ConnectionError",
    "RemoteProtocolError",
    "ServiceUnavailable",
}


class RemoteModelError(MemoError):
    """A remote model did not answer in time or could not be reached, retries included."""


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def transport_failure(exc: BaseException) -> str | None:
    """ "did not answer in time" or "could not be reached" when ``exc`` (or what caused it) is a
    transport failure; None for any other error."""
    names = {cls.__name__ for error in _chain(exc) for cls in type(error).__mro__}
    if names & _TIMEOUTS:
        return "did not answer in time"
    if names & _UNREACHABLE:
        return "could not be reached"
    return None


def remote_error(
    role: str, spec: str, exc: BaseException, timeout_s: float, retries: int
) -> RemoteModelError | None:
    """The error to raise for a transport failure of ``role`` (None: not one)."""
    what = transport_failure(exc)
    if what is None:
        return None
    return RemoteModelError(
        f"the {role} ({spec}) {what}: waited up to {timeout_s:g} s per request, "
        f"{retries} retr{'y' if retries == 1 else 'ies'}. Check that the server runs and "
        "answers, or raise --timeout / --retries."
    )
