"""The report's tables from per-answer rows."""

from __future__ import annotations

from evals.report import kind_rows, write_report
from evals.scoring import summarise


def row(system: str, kind: str, f1: float) -> dict:
    return {
        "condition": "corpus", "system": system, "question_id": f"{system}-{kind}-{f1}",
        "kind": kind, "exact_match": f1, "f1": f1, "contained": f1, "judge_correct": None,
        "recall_at_k": None, "executive_input_tokens": 10, "executive_output_tokens": 2,
        "memory_calls": 0, "wall_s": 1.0, "error": None,
    }  # fmt: skip


def test_kinds_are_averaged_per_system_in_order_of_appearance() -> None:
    rows = [row("bm25", "2-hop", 1.0), row("bm25", "3-hop", 0.0), row("bm25", "2-hop", 0.0)]
    rows += [row("oracle", "3-hop", 1.0)]
    table = kind_rows(rows)
    assert [(r["system"], r["kind"], r["questions"], r["f1"]) for r in table] == [
        ("bm25", "2-hop", 2, 0.5),
        ("bm25", "3-hop", 1, 0.0),
        ("oracle", "3-hop", 1, 1.0),
    ]


def test_one_kind_gives_no_kind_table(tmp_path) -> None:
    rows = [row("bm25", "single-hop", 1.0), row("bm25", "single-hop", 0.0)]
    assert kind_rows(rows) == []
    summary = [{"condition": "corpus", "system": "bm25", **summarise(rows)}]
    text = write_report(tmp_path, "t", rows, summary)["markdown"].read_text()
    assert "By kind" not in text


def test_report_shows_the_kind_table_when_kinds_differ(tmp_path) -> None:
    rows = [row("bm25", "comparison", 1.0), row("bm25", "inference", 0.0)]
    summary = [{"condition": "corpus", "system": "bm25", **summarise(rows)}]
    text = write_report(tmp_path, "t", rows, summary)["markdown"].read_text()
    assert "## By kind of question" in text
    assert "| corpus | bm25 | inference | 1 | 0.000 |" in text
