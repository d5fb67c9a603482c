"""A server that sends its headers, then one byte a second, cannot stretch a remote call past
its total deadline: timeout x attempts plus the retries' backoff, whatever the client's own
per-read timeout lets through."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel
from typer.testing import CliRunner, Result

from memo_graph.cli import app
from memo_graph.models.deadline import RemoteDeadline, with_deadline
from memo_graph.models.local_chat import LocalChatModel
from memo_graph.models.remote import RemoteModelError
from memo_graph.models.spec import resolve_chat_model
from memo_graph.models.temperature import with_temperature
from tests.openai_stand_in import openai_stand_in
from tests.servers import fixed_reply_server

SLACK_S = 5.0  # starting the command, and a busy machine
# A 2 s read timeout never fires while the server drips a byte a second: only the deadline
# ends these calls.
DEADLINE = RemoteDeadline(spec="test", timeout_s=2.0, retries=1)
ONE_ATTEMPT = RemoteDeadline(spec="test", timeout_s=2.0, retries=0)


@pytest.fixture
def drip_endpoint() -> Iterator[str]:
    with fixed_reply_server(drip=True) as server:
        yield f"http://127.0.0.1:{server.server_port}/v1"


class Answer(BaseModel):
    answer: str


def invoke_within(args: list[str], seconds: float) -> tuple[Result, float]:
    """The command's result and how long it ran; fails (instead of hanging) past ``seconds``."""
    outcome: list[Result] = []
    started = time.perf_counter()
    runner = threading.Thread(
        target=lambda: outcome.append(CliRunner().invoke(app, args)), daemon=True
    )
    runner.start()
    runner.join(seconds)
    elapsed = time.perf_counter() - started
    if not outcome:
        pytest.fail(f"memo {args[0]} still ran after {elapsed:.1f} s (allowed {seconds:g} s)")
    return outcome[0], elapsed


