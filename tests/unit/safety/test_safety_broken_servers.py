"""A server that answers HTTP 500, or 200 with a body that is not JSON: `memo chat` and
`memo ask` say so in one line naming the model and what to do, exit code 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from memo_graph.cli import app
from memo_graph.cli_support import errors_as_one_line
from memo_graph.models.remote import status_failure
from tests.servers import fixed_reply_server

BROKEN_REPLIES = {
    "HTTP 500": (500, b'{"error": {"message": "the engine died"}}', "answered HTTP 500"),
    "not JSON": (200, b"not json", "answered something that is not JSON"),
}


def one_line(result: Result) -> str:
    return " ".join(result.output.split())


def assert_one_error_line(result: Result, *expected: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    for text in expected:
        assert text in one_line(result), result.output


@pytest.mark.parametrize("broken", BROKEN_REPLIES)
def test_memo_chat_against_a_broken_server_says_what_it_answered(broken: str) -> None:
    status, body, said = BROKEN_REPLIES[broken]
    with fixed_reply_server(status, body) as server:
        spec = f"openai-compatible:m@http://127.0.0.1:{server.server_port}/v1"
        result = CliRunner().invoke(app, ["chat", "hi", "-m", spec, "--retries", "0"])
    assert_one_error_line(result, spec, said, body.decode()[:8])


@pytest.mark.parametrize("broken", BROKEN_REPLIES)
def test_memo_ask_with_a_broken_executive_says_what_it_answered(
    broken: str, tiny_llama_dir: Path
) -> None:
    status, body, said = BROKEN_REPLIES[broken]
    with fixed_reply_server(status, body) as server:
        spec = f"openai-compatible:m@http://127.0.0.1:{server.server_port}/v1"
        result = CliRunner().invoke(
            app,
            ["ask", "Who founded the glassworks?", "--memory", str(tiny_llama_dir)]
            + ["--executive", spec, "--retries", "0"]
            + ["--identification-turns", "1", "--seeking-turns", "1"],
        )
    assert_one_error_line(result, "EXECUTIVE", spec, said)


def test_http_error_statuses_are_told_apart_whatever_client_raised_them() -> None:
    import httpx2  # what openai's client is built on
    import openai

    response = httpx2.Response(
        429, text="slow down", request=httpx2.Request("POST", "http://127.0.0.1:9/v1")
    )
    rate_limited = openai.RateLimitError("rate limited", response=response, body=None)
    assert (failure := status_failure(rate_limited)) and failure.startswith(
        "answered HTTP 429: slow down. The server is rate limiting"
    )
    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    not_found = httpx.HTTPStatusError("missing", request=request, response=httpx.Response(404))
    try:
        raise RuntimeError("node failed") from not_found
    except RuntimeError as wrapped:
        assert "HTTP 404" in (status_failure(wrapped) or "")
    assert status_failure(ValueError("bad")) is None
    assert status_failure(SystemExit(500)) is None


def test_google_errors_are_read_by_their_code() -> None:
    errors = pytest.importorskip("google.genai.errors")
    unavailable = errors.ServerError(503, {"error": {"message": "overloaded"}})
    assert (status_failure(unavailable) or "").startswith("answered HTTP 503: ")


def test_an_http_error_outside_chat_and_ask_still_ends_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import typer

    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    failure = httpx.HTTPStatusError(
        "server error", request=request, response=httpx.Response(502, text="bad gateway")
    )
    with pytest.raises(typer.Exit) as exit_info, errors_as_one_line():
        raise failure
    assert exit_info.value.exit_code == 2
    assert "a remote model answered HTTP 502: bad gateway" in " ".join(
        capsys.readouterr().out.split()
    )
