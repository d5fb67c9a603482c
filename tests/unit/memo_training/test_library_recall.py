"""The learning check: after training, a sample of every document's pairs is asked; the recall
per document goes into the memory's manifest, and a memory that recalls too little of a
document is not published."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from memo_training import library
from memo_training.artifact import load_artifact
from memo_training.library import LearningCheckError, learning_check
from tests.unit.memo_training.test_library import (
    PAIRS,
    SETTINGS,
    new_library,
    write_corpus,
    write_pairs,
)
from tests.unit.memo_training.test_library_cli import memo


def test_a_reply_recalls_the_answer_phrase_of_what_was_taught() -> None:
    assert library.recalled("Pellmarsh, a river town.", "It was Pellmarsh.")
    assert library.recalled("The Brask.", "the brask")
    assert not library.recalled("Pellmarsh, a river town.", "Amlet, a river.")
    assert not library.recalled("Orlen.", "Orlenby.")
    assert not library.recalled("...", "")  # an answer with no word is recalled by nothing
    # The source marker is neither taught answer nor reply.
    assert library.recalled("Orlen. [sources: Orlen]", "Orlen [sources: Brask]")
    assert not library.recalled("Orlen.", "Brask [sources: Orlen]")


def test_a_memory_that_learnt_nothing_is_not_published_until_allowed(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    settings = replace(SETTINGS, min_recall=0.5, probe_pairs=2)
    lib, corpus, pairs = new_library(tmp_path, tiny_llama_dir, settings)
    with pytest.raises(LearningCheckError, match=r"under 0.5 .* ada-vell \(0.00\), orlen \(0.00\)"):
        library.add(lib, corpus, pairs=pairs)
    view = library.show(lib)
    assert view.current is None and not view.published

    report = library.add(lib, corpus, pairs=pairs, min_recall=0.0)
    assert report.trained == [] and report.kept == ["shard-0001"]  # probed once, not retrained
    assert report.recall == {"ada-vell": 0.0, "orlen": 0.0}
    record = load_artifact(library.current_memory(lib)).manifest["recall"]
    assert record["documents"] == report.recall and record["per_document"] == 2
    assert [d.recall for d in library.show(lib).documents] == [0.0, 0.0]

    # Forgetting publishes whatever the memory recalls: the old one still holds the document.
    report = library.forget(lib, ["ada-vell"], min_recall=1.0)
    assert report.recall == {"orlen": 0.0} and report.current == library.current_memory(lib)
    assert library.show(lib).forgotten == ["ada-vell"]


def test_a_memory_that_answers_what_it_was_taught_is_published(
    tiny_llama_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taught = {q: a for q, a, _ in PAIRS}
    asked: list[str] = []

    def answers_as_taught(artifact: Path, questions: list[str]) -> list[str]:
        asked.extend(questions)
        return [f"It is {taught[q]}" for q in questions]

    monkeypatch.setattr(learning_check, "ask_memory", answers_as_taught)
    lib, corpus, pairs = new_library(tmp_path, tiny_llama_dir, replace(SETTINGS, min_recall=1.0))
    report = library.add(lib, corpus, pairs=pairs)
    assert report.recall == {"ada-vell": 1.0, "orlen": 1.0} and report.current is not None
    # Each document's own pairs first, then the pair it shares, up to probe_pairs each.
    assert asked == [
        "Where was Ada Vell born?",
        "What was Ada Vell?",
        "Which cartographer was born in a river town?",
        "What is Orlen?",
        "On which river is Orlen?",
        "Which cartographer was born in a river town?",
    ]


def test_the_refusal_from_the_command_line_is_one_line(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    code, out = memo(
        "library", "init", lib, "--base", f"local:{tiny_llama_dir}", "--epochs", "1",
        "--max-length", "64", "--probe-pairs", "1",
    )  # fmt: skip
    assert code == 0, out
    corpus = write_corpus(tmp_path / "c.json", ["Orlen"])
    code, out = memo("add", lib, corpus, "--pairs", write_pairs(tmp_path / "p.jsonl"))
    assert code == 2 and "error: the new memory recalls under 0.1" in out, out
    assert "orlen (0.00); it was not published" in " ".join(out.split())
    code, out = memo("add", lib, corpus, "--pairs", tmp_path / "p.jsonl", "--min-recall", "0")
    assert code == 0 and "recall of probed pairs, lowest first: orlen 0.00" in out, out
