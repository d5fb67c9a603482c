"""NarrativeQA as its public repository lays it out: ``documents.csv`` (``document_id``,
``wiki_title``, ``story_start``, ``story_end``), ``qaps.csv`` (``document_id``, ``question``,
``answer1``, ``answer2``) and the story texts in ``tmp/<document_id>.content`` (where its
download script puts them) or ``texts/<document_id>.txt``. Each question's evidence is its
whole document; the paper chunks books into 4000 words with 400 overlap."""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path

from evals.benchmarks.files import require
from evals.benchmarks.records import Benchmark, BenchmarkError, Document, Question

_TAG = re.compile(r"<[^>]+>")


def _story_text(directory: Path, doc_id: str, start: str, end: str) -> str | None:
    for candidate in (
        directory / "tmp" / f"{doc_id}.content",
        directory / "texts" / f"{doc_id}.txt",
    ):
        if candidate.exists():
            raw = candidate.read_bytes().decode("utf-8", errors="replace")
            break
    else:
        return None
    if "<html" in raw[:2000].lower():
        raw = html.unescape(_TAG.sub(" ", raw))
    begin = raw.find(start) if start else -1
    stop = raw.rfind(end) if end else -1
    if begin >= 0 and stop > begin:
        raw = raw[begin : stop + len(end)]
    return raw.strip()


def _read_csv(path: Path) -> list[dict[str, str]]:
    with require(path, "NarrativeQA file").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def load_narrativeqa(path: str | Path, split: str | None = None) -> Benchmark:
    directory = Path(path)
    documents: dict[str, Document] = {}
    missing = []
    for row in _read_csv(directory / "documents.csv"):
        if split and row.get("set") != split:
            continue
        doc_id = row["document_id"]
        text = _story_text(directory, doc_id, row.get("story_start", ""), row.get("story_end", ""))
        if text is None:
            missing.append(doc_id)
            continue
        documents[doc_id] = Document(doc_id, row.get("wiki_title") or doc_id, text)
    if not documents:
        raise BenchmarkError(
            f"no NarrativeQA story text under {directory}/tmp or {directory}/texts; run the "
            "dataset's download script first"
        )
    questions = []
    for number, row in enumerate(_read_csv(directory / "qaps.csv"), start=1):
        if row["document_id"] not in documents:
            continue
        answers = tuple(a for a in (row.get("answer1", ""), row.get("answer2", "")) if a)
        questions.append(
            Question(
                id=f"{row['document_id']}-{number}",
                question=row["question"],
                answers=answers,
                evidence_ids=(row["document_id"],),
            )
        )
    notes = [f"{len(missing)} documents without a story text skipped"] if missing else []
    return Benchmark("narrativeqa", questions, documents, source=str(directory), notes=notes)
