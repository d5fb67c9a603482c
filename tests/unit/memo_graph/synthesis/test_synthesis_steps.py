"""Verification's rule checks, which hold even when the checker's reply is unusable."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from langchain_core.messages import BaseMessage

from memo_graph.synthesis.call_cache import CallCache
from memo_graph.synthesis.generator import Generator
from memo_graph.synthesis.steps import rule_problems, verify
from tests.scripted import ScriptedChatModel, schema_title, synthesis_reply


@pytest.mark.parametrize(
    ("question", "problems"),
    [
        ("What is the title of this document?", {"refers_to_source"}),
        ("According to the passage, who ruled Lotharingia?", {"refers_to_source"}),
        ("Who was crowned king last year?", {"relative_time"}),
        ("When was the text of the Warsaw Convention signed?", set()),
        ("Who ruled Lotharingia from 855 until 869?", set()),
    ],
)
def test_rule_problems(question: str, problems: set[str]) -> None:
    assert rule_problems({"question": question, "answer": "x"}) == problems


def test_rules_still_apply_when_the_checker_reply_is_unusable(tmp_path: Path) -> None:
    def reply(messages: list[BaseMessage]) -> str:
        if schema_title(messages) == "Verdicts":
            return "All pairs look fine to me!"
        return json.dumps(synthesis_reply(messages))

    generator = Generator(
        ScriptedChatModel(reply=reply), "scripted", CallCache(tmp_path / "c.sqlite"), retries=0
    )
    pairs = [
        {"question": "What is the title of this document?", "answer": "Teutberga.",
         "document_ids": ["d"], "chunk_ids": ["d-c0"]},
        {"question": "Who married Lothair II?", "answer": "Teutberga.",
         "document_ids": ["d"], "chunk_ids": ["d-c0"]},
    ]  # fmt: skip
    chunk = {"id": "d-c0", "title": "Teutberga", "text": "Teutberga married Lothair II."}
    kept, stats = asyncio.run(verify(generator, pairs, {"d-c0": chunk}))
    # The scripted rewrite keeps the question as it is, so the rules drop it again.
    assert [p["question"] for p in kept] == ["Who married Lothair II?"]
    assert stats.drops["still not self-contained: refers_to_source"] == 1
    assert stats.drops["checked by rules only (invalid checker output)"] == 3