def error_lines(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


def test_the_deadline_is_timeout_times_attempts_plus_the_backoff_bound() -> None:
    deadline = RemoteDeadline(spec="s", timeout_s=5.0, retries=5)
    assert deadline.backoff_s == 0.5 + 1 + 2 + 4 + 8
    assert deadline.seconds == pytest.approx(5 * 6 + 15.5 + deadline.grace_s)
    assert RemoteDeadline(spec="s", timeout_s=3.0, retries=0).backoff_s == 0


def test_memo_chat_against_a_dripping_server_ends_by_its_deadline(drip_endpoint: str) -> None:
    spec = f"openai-compatible:m@{drip_endpoint}"
    result, elapsed = invoke_within(
        ["chat", "hi", "-m", spec, "--timeout", "2", "--retries", "1"], DEADLINE.seconds + SLACK_S
    )
    print(f"memo chat against the dripping server: {elapsed:.1f} s of {DEADLINE.seconds:g} s")
    assert result.exit_code == 2, result.output
    assert len(error_lines(result)) == 1 and "Traceback" not in result.output
    line = " ".join(result.output.split())
    assert spec in line and f"{DEADLINE.seconds:g} s" in line and "--timeout" in line


def test_memo_ask_with_a_dripping_executive_ends_by_its_deadline(
    drip_endpoint: str, tiny_llama_dir: Path
) -> None:
    spec = f"openai-compatible:m@{drip_endpoint}"
    result, elapsed = invoke_within(
        ["ask", "Who founded the glassworks?", "--memory", str(tiny_llama_dir)]
        + ["--executive", spec, "--timeout", "2", "--retries", "1"]
        + ["--identification-turns", "1", "--seeking-turns", "1"],
        DEADLINE.seconds + SLACK_S,
    )
    print(f"memo ask against the dripping server: {elapsed:.1f} s of {DEADLINE.seconds:g} s")
    assert result.exit_code == 2, result.output
    assert len(error_lines(result)) == 1 and "Traceback" not in result.output
    assert spec in " ".join(result.output.split())


def test_structured_output_and_temperature_copies_keep_the_deadline(drip_endpoint: str) -> None:
    model = resolve_chat_model(f"openai-compatible:m@{drip_endpoint}", timeout_s=2, retries=0)
    assert isinstance(model, ChatOpenAI)
    warmer = with_temperature(model, 0.7)
    structured = warmer.with_structured_output(Answer)
    started = time.perf_counter()
    with pytest.raises(RemoteModelError, match="did not finish within"):
        structured.invoke("hi")
    assert time.perf_counter() - started < ONE_ATTEMPT.seconds + SLACK_S


def test_async_calls_and_streams_end_by_the_deadline(drip_endpoint: str) -> None:
    model = resolve_chat_model(f"openai-compatible:m@{drip_endpoint}", timeout_s=2, retries=0)

    async def consume_stream() -> None:
        async for _ in model.astream("hi"):
            pass

    for call in (lambda: asyncio.run(model.ainvoke("hi")), lambda: asyncio.run(consume_stream())):
        started = time.perf_counter()
        with pytest.raises(RemoteModelError, match="did not finish within"):
            call()
        assert time.perf_counter() - started < ONE_ATTEMPT.seconds + SLACK_S


def test_sync_streams_end_by_the_deadline(drip_endpoint: str) -> None:
    model = resolve_chat_model(f"openai-compatible:m@{drip_endpoint}", timeout_s=2, retries=0)
    started = time.perf_counter()
    with pytest.raises(RemoteModelError, match="did not finish within"):
        list(model.stream("hi"))
    assert time.perf_counter() - started < ONE_ATTEMPT.seconds + SLACK_S


def test_a_local_model_gets_no_deadline(tiny_llama_dir: Path) -> None:
    model = resolve_chat_model(f"local:{tiny_llama_dir}", timeout_s=2, retries=0)
    assert type(model) is LocalChatModel


def test_a_provider_spec_gets_the_deadline_too(
    drip_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", drip_endpoint)
    model = resolve_chat_model("openai:gpt-4.1-mini", timeout_s=2, retries=0)
    assert isinstance(model, ChatOpenAI) and model.max_retries == 0
    started = time.perf_counter()
    with pytest.raises(RemoteModelError, match=r"\(openai:gpt-4.1-mini\) did not finish within"):
        model.invoke("hi")
    assert time.perf_counter() - started < ONE_ATTEMPT.seconds + SLACK_S


def test_a_model_under_the_deadline_answers_streams_and_calls_tools_as_before() -> None:
    @tool
    def memory(questions: list[str]) -> str:
        """Ask the memory."""
        return "Orvane Tessaly"

    with openai_stand_in() as url:
        model = resolve_chat_model(f"openai-compatible:m@{url}", timeout_s=5, retries=0)
        assert model.get_name() == "ChatOpenAI"
        assert model.invoke("hi").content == "Orvane Tessaly"
        assert "".join(str(chunk.content) for chunk in model.stream("hi")) == "Orvane Tessaly"

        async def streamed() -> str:
            return "".join([str(chunk.content) async for chunk in model.astream("hi")])

        assert asyncio.run(streamed()) == "Orvane Tessaly"
        called = model.bind_tools([memory]).invoke("Who founded it?")
        assert called.tool_calls[0]["name"] == "memory"  # type: ignore[attr-defined]


class _NoStreaming(BaseChatModel):
    @property
    def _llm_type(self) -> str:
        return "no-streaming"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **_: Any
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage("whole reply"))])


def test_a_model_that_cannot_stream_still_falls_back_to_one_reply() -> None:
    model = with_deadline(_NoStreaming(), ONE_ATTEMPT)
    assert [chunk.content for chunk in model.stream("hi")] == ["whole reply"]

    async def streamed() -> list[Any]:
        return [chunk.content async for chunk in model.astream("hi")]

    assert asyncio.run(streamed()) == ["whole reply"]
