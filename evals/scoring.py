"""Per-question scores (EM, F1, containment, judge, recall@k) and their means per system."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

from evals.metrics import answer_contained, exact_match, token_f1

SCORES = ("exact_match", "f1", "contained", "judge_correct", "recall_at_k")
COSTS = ("executive_input_tokens", "executive_output_tokens", "memory_calls", "wall_s")


def passage_recall(retrieved_ids: list[str], evidence_ids: Iterable[str]) -> float:
    evidence = set(evidence_ids)
    return len(evidence & set(retrieved_ids)) / len(evidence) if evidence else 0.0


def answer_scores(answer: str, references: list[str]) -> dict[str, float]:
    return {
        "exact_match": exact_match(answer, references),
        "f1": token_f1(answer, references),
        "contained": answer_contained(answer, references),
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over the rows of one system and condition; a score no row has is None."""
    summary: dict[str, Any] = {"questions": len(rows)}
    for key in (*SCORES, *COSTS):
        values = [row[key] for row in rows if row.get(key) is not None]
        summary[key] = round(statistics.fmean(values), 4) if values else None
    summary["errors"] = sum(1 for row in rows if row.get("error"))
    return summary
