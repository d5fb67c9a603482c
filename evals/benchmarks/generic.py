"""The generic format: ``questions.jsonl`` (question, answers, evidence ids) beside a
``corpus.json`` or ``corpus.jsonl`` of ``{id, title, text}`` (``id`` defaults to the title)."""

from __future__ import annotations

from pathlib import Path

from evals.benchmarks.files import field, read_jsonl, read_records
from evals.benchmarks.records import Benchmark, BenchmarkError, Document, Question

INVENTED = Path(__file__).resolve().parents[1] / "data" / "invented"


def _corpus_file(directory: Path) -> Path:
    for name in ("corpus.json", "corpus.jsonl"):
        if (directory / name).exists():
            return directory / name
    raise BenchmarkError(f"no corpus.json or corpus.jsonl in {directory}")


def load_generic(path: str | Path, name: str = "generic") -> Benchmark:
    directory = Path(path)
    if not directory.is_dir():
        raise BenchmarkError(
            f"{directory} is not a directory; the generic format is a directory holding "
            "questions.jsonl and corpus.json (or corpus.jsonl)"
        )
    corpus_file = _corpus_file(directory)
    documents: dict[str, Document] = {}
    for number, record in enumerate(read_records(corpus_file), start=1):
        where = f"{corpus_file} record {number}"
        title = str(field(record, "title", where=where))
        text = str(field(record, "text", where=where))
        doc_id = str(record.get("id", title))
        if doc_id in documents:
            raise BenchmarkError(f"{where}: duplicate document id {doc_id!r}")
        documents[doc_id] = Document(doc_id, title, text)
    questions = []
    for number, row in enumerate(read_jsonl(directory / "questions.jsonl"), start=1):
        where = f"{directory / 'questions.jsonl'}:{number}"
        answers = field(row, "answers", "answer", where=where)
        answers = [answers] if isinstance(answers, str) else list(answers)
        if not answers:
            raise BenchmarkError(f"{where}: no answer")
        questions.append(
            Question(
                id=str(row.get("id", number)),
                question=str(field(row, "question", where=where)),
                answers=tuple(str(a) for a in answers),
                evidence_ids=tuple(str(i) for i in field(row, "evidence_ids", where=where)),
                negative_ids=tuple(str(i) for i in row.get("negative_ids", ())),
                kind=str(row.get("kind", "")),
            )
        )
    return Benchmark(name, questions, documents, source=str(directory))


def load_invented() -> Benchmark:
    """Our own small benchmark about invented people and places: no model can know it."""
    return load_generic(INVENTED, name="invented")
