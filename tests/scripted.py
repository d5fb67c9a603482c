"""Scripted chat models for unit tests of the graphs: replies come from a Python function of
the messages, so a test says exactly what the EXECUTIVE or the MEMORY does."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

Reply = Callable[[list[BaseMessage]], str]


def schema_title(messages: Sequence[BaseMessage]) -> str:
    """The title of the JSON schema a structured request asks for ('' for free text)."""
    for message in messages:
        text = str(message.content)
        start = text.find("{")
        if "JSON schema" in text and start >= 0:
            return str(json.loads(text[start:]).get("title", ""))
    return ""


class ScriptedChatModel(BaseChatModel):
    """A black-box chat model: no structured-output support, text in, text out. Counts its
    calls and reports 10 input and 5 output tokens per call."""

    reply: Reply
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **_: Any
    ) -> ChatResult:
        self.calls += 1
        message = AIMessage(
            self.reply(messages),
            usage_metadata={"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def by_schema(**replies: Any) -> Reply:
    """A reply function that answers each schema title with JSON built from ``replies[title]``
    (a dict, or a function of the messages returning one)."""

    def reply(messages: list[BaseMessage]) -> str:
        title = schema_title(messages)
        chosen = replies[title]
        return json.dumps(chosen(messages) if callable(chosen) else chosen)

    return reply


class ToolCallingFakeModel(GenericFakeChatModel):
    """GenericFakeChatModel that accepts ``bind_tools`` (the scripted messages carry the tool
    calls), so ``create_agent`` can drive it."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ToolCallingFakeModel:  # type: ignore[override]
        return self
