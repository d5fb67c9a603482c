"""Telling a remote model's failures (timed out, unreachable, an HTTP error status, a reply
that is not JSON) from every other error, whatever client raised them: openai and httpx,
google's clients, or the standard library; and saying each in one line with what to do."""

from __future__ import annotations

import json

from memo_graph.errors import MemoError, causes

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
# Errors whose ``code`` is an HTTP status (google-genai's, google-api-core's); other clients
# name it ``status_code``, on the error or on its ``response``.
_CODE_IS_HTTP_STATUS = {"APIError", "GoogleAPICallError"}
_SHORT_BODY_CHARS = 200
_ADVICE_BY_STATUS = {
    400: "The server refused the request: check the model name and its settings.",
    401: "Check its API key.",
    403: "Check its API key and that it may use this model.",
    404: "Check the model name and the base URL (an endpoint's URL ends in /v1).",
    422: "The server refused the request: check the model name and its settings.",
    429: "The server is rate limiting: wait, ask less at once, or raise --retries.",
}
_ADVICE_SERVER_FAILED = "The server failed on its side: check its log, or raise --retries."


class RemoteModelError(MemoError):
    """A remote model did not answer in time, could not be reached, or answered with an
    error or with something unreadable, retries included."""


def transport_failure(exc: BaseException) -> str | None:
    """ "did not answer in time" or "could not be reached" when ``exc`` (or what caused it) is a
    transport failure; None for any other error."""
    names = {cls.__name__ for error in causes(exc) for cls in type(error).__mro__}
    if names & _TIMEOUTS:
        return "did not answer in time"
    if names & _UNREACHABLE:
        return "could not be reached"
    return None


def _short(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= _SHORT_BODY_CHARS:
        return text
    return text[: _SHORT_BODY_CHARS - 3] + "..."


def _http_status(error: BaseException) -> int | None:
    for status in (
        getattr(error, "status_code", None),
        getattr(getattr(error, "response", None), "status_code", None),
    ):
        if isinstance(status, int):
            return status
    code = getattr(error, "code", None)
    names = {cls.__name__ for cls in type(error).__mro__}
    if isinstance(code, int) and 100 <= code < 600 and names & _CODE_IS_HTTP_STATUS:
        return code
    return None


def _body(error: BaseException) -> str:
    try:
        text = getattr(getattr(error, "response", None), "text", None)
    except Exception:  # a streamed response not read yet
        text = None
    if not isinstance(text, str) or not text.strip():
        text = str(getattr(error, "message", None) or error)
    return _short(text) or "(empty body)"


def status_failure(exc: BaseException) -> str | None:
    """ "answered HTTP 500: <short body>. <what to do>" when ``exc`` (or what caused it) is an
    HTTP error status from the server; None for any other error."""
    for error in causes(exc):
        status = _http_status(error)
        if status is not None and status >= 400:
            advice = _ADVICE_BY_STATUS.get(status, _ADVICE_SERVER_FAILED)
            return f"answered HTTP {status}: {_body(error)}. {advice}"
    return None


def unreadable_reply(exc: BaseException) -> str | None:
    """ "answered something that is not JSON: ..." when ``exc`` (or what caused it) is the
    JSON decoder's error. Clients let it out bare, so it tells a remote reply only where
    ``exc`` came from a call of a remote model; elsewhere it may be a file of ours."""
    for error in causes(exc):
        if isinstance(error, json.JSONDecodeError):
            shown = repr(_short(error.doc)) if error.doc.strip() else "an empty body"
            return (
                f"answered something that is not JSON: {shown}. Check that its URL is an "
                "OpenAI-compatible API (an endpoint's URL ends in /v1) and that the server there "
                "is the one you meant."
            )
    return None


def remote_error(
    role: str, spec: str, exc: BaseException, timeout_s: float, retries: int
) -> RemoteModelError | None:
    """The error to raise when the model ``role`` plays failed in a way its server can be
    blamed for (None: it did not)."""
    what = transport_failure(exc)
    if what is not None:
        return RemoteModelError(
            f"the {role} ({spec}) {what}: waited up to {timeout_s:g} s per request, "
            f"{retries} retr{'y' if retries == 1 else 'ies'}. Check that the server runs and "
            "answers, or raise --timeout / --retries."
        )
    answered = status_failure(exc) or unreadable_reply(exc)
    if answered is not None:
        return RemoteModelError(f"the {role} ({spec}) {answered}")
    return None
