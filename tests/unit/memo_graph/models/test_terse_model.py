"""The terse tiny llama that the README test runs on: its replies end as soon as they may."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from memo_graph.models.local_chat import LocalChatModel


class Capital(BaseModel):
    country: str
    capital: str
    cities: list[str]


def test_free_replies_end_at_once_and_json_replies_close_early(terse_llama_dir: Path) -> None:
    llm = LocalChatModel(model=str(terse_llama_dir), max_tokens=96, temperature=1.0)
    reply = llm.invoke("Name a primary colour.")
    assert reply.usage_metadata is not None and reply.usage_metadata["output_tokens"] == 0
    structured = llm.with_structured_output(Capital, include_raw=True).invoke("France?")
    assert isinstance(structured["parsed"], Capital)
    assert structured["raw"].usage_metadata["output_tokens"] < 48  # not run to max_tokens
