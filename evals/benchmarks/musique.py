"""MuSiQue in HippoRAG 2's format: a JSON list of records with ``id``, ``question``,
``answer``, ``answer_aliases``, 20 ``paragraphs`` (``title``, ``paragraph_text``,
``is_supporting``) and ``question_decomposition``. A paragraph's id is its title's slug and a
hash of its text, so the same paragraph under two questions is one document."""

from __future__ import annotations

from pathlib import Path

from evals.benchmarks.files import content_id, field, read_records
from evals.benchmarks.records import Benchmark, BenchmarkError, Document, Question


def load_musique(path: str | Path) -> Benchmark:
    path = Path(path)
    documents: dict[str, Document] = {}
    questions = []
    for number, record in enumerate(read_records(path), start=1):
        where = f"{path} record {number}"
        paragraphs = field(record, "paragraphs", where=where)
        evidence: list[str] = []
        negatives: list[str] = []
        for paragraph in paragraphs:
            title = str(field(paragraph, "title", where=where))
            text = str(field(paragraph, "paragraph_text", "text", where=where))
            doc_id = content_id(title, text)
            documents.setdefault(doc_id, Document(doc_id, title, text))
            (evidence if paragraph.get("is_supporting") else negatives).append(doc_id)
        if not evidence:
            raise BenchmarkError(f"{where}: no paragraph has is_supporting=true")
        answer = str(field(record, "answer", where=where))
        aliases = [str(a) for a in record.get("answer_aliases", []) if str(a) != answer]
        hops = record.get("question_decomposition", [])
        questions.append(
            Question(
                id=str(field(record, "id", where=where)),
                question=str(field(record, "question", where=where)),
                answers=(answer, *aliases),
                evidence_ids=tuple(evidence),
                negative_ids=tuple(negatives),
                kind=f"{len(hops)}-hop" if hops else "",
            )
        )
    return Benchmark("musique", questions, documents, source=str(path))
