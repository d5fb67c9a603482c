"""Reading a reflection-QA dataset: the synthesis graph's Hugging Face dataset on disk, or JSONL
with ``question`` and ``answer`` columns (other columns, such as provenance, are kept aside).

A question must be a string. An answer may be a string, a number (taken as written: ``1871``)
or a list of strings and numbers (joined as a sentence: ``a, b and c``). A row whose question or
answer is empty, or is anything else, is left out and named; a row without the two columns is
an error. Questions asked twice with different answers are a :class:`ConflictingAnswersWarning`.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memo_graph.errors import MemoError, MemoWarning
from memo_graph.synthesis.output import DATASET_DIR


class DatasetError(MemoError, ValueError):
    """A QA dataset is missing, unreadable, or holds no usable pairs."""


class ConflictingAnswersWarning(MemoWarning):
    """One question is asked twice with different answers: the memory is taught both."""


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
    """Each row left out: ``row N: reason`` (N: the line of a .jsonl file, else the row's place
    from 1 in the .json list or the dataset's split)."""
    conflicts: list[str] = field(default_factory=list)
    """Each question asked again with another answer: both places and both answers."""


@dataclass(frozen=True)
class PairRow:
    """One row of a pairs file: where it is, its columns, and its question and answer as text."""

    place: str
    """Where a user finds it: ``FILE:LINE`` in a .jsonl file, ``FILE row N`` otherwise."""
    number: int
    columns: dict[str, Any]
    question: str
    answer: str
    refused: str = ""
    """Why the row is left out ('' when it is taken): empty_question, empty_answer,
    question_not_text or answer_not_text."""
    detail: str = ""
    """What was found instead of text, for a row refused as not text."""

    def why_refused(self) -> str:
        """The reason, with what was found when it was not text."""
        return f"{self.refused} ({self.detail})" if self.detail else self.refused


def jsonl_rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """The objects of a .jsonl file with their line numbers, blank lines passed over; a bad line
    is a DatasetError."""
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
            yield number, row


def _rows_from_json(path: Path) -> Iterable[Mapping[str, Any]]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path} is not valid JSON ({exc.msg}).") from exc
    if not isinstance(rows, list):
        raise DatasetError(f"{path} must hold a JSON list of question/answer objects.")
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise DatasetError(f"{path} row {number}: expected a question/answer object.")
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


def _numbered_rows(path: Path) -> Iterator[tuple[str, int, Mapping[str, Any]]]:
    """Each row with its place and number (see :class:`PairRow`)."""
    if not path.exists():
        raise DatasetError(
            f"no dataset at {path}; pass the directory `memo synthesize` wrote or a .jsonl file."
        )
    if path.is_dir():
        written_by_synthesis = path / DATASET_DIR
        if written_by_synthesis.is_dir() and not (path / "dataset_dict.json").exists():
            path = written_by_synthesis
        rows = _rows_from_disk(path)
    elif path.suffix == ".jsonl":
        yield from ((f"{path}:{n}", n, row) for n, row in jsonl_rows(path))
        return
    elif path.suffix == ".json":
        rows = _rows_from_json(path)
    else:
        raise DatasetError(f"{path}: expected a dataset directory, a .jsonl or a .json file.")
    yield from ((f"{path} row {n}", n, row) for n, row in enumerate(rows, start=1))


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "…"


def _number_text(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return str(value) if math.isfinite(value) else None


def _as_sentence(words: list[str]) -> str:
    return f"{', '.join(words[:-1])} and {words[-1]}" if len(words) > 1 else "".join(words)


def answer_text(value: Any) -> str | None:
    """An answer as text: a string, a number as written, or a list of strings and numbers
    joined as a sentence would join them ("a and b", "a, b and c"); null is empty. None for
    anything else (true or false, an object, a list holding one of those or another list)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if not isinstance(value, list):
        return _number_text(value)
    words = [item.strip() if isinstance(item, str) else _number_text(item) for item in value]
    if None in words:
        return None
    return _as_sentence([word for word in words if word])  # an empty item says nothing


def pair_row(place: str, number: int, columns: Mapping[str, Any]) -> PairRow:
    """The row read as a question and an answer, or refused with its reason; a row without the
    two columns is a DatasetError."""
    if "question" not in columns or "answer" not in columns:
        raise DatasetError(
            f"{place}: the row has no 'question' or 'answer' column (it has {sorted(columns)}); "
            "give every row both."
        )
    question, answer = columns["question"], columns["answer"]

    def refused(reason: str, detail: str = "") -> PairRow:
        return PairRow(place, number, dict(columns), "", "", reason, detail)

    if question is not None and not isinstance(question, str):
        return refused("question_not_text", f"got {_shown(question)}: give the question as text")
    asked = (question or "").strip()
    if not asked:
        return refused("empty_question")
    text = answer_text(answer)
    if text is None:
        return refused(
            "answer_not_text", f"got {_shown(answer)}: give text, a number or a list of them"
        )
    if not text:
        return refused("empty_answer")
    return PairRow(place, number, dict(columns), asked, text)


def pair_rows(path: str | Path) -> Iterator[PairRow]:
    """Every row of a pairs file (a .jsonl, a .json list or a saved dataset), read as a
    question and an answer, or refused with its reason."""
    for place, number, columns in _numbered_rows(Path(path)):
        yield pair_row(place, number, columns)


def _normalised(text: str) -> str:
    return " ".join(text.casefold().split())


def answer_conflicts(rows: Iterable[PairRow]) -> list[str]:
    """Each row that asks a question asked before (case and spacing aside) with an answer given
    to it by no row before: its place and answer beside those of the question's first row. The
    same question with the same answer again is a repeat, not a conflict."""
    first_of: dict[str, PairRow] = {}
    answers_of: dict[str, set[str]] = {}
    found = []
    for row in rows:
        key, answer = _normalised(row.question), _normalised(row.answer)
        first = first_of.setdefault(key, row)
        answers = answers_of.setdefault(key, set())
        if answers and answer not in answers:
            found.append(
                f"{first.place} and {row.place} ask {first.question!r} with different answers, "
                f"{first.answer!r} and {row.answer!r}: the memory is taught both; keep the right "
                "one, or ask two different questions."
            )
        answers.add(answer)
    return found


def load_qa_dataset(path: str | Path) -> QADataset:
    """Load QA pairs, skipping (and counting, and naming) rows whose question or answer is
    empty or not text; warn of each question asked again with another answer."""
    path = Path(path)
    taken: list[PairRow] = []
    skipped: Counter[str] = Counter()
    skipped_rows: list[str] = []
    for row in pair_rows(path):
        if row.refused:
            skipped[row.refused] += 1
            skipped_rows.append(f"row {row.number}: {row.why_refused()}")
        else:
            taken.append(row)
    if not taken:
        detail = f" ({dict(skipped)} rows skipped)" if skipped else ""
        raise DatasetError(
            f"{path} holds no usable question/answer pairs{detail}; synthesize a dataset first "
            "(memo synthesize) or check its columns."
        )
    digest = hashlib.sha256()
    for row in taken:
        digest.update(json.dumps([row.question, row.answer]).encode())
        digest.update(b"\n")
    conflicts = answer_conflicts(taken)
    for conflict in conflicts:
        warnings.warn(conflict, ConflictingAnswersWarning, stacklevel=2)
    pairs = [QAPair(row.question, row.answer) for row in taken]
    return QADataset(pairs, digest.hexdigest(), skipped, str(path), skipped_rows, conflicts)
