"""Reading a reflection-QA dataset: the synthesis graph's Hugging Face dataset on disk, or JSONL
with ``question`` and ``answer`` columns (other columns, such as provenance, are kept aside)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memo_graph.errors import MemoError
from memo_graph.synthesis.output import DATASET_DIR


class DatasetError(MemoError, ValueError):
    """A QA dataset is missing, unreadable, or holds no usable pairs."""


@dataclass(frozen=True)
class QAPair:
    question: str
    answer: str


@dataclass
class QADataset:
    pairs: list[QAPair]
    fingerprint: str
    """sha256 of the pairs in order: the same data gives the same fingerprint, wherever it lies."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Rows left out, by reason."""
    source: str = ""
    skipped_rows: list[str] = field(default_factory=list)
    """Each row left out: ``row N: reason`` (N counts from 1 in the file or split)."""


def jsonl_rows(path: Path) -> Iterable[Mapping[str, Any]]:
    """The objects of a .jsonl file, one per non-blank line; a bad line is a DatasetError."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(
                    f"{path}, line {number}: not valid JSON ({exc.msg}). Each line must be one "
                    'object such as {"question": "...", "answer": "..."}.'
                ) from exc
            if not isinstance(row, dict):
                raise DatasetError(f"{path}, line {number}: expected a JSON object per line.")
            yield row


def _rows_from_json(path: Path) -> Iterable[Mapping[str, Any]]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path} is not valid JSON ({exc.msg}).") from exc
    if not isinstance(rows, list):
        raise DatasetError(f"{path} must hold a JSON list of question/answer objects.")
    return rows


def _rows_from_disk(path: Path) -> Iterable[Mapping[str, Any]]:
    from datasets import Dataset, DatasetDict, load_from_disk

    try:
        loaded = load_from_disk(str(path))
    except (FileNotFoundError, ValueError) as exc:
        raise DatasetError(
            f"{path} is not a Hugging Face dataset saved with save_to_disk ({exc}); pass that "
            "directory or a .jsonl file."
        ) from exc
    except IndexError:  # datasets cannot reload a split saved with no rows (it has no data file)
        return []
    if isinstance(loaded, DatasetDict):
        split = "train" if "train" in loaded else next(iter(loaded), None)
        if split is None:
            return []
        loaded = loaded[split]
    assert isinstance(loaded, Dataset)
    return iter(loaded)


def _read_rows(path: Path) -> Iterable[Mapping[str, Any]]:
    if not path.exists():
        raise DatasetError(
            f"no dataset at {path}; pass the directory `memo synthesize` wrote or a .jsonl file."
        )
    if path.is_dir():
        written_by_synthesis = path / DATASET_DIR
        if written_by_synthesis.is_dir() and not (path / "dataset_dict.json").exists():
            path = written_by_synthesis
        return _rows_from_disk(path)
    if path.suffix == ".jsonl":
        return jsonl_rows(path)
    if path.suffix == ".json":
        return _rows_from_json(path)
    raise DatasetError(f"{path}: expected a dataset directory, a .jsonl or a .json file.")


def load_qa_dataset(path: str | Path) -> QADataset:
    """Load QA pairs, skipping (and counting) rows with an empty question or answer."""
    path = Path(path)
    pairs: list[QAPair] = []
    skipped: Counter[str] = Counter()
    skipped_rows: list[str] = []
    digest = hashlib.sha256()
    for number, row in enumerate(_read_rows(path), start=1):
        if "question" not in row or "answer" not in row:
            raise DatasetError(
                f"{path}: a row has no 'question' or 'answer' column (it has {sorted(row)})."
            )
        question = str(row["question"] or "").strip()
        answer = str(row["answer"] or "").strip()
        reason = "empty_question" if not question else "empty_answer" if not answer else ""
        if reason:
            skipped[reason] += 1
            skipped_rows.append(f"row {number}: {reason}")
            continue
        pairs.append(QAPair(question, answer))
        digest.update(json.dumps([question, answer]).encode())
        digest.update(b"\n")
    if not pairs:
        detail = f" ({dict(skipped)} rows skipped)" if skipped else ""
        raise DatasetError(
            f"{path} holds no usable question/answer pairs{detail}; synthesize a dataset first "
            "(memo synthesize) or check its columns."
        )
    return QADataset(pairs, digest.hexdigest(), skipped, str(path), skipped_rows)
