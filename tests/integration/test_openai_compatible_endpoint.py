"""The ``openai-compatible:MODEL@URL`` spec against a real OpenAI-compatible HTTP server:
llama.cpp's server (``pip install 'memo-graph[llamacpp]'``) serving the embedded GGUF on
loopback. Skipped when llama-cpp-python's server is not installed (its build takes minutes)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from memo_graph import resolve_chat_model
from memo_graph.models.weights import locate_embedded_gguf

pytest.importorskip("llama_cpp.server.app", reason="pip install 'memo-graph[llamacpp]'")
pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(locate_embedded_gguf()),
            "--model_alias",
            "smollm2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--verbose",
            "false",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/models", timeout=2).read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("llama.cpp server did not start") from None
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_invoke_stream_and_batch(endpoint: str) -> None:
    llm = resolve_chat_model(f"openai-compatible:smollm2@{endpoint}", max_tokens=24, temperature=0)
    reply = llm.invoke("What is the capital of France?")
    assert "Paris" in str(reply.content)
    assert reply.usage_metadata and reply.usage_metadata["output_tokens"] > 0
    streamed = "".join(str(c.content) for c in llm.stream("What is the capital of France?"))
    assert "Paris" in streamed
    assert len(llm.batch(["Say hi.", "Say bye."])) == 2


def test_vllm_alias_and_json_mode(endpoint: str) -> None:
    llm = resolve_chat_model(f"vllm:smollm2@{endpoint}", max_tokens=96, temperature=0)
    reply = llm.with_structured_output(method="json_mode").invoke(
        "Return a JSON object with keys country and capital for France."
    )
    assert isinstance(reply, dict)


def test_server_down_fails_fast() -> None:
    llm = resolve_chat_model(
        f"openai-compatible:smollm2@http://127.0.0.1:{_free_port()}/v1", max_retries=0, timeout=5
    )
    with pytest.raises(Exception, match="(?i)connect"):
        llm.invoke("hi")
