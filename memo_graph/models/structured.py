"""Structured replies from any chat model, with retries and token accounting.

Every role asks its model for a Pydantic object. Models that implement ``with_structured_output``
(the local model, OpenAI, Gemini, vLLM) get it that way; a model that does not (a plain
black-box chat model, a scripted test model) is told the JSON schema in the prompt and its text
is parsed. A reply that does not parse is shown back to the model with the parse error and asked
again, up to ``retries`` times; after that the caller gets the error, not an exception.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable
from langchain_core.utils.json import parse_json_markdown
from pydantic import BaseModel, ValidationError

from memo_graph.errors import PromptTooLongError, StructuredOutputError

T = TypeVar("T", bound=BaseModel)


@dataclass
class StructuredReply(Generic[T]):
    """What one structured request gave: the value (None when every attempt failed), the
    tokens spent over all attempts, and the last error."""

    value: T | None
    input_tokens: int = 0
    output_tokens: int = 0
    attempts: int = 0
    error: str | None = None


def _native_runnable(model: BaseChatModel, schema: type[BaseModel]) -> Runnable[Any, Any] | None:
    try:
        return model.with_structured_output(schema, include_raw=True)
    except NotImplementedError:
        return None


def _json_in_text(text: str) -> Any:
    """The JSON object in a free-text reply: the whole text or a fenced block (langchain's
    markdown reader, strict: a reply cut short is no object), else the span from the first
    ``{`` to the last ``}``."""
    try:
        return parse_json_markdown(text, parser=json.loads)
    except json.JSONDecodeError:
        start, end = text.find("{"), text.rfind("}")
        if not 0 <= start < end:
            raise
        return json.loads(text[start : end + 1])


def _schema_instruction(schema: type[BaseModel]) -> SystemMessage:
    return SystemMessage(
        "Reply with one JSON object matching this JSON schema, and nothing else:\n"
        + json.dumps(schema.model_json_schema())
    )


def _usage(message: Any) -> tuple[int, int]:
    usage = getattr(message, "usage_metadata", None) or {}
    return int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))


class StructuredCaller:
    """Asks one chat model for instances of one schema."""

    def __init__(self, model: BaseChatModel, schema: type[T], retries: int = 2) -> None:
        if retries < 0:
            raise ValueError(f"retries must be 0 or more, got {retries}")
        self.model = model
        self.schema = schema
        self.retries = retries
        self._native = _native_runnable(model, schema)

    async def ainvoke(self, messages: list[BaseMessage]) -> StructuredReply[Any]:
        reply: StructuredReply[Any] = StructuredReply(value=None)
        conversation = list(messages)
        for _ in range(self.retries + 1):
            reply.attempts += 1
            raw, value, error = await self._attempt(conversation)
            tokens_in, tokens_out = _usage(raw)
            reply.input_tokens += tokens_in
            reply.output_tokens += tokens_out
            if error is None:
                reply.value, reply.error = value, None
                return reply
            reply.error = error
            conversation = [
                *messages,
                AIMessage(str(getattr(raw, "content", "")) or "(empty reply)"),
                HumanMessage(
                    f"That reply could not be used: {error}. Reply again with only a JSON object "
                    "that matches the schema."
                ),
            ]
        return reply

    async def _attempt(self, messages: list[BaseMessage]) -> tuple[Any, Any, str | None]:
        """(raw message, parsed value, error); a transport error propagates."""
        if self._native is not None:
            try:
                out = await self._native.ainvoke(messages)
            except (StructuredOutputError, PromptTooLongError) as exc:  # no reply can fit
                return None, None, str(exc)
            raw, parsed, failure = out.get("raw"), out.get("parsed"), out.get("parsing_error")
            if failure is None and parsed is None:
                failure = "the model returned no structured reply"
            if failure is not None:
                return raw, None, _describe(failure)
            try:
                value = (
                    parsed
                    if isinstance(parsed, self.schema)
                    else self.schema.model_validate(parsed)
                )
            except ValidationError as exc:
                return raw, None, _describe(exc)
            return raw, value, None
        raw = await self.model.ainvoke([_schema_instruction(self.schema), *messages])
        try:
            value = self.schema.model_validate(_json_in_text(str(raw.content)))
        except json.JSONDecodeError as exc:
            return raw, None, f"not JSON ({exc.msg} at character {exc.pos})"
        except ValidationError as exc:
            return raw, None, _describe(exc)
        return raw, value, None


def _describe(failure: Any) -> str:
    if isinstance(failure, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'reply'}: {e['msg']}"
            for e in failure.errors()[:3]
        )
        return f"invalid JSON for the schema ({problems})"
    return (
        f"{type(failure).__name__}: {failure}" if isinstance(failure, Exception) else str(failure)
    )
