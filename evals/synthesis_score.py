"""How good a synthesized QA dataset is, per synthesis step, against reference pairs written as
a capable GENERATOR would: coverage (share of reference answers that some synthesized pair
teaches), groundedness (share of synthesized answers whose content is in their source chunk)
and well-formedness (a real question, not an echo of its answer or a fragment)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from evals.metrics import normalise_answer
from memo_graph.synthesis import quality
from memo_graph.text import core, support

_QUESTION_WORDS = ("who", "what", "which", "when", "where", "why", "how", "in", "on", "at")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def teaches(pair: Mapping[str, Any], reference: Mapping[str, Any]) -> bool:
    """``pair`` answers what ``reference`` asks: its answer holds the reference's answer phrase
    and its question shares most of the reference question's content."""
    answer = normalise_answer(core(reference["answer"]))
    return (
        bool(answer)
        and f" {answer} " in f" {normalise_answer(pair['answer'])} "
        and support(reference["question"], pair["question"]) >= 0.5
    )


def is_grounded(pair: Mapping[str, Any], chunks: Mapping[str, str]) -> bool:
    source = " ".join(chunks.get(c, "") for c in pair.get("chunk_ids", []))
    return quality.is_grounded(pair["answer"], source) if source else False


def is_well_formed(pair: Mapping[str, Any]) -> bool:
    question, answer = pair["question"].strip(), pair["answer"].strip()
    words = normalise_answer(question).split()
    asks = question.endswith("?") or (bool(words) and words[0] in _QUESTION_WORDS)
    echo = normalise_answer(answer) in normalise_answer(question) if answer else True
    return len(words) >= 3 and asks and not echo


def _share(flags: Iterable[bool]) -> float | None:
    values = list(flags)
    return round(sum(values) / len(values), 3) if values else None


def score_synthesis(
    pairs: list[dict[str, Any]], chunks: list[dict[str, Any]], reference: list[dict[str, Any]]
) -> dict[str, Any]:
    """Scores over all pairs and per step: coverage of the reference (all steps together, and
    what each step alone covers), groundedness (steps that write from a chunk) and
    well-formedness."""
    texts = {c["id"]: c["text"] for c in chunks}
    by_step: dict[str, list[dict[str, Any]]] = {}
    for pair in pairs:
        by_step.setdefault(pair["step"], []).append(pair)

    def scores(group: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "pairs": len(group),
            "coverage": _share(any(teaches(p, r) for p in group) for r in reference),
            "grounded": _share(is_grounded(p, texts) for p in group),
            "well_formed": _share(is_well_formed(p) for p in group),
        }

    return {"all": scores(pairs), **{step: scores(group) for step, group in by_step.items()}}


def score_synthesis_dir(out: Path, reference: Path) -> dict[str, Any]:
    """:func:`score_synthesis` of what ``memo synthesize`` wrote under ``out``."""
    return score_synthesis(
        read_jsonl(out / "qa.jsonl"), read_jsonl(out / "chunks.jsonl"), read_jsonl(reference)
    )
