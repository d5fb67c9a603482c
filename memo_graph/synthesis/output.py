"""The synthesis graph's output: one Hugging Face ``DatasetDict`` on disk (split ``train``), a
JSONL export of the same rows, the chunks their ``chunk_ids`` name, and the report per step."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from memo_graph.files import staged_directory, write_text_atomically

DATASET_DIR = "dataset"
JSONL_FILE = "qa.jsonl"
CHUNKS_FILE = "chunks.jsonl"
REPORT_FILE = "report.json"
COLUMNS = ("question", "answer", "step", "document_ids", "chunk_ids", "generator")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def question_key(question: str) -> str:
    return _NOT_WORD.sub(" ", question.lower()).strip()


def deduplicate(pairs: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Pairs with distinct (normalised) questions, first kept; and how many were dropped."""
    kept: dict[str, dict[str, Any]] = {}
    dropped = 0
    for pair in pairs:
        key = question_key(pair["question"])
        if key in kept:
            dropped += 1
        else:
            kept[key] = pair
    return list(kept.values()), dropped


def _jsonl(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def _is_saved_dataset(path: Path) -> bool:
    return (path / "dataset_dict.json").is_file()


def write_output(
    out: Path,
    rows: list[dict[str, Any]],
    chunks: list[dict[str, Any]],
    report: dict[str, Any],
) -> dict[str, str]:
    """Write dataset, JSONL, chunks and report under ``out``, each atomically; returns their
    paths."""
    from datasets import Dataset, DatasetDict

    table = {column: [row[column] for row in rows] for column in COLUMNS}
    with staged_directory(out / DATASET_DIR, _is_saved_dataset, "saved dataset") as staging:
        DatasetDict({"train": Dataset.from_dict(table)}).save_to_disk(str(staging))
    write_text_atomically(out / JSONL_FILE, _jsonl({c: row[c] for c in COLUMNS} for row in rows))
    write_text_atomically(out / CHUNKS_FILE, _jsonl(chunks))
    write_text_atomically(out / REPORT_FILE, json.dumps(report, indent=2))
    return {
        "dataset": str(out / DATASET_DIR),
        "jsonl": str(out / JSONL_FILE),
        "chunks": str(out / CHUNKS_FILE),
        "report": str(out / REPORT_FILE),
    }
