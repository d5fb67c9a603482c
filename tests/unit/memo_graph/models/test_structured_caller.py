"""StructuredCaller: a reply that does not parse, or that the model cannot complete, is retried
with the error, then handed back as an error instead of an exception."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel

from memo_graph.errors import StructuredOutputError
from memo_graph.models.structured import StructuredCaller
from tests.scripted import ScriptedChatModel


class Pair(BaseModel):
    question: str
    answer: str


class CutShortOnce(ScriptedChatModel):
    """Native structured output whose first reply runs out of tokens mid-object."""

    def with_structured_output(self, schema: Any, **_: Any) -> Runnable[Any, Any]:  # type: ignore[override]
        def reply(messages: list[BaseMessage]) -> dict[str, Any]:
            self.calls += 1
            if self.calls == 1:
                raise StructuredOutputError("the reply reached max_tokens=8 before completing")
            return {"raw": AIMessage("{}"), "parsed": Pair(question="q", answer="a")}

        return RunnableLambda(reply)


def test_a_reply_cut_short_is_retried() -> None:
    model = CutShortOnce(reply=lambda _: "")
    reply = asyncio.run(StructuredCaller(model, Pair).ainvoke([HumanMessage("Write a pair.")]))
    assert reply.value == Pair(question="q", answer="a")
    assert reply.attempts == 2 and reply.error is None


def test_invalid_json_is_retried_with_the_error_then_returned_as_an_error() -> None:
    seen: list[list[BaseMessage]] = []

    def reply(messages: list[BaseMessage]) -> str:
        seen.append(messages)
        return "not JSON at all"

    caller = StructuredCaller(ScriptedChatModel(reply=reply), Pair, retries=2)
    result = asyncio.run(caller.ainvoke([HumanMessage("Write a pair.")]))
    assert result.value is None and result.attempts == 3 and result.error
    assert "could not be used" in str(seen[-1][-1].content)
    assert result.input_tokens == 30 and result.output_tokens == 15


def test_a_valid_second_reply_is_taken() -> None:
    replies = iter(['{"question": "q"}', json.dumps({"question": "q", "answer": "a"})])
    caller = StructuredCaller(ScriptedChatModel(reply=lambda _: next(replies)), Pair)
    result = asyncio.run(caller.ainvoke([HumanMessage("Write a pair.")]))
    assert result.value == Pair(question="q", answer="a") and result.attempts == 2


def test_a_prompt_too_long_for_a_local_model_is_an_error_not_an_exception(
    tiny_llama_dir: Path,
) -> None:
    from memo_graph import LocalChatModel

    model = LocalChatModel(model=str(tiny_llama_dir), max_tokens=1024)
    long_text = "word " * 3000  # more than the tiny model's context of 2048 tokens
    reply = asyncio.run(StructuredCaller(model, Pair).ainvoke([HumanMessage(long_text)]))
    assert reply.value is None
    assert "more than the model's context" in (reply.error or "")
