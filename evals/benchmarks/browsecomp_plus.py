"""BrowseComp-Plus: a directory with ``queries.jsonl`` (``query_id``, ``query``, ``answer``,
``evidence_docs``, ``gold_docs``, ``negative_docs``; each document an id or an object with
``docid`` and ``text``) and optionally ``corpus.jsonl`` (``docid``, ``text``, ``url``). The
queries come encrypted upstream: decrypt them with the benchmark's own script first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evals.benchmarks.files import field, read_jsonl
from evals.benchmarks.records import Benchmark, Document, Question


def _title(record: dict[str, Any], text: str) -> str:
    if record.get("title"):
        return str(record["title"])
    for line in text.splitlines():
        line = line.strip().removeprefix("title:").strip()
        if line and line != "---":
            return line[:120]
    return str(record.get("url") or record["docid"])


def _document(item: Any, documents: dict[str, Document], where: str) -> str:
    if isinstance(item, dict):
        doc_id = str(field(item, "docid", "id", where=where))
        if "text" in item and doc_id not in documents:
            documents[doc_id] = Document(doc_id, _title(item, item["text"]), str(item["text"]))
        return doc_id
    return str(item)


def load_browsecomp_plus(path: str | Path) -> Benchmark:
    directory = Path(path)
    documents: dict[str, Document] = {}
    if (directory / "corpus.jsonl").exists():
        for row in read_jsonl(directory / "corpus.jsonl"):
            doc_id = str(field(row, "docid", "id", where=str(directory / "corpus.jsonl")))
            documents[doc_id] = Document(doc_id, _title(row, row["text"]), str(row["text"]))
    questions = []
    for number, row in enumerate(read_jsonl(directory / "queries.jsonl"), start=1):
        where = f"{directory / 'queries.jsonl'}:{number}"
        evidence = row.get("evidence_docs") or field(row, "gold_docs", where=where)
        questions.append(
            Question(
                id=str(field(row, "query_id", "id", where=where)),
                question=str(field(row, "query", "question", where=where)),
                answers=(str(field(row, "answer", where=where)),),
                evidence_ids=tuple(_document(d, documents, where) for d in evidence),
                negative_ids=tuple(
                    _document(d, documents, where) for d in row.get("negative_docs", [])
                ),
            )
        )
    return Benchmark("browsecomp-plus", questions, documents, source=str(directory))
