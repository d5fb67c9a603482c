"""The checks that drop pairs no MEMORY can learn from: fragments for questions, and explicit
answers that their source text does not state."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from langchain_core.messages import BaseMessage

from memo_graph.synthesis.call_cache import CallCache
from memo_graph.synthesis.generator import Generator
from memo_graph.synthesis.quality import (
    NOT_A_QUESTION,
    NOT_IN_SOURCE,
    REPEATS_QUESTION,
    form_problem,
    is_grounded,
)
from memo_graph.synthesis.steps import extract
from tests.scripted import ScriptedChatModel

TEXT = "Marie Curie was born in Warsaw in 1867. She moved to Paris in 1891."


@pytest.mark.parametrize(
    ("question", "answer", "problem"),
    [
        ("Where was Marie Curie born?", "Warsaw", None),
        ("In which year did Marie Curie move to Paris", "1891", None),
        ("Name the city where Marie Curie was born.", "Warsaw", None),
        ("Describe the early life of Marie Curie.", "Born in Warsaw in 1867.", None),
        ("1867-1934", "1934", NOT_A_QUESTION),
        ("Marie Curie, born in Warsaw.", "Warsaw", NOT_A_QUESTION),
        ("", "Warsaw", NOT_A_QUESTION),
        ("Who was Marie Curie?", "who was Marie Curie", REPEATS_QUESTION),
    ],
)
def test_a_question_must_ask(question: str, answer: str, problem: str | None) -> None:
    assert form_problem(question, answer) == problem


def test_an_answer_is_grounded_when_its_content_words_stand_in_the_source() -> None:
    assert is_grounded("Warsaw, in 1867.", TEXT)
    assert is_grounded("In Paris", TEXT)
    assert not is_grounded("A long and winding one, filled with stories.", TEXT)
    assert not is_grounded("Warsaw, Poland, a large city", TEXT)
    assert not is_grounded("", TEXT)


def test_extraction_drops_fragments_and_unstated_explicit_answers_with_the_reason(
    tmp_path: Path,
) -> None:
    written = [
        ("Where was Marie Curie born?", "Warsaw"),
        ("1867-1934", "1934"),
        ("What is the history of Warsaw?", "A long and winding one, filled with stories."),
        ("How old was Marie Curie when she moved to Paris?", "About 24"),
    ]

    def reply(messages: list[BaseMessage]) -> str:
        return json.dumps({"pairs": [{"question": q, "answer": a} for q, a in written]})

    generator = Generator(ScriptedChatModel(reply=reply), "scripted", CallCache(tmp_path / "c"))
    chunk = {"id": "c0", "document_id": "d0", "title": "Marie Curie", "text": TEXT}
    pairs, stats = asyncio.run(extract(generator, chunk))
    # The same four pairs come back for the explicit and the implied request: implied facts
    # are worked out (an age), so only the explicit reply's answers must be stated.
    assert stats.drops == {NOT_A_QUESTION: 2, NOT_IN_SOURCE: 2}
    kept = [(p["question"], p["answer"]) for p in pairs]
    assert kept.count(("Where was Marie Curie born?", "Warsaw")) == 2
    assert ("How old was Marie Curie when she moved to Paris?", "About 24") in kept
    assert ("What is the history of Warsaw?", written[2][1]) in kept  # implied: not checked
    assert len(kept) == 4
