"""Grammar-constrained structured output: every reply parses, even from a random model."""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

import pytest
from pydantic import BaseModel, Field

from memo_graph import LocalChatModel, StructuredOutputError


class Fact(BaseModel):
    question: str = Field(max_length=40)
    answer: str = Field(max_length=40)
    confident: bool


class Facts(BaseModel):
    facts: list[Fact] = Field(max_length=3)
    topic: str = Field(max_length=30)


class Verdict(TypedDict):
    ok: bool
    score: int


@pytest.fixture
def tiny(tiny_llama_dir: Path) -> LocalChatModel:
    return LocalChatModel(model=str(tiny_llama_dir), max_tokens=600, temperature=0.8)


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_pydantic_schema_always_parses(tiny: LocalChatModel, method: str) -> None:
    structured = tiny.with_structured_output(Facts, method=method)  # type: ignore[arg-type]
    for reply in structured.batch(["List facts about rivers."] * 4):
        assert isinstance(reply, Facts)
        assert len(reply.facts) <= 3


def test_typed_dict_and_json_schema_dict(tiny: LocalChatModel) -> None:
    verdict = tiny.with_structured_output(Verdict).invoke("Judge this.")
    assert isinstance(verdict["ok"], bool) and isinstance(verdict["score"], int)
    schema = {
        "title": "pick",
        "type": "object",
        "properties": {"colour": {"type": "string", "enum": ["red", "green"]}},
        "required": ["colour"],
    }
    assert tiny.with_structured_output(schema).invoke("Pick.")["colour"] in ("red", "green")


def test_include_raw(tiny: LocalChatModel) -> None:
    out = tiny.with_structured_output(Verdict, include_raw=True).invoke("Judge this.")
    assert set(out) == {"raw", "parsed", "parsing_error"}
    assert out["parsing_error"] is None
    assert out["raw"].usage_metadata["output_tokens"] > 0


async def test_async_structured(tiny: LocalChatModel) -> None:
    replies = await tiny.with_structured_output(Verdict).abatch(["a", "b", "c"])
    assert all(isinstance(r["score"], int) for r in replies)


def test_rejected_schema_fails_at_binding(tiny: LocalChatModel) -> None:
    bad = {"type": "object", "properties": {"x": {"$ref": "#/definitions/missing"}}}
    with pytest.raises(StructuredOutputError, match="rejected this JSON schema"):
        tiny.with_structured_output(bad)


def test_max_tokens_too_small_for_schema(tiny: LocalChatModel) -> None:
    with pytest.raises(StructuredOutputError, match="max_tokens=3"):
        tiny.with_structured_output(Facts).invoke("List facts.", max_tokens=3)
