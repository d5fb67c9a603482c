"""Remote models that never answer or cannot be reached: every command ends within its
timeout with one clear line and exit code 2, never a hang or a traceback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from memo_graph.cli import app
from memo_graph.models.remote import transport_failure
from memo_graph.models.spec import resolve_chat_model
from tests.servers import free_port


@pytest.fixture
def silent_server() -> Iterator[str]:
    """An endpoint that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    finally:
        stop.set()
        thread.join(timeout=2)
        for connection in held:
            connection.close()
        listener.close()


def one_line(result: Result) -> str:
    return " ".join(result.output.split())


def test_remote_specs_get_the_timeout_and_retries() -> None:
    model = resolve_chat_model("openai-compatible:m@http://127.0.0.1:9/v1", timeout_s=3, retries=1)
    assert model.request_timeout == 3  # type: ignore[attr-defined]
    assert model.max_retries == 1  # type: ignore[attr-defined]
    default = resolve_chat_model("openai-compatible:m@http://127.0.0.1:9/v1")
    assert default.request_timeout == 60.0  # type: ignore[attr-defined]


def test_ask_with_a_silent_executive_fails_within_its_timeout(
    silent_server: str, tiny_llama_dir: Path
) -> None:
    started = time.perf_counter()
    result = CliRunner().invoke(
        app,
        ["ask", "Who founded the glassworks?", "--memory", str(tiny_llama_dir)]
        + ["--executive", f"openai-compatible:m@{silent_server}", "--timeout", "1"]
        + ["--retries", "1", "--identification-turns", "1", "--seeking-turns", "1"],
    )
    elapsed = time.perf_counter() - started
    assert result.exit_code == 2, result.output
    assert "EXECUTIVE" in one_line(result) and "did not answer in time" in one_line(result)
    assert "Traceback" not in result.output
    assert elapsed < 30  # two requests of one second each, and the process's own work


def test_chat_and_synthesize_with_an_unreachable_provider_say_so_in_one_line(
    tmp_path: Path,
) -> None:
    closed = f"openai-compatible:m@http://127.0.0.1:{free_port()}/v1"
    corpus = tmp_path / "doc.txt"
    corpus.write_text("Marie Curie was born in Warsaw in 1867.")
    results = [
        CliRunner().invoke(app, ["chat", "hello", "--model", closed, "--retries", "0"]),
        CliRunner().invoke(
            app,
            ["synthesize", str(corpus), "--out", str(tmp_path / "out"), "--generator", closed]
            + ["--retries", "0", "--chunk-unit", "words", "--steps", "extraction"],
        ),
    ]
    for result in results:
        assert result.exit_code == 2, result.output
        assert "could not be reached" in one_line(result), result.output
        assert "Traceback" not in result.output
        errors = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1


def test_transport_failures_are_told_apart_from_other_errors() -> None:
    import httpx
    import openai

    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    assert transport_failure(openai.APITimeoutError(request=request)) == "did not answer in time"
    assert transport_failure(openai.APIConnectionError(request=request)) == "could not be reached"
    try:
        raise RuntimeError("node failed") from httpx.ConnectError("refused")
    except RuntimeError as wrapped:
        assert transport_failure(wrapped) == "could not be reached"
    assert transport_failure(ValueError("bad JSON")) is None
