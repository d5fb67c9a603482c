"""Grammar-constrained structured output: every reply parses, even from a random model."""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

import pytest
import torch
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
    with pytest.raises(StructuredOutputError, match="max_tokens=3 is too small"):
        tiny.with_structured_output(Facts).invoke("List facts.", max_tokens=3)


def test_a_looping_reply_still_ends_as_a_valid_object(tiny_llama_dir: Path) -> None:
    """Unbounded strings and arrays from a random model: the budget walk closes them in time."""
    schema = {
        "title": "story",
        "type": "object",
        "properties": {
            "text": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "meta": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
        },
        "required": ["text", "tags", "meta"],
    }
    model = LocalChatModel(model=str(tiny_llama_dir), max_tokens=40, temperature=1.0)
    torch.manual_seed(0)  # sampled replies: most, not all, would run on past the budget
    outs = model.with_structured_output(schema, include_raw=True).batch(["Write."] * 8)
    for out in outs:
        assert out["parsing_error"] is None
        assert set(out["parsed"]) == {"text", "tags", "meta"}
        assert isinstance(out["parsed"]["meta"]["n"], int)
        assert out["raw"].usage_metadata["output_tokens"] <= 40
    walked = [out["raw"].response_metadata["finish_reason"] == "length" for out in outs]
    assert sum(walked) >= 4, "the budget walk must have closed most of these replies"


class Numbered(BaseModel):
    number: int
    notes: list[str] = Field(max_length=4)


class NumberedList(BaseModel):
    items: list[Numbered] = Field(max_length=20)


@pytest.mark.parametrize("budget", [24, 64, 100])
def test_sampled_arrays_of_objects_and_numbers_end_inside_the_budget(
    tiny_llama_dir: Path, budget: int
) -> None:
    """A sampled "{" near the end of the budget opens a whole new object, and a number can grow
    digit by digit: the walk must account for both."""
    torch.manual_seed(0)
    model = LocalChatModel(model=str(tiny_llama_dir), max_tokens=budget, temperature=1.0)
    replies = model.with_structured_output(NumberedList, include_raw=True).batch(["Go."] * 6)
    for out in replies:
        assert out["parsing_error"] is None, out["raw"].content
        assert out["raw"].usage_metadata["output_tokens"] <= budget


def test_json_mode_on_a_random_model_ends_as_an_object(tiny_llama_dir: Path) -> None:
    model = LocalChatModel(model=str(tiny_llama_dir), max_tokens=48, temperature=1.0)
    for reply in model.with_structured_output(method="json_mode").batch(["Any JSON."] * 4):
        assert isinstance(reply, dict)


def test_json_lex_state_tracks_strings_and_containers() -> None:
    from memo_graph.engine.json_closing import JsonLexState

    state = JsonLexState()
    state.feed('{"a": ["x\\"y]", {"b": "')
    assert state.in_string and state.open_containers == ["{", "[", "{"]
    state.feed('v"}')
    assert not state.in_string and state.open_containers == ["{", "["]
    assert state.preferences()[0] == "]"
