"""The ``openai-compatible:MODEL@URL`` spec against a real OpenAI-compatible HTTP server:
llama.cpp's server (``pip install 'memo-graph[llamacpp]'``) serving the embedded GGUF on
loopback. Skipped when llama-cpp-python's server is not installed (its build takes minutes)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from memo_graph import resolve_chat_model
from memo_graph.memory import MemoryTool
from memo_graph.models.packaged import locate_embedded_gguf
from tests.servers import free_port, wait_until_up

pytest.importorskip("llama_cpp.server.app", reason="pip install 'memo-graph[llamacpp]'")
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    port = free_port()
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
        wait_until_up(server, f"{base}/models", "llama.cpp server", timeout=120)
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
        f"openai-compatible:smollm2@http://127.0.0.1:{free_port()}/v1", max_retries=0, timeout=5
    )
    with pytest.raises(Exception, match="(?i)connect"):
        llm.invoke("hi")


def test_memory_tool_over_the_endpoint(endpoint: str) -> None:
    """The MEMORY tool's endpoint backend (what `vllm serve --lora-modules` gives) batches
    questions as concurrent requests to the server."""
    tool = MemoryTool.from_endpoint(endpoint, "smollm2", temperature=0.0, max_tokens=24)
    message = tool.invoke(
        {
            "type": "tool_call",
            "id": "c1",
            "name": tool.name,
            "args": {"questions": ["What is the capital of France?", "What is 2 + 2?"]},
        }
    )
    assert "Paris" in message.content
    assert [r["question"] for r in message.artifact] == [
        "What is the capital of France?",
        "What is 2 + 2?",
    ]
