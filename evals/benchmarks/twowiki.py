"""2WikiMultihopQA in HippoRAG 2's format: a JSON list of records with ``_id``, ``type``
(compositional, comparison, bridge_comparison, inference), ``question``, ``answer``, 10
``context`` passages as ``[title, [sentences]]`` and ``supporting_facts`` as ``[title,
sentence index]``; beside it, optionally, the corpus file every context passage comes from (a
JSON list of ``{title, text}``, a passage's text being its sentences joined by spaces).

Which documents a question is asked against (``scope``):

- ``corpus`` (the default when a corpus file is given): every passage of the corpus, as
  HippoRAG 2 evaluates, so that retrieval figures compare with the published ones. A question's
  own distractors stay its negatives for the noise test.
- ``own``: only the questions' own 10 passages (the dataset's distractor setting), a pool small
  enough to synthesise a MEMORY from on a laptop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evals.benchmarks.files import content_id, field, read_records
from evals.benchmarks.records import Benchmark, BenchmarkError, Document, Question

SCOPES = ("corpus", "own")


def _passage_text(sentences: Any, where: str) -> str:
    if isinstance(sentences, str):
        return sentences
    if not isinstance(sentences, list) or not all(isinstance(s, str) for s in sentences):
        raise BenchmarkError(f"{where}: a context passage's sentences must be a list of strings")
    return " ".join(sentences)


def _read_corpus(path: Path) -> dict[str, Document]:
    documents: dict[str, Document] = {}
    for number, record in enumerate(read_records(path), start=1):
        where = f"{path} record {number}"
        title = str(field(record, "title", where=where))
        text = str(field(record, "text", where=where))
        doc_id = content_id(title, text)
        documents.setdefault(doc_id, Document(doc_id, title, text))
    return documents


def load_2wiki(
    path: str | Path, corpus: str | Path | None = None, scope: str | None = None
) -> Benchmark:
    path = Path(path)
    scope = scope or ("corpus" if corpus is not None else "own")
    if scope not in SCOPES:
        raise BenchmarkError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    if scope == "corpus" and corpus is None:
        raise BenchmarkError(
            "2wiki scope 'corpus' needs the corpus file (--corpus 2wiki_corpus.json)"
        )
    pool = _read_corpus(Path(corpus)) if corpus is not None else {}
    documents: dict[str, Document] = dict(pool)
    questions = []
    for number, record in enumerate(read_records(path), start=1):
        where = f"{path} record {number}"
        by_title: dict[str, str] = {}
        for entry in field(record, "context", where=where):
            if not isinstance(entry, list) or len(entry) != 2:
                raise BenchmarkError(f"{where}: a context entry must be [title, sentences]")
            title = str(entry[0])
            text = _passage_text(entry[1], where)
            doc_id = content_id(title, text)
            if pool and doc_id not in pool:
                raise BenchmarkError(
                    f"{where}: context passage {title!r} is not in the corpus {corpus} "
                    "(same title and text)"
                )
            documents.setdefault(doc_id, Document(doc_id, title, text))
            by_title[title] = doc_id
        supporting = list(
            dict.fromkeys(str(fact[0]) for fact in field(record, "supporting_facts", where=where))
        )
        unknown = [t for t in supporting if t not in by_title]
        if unknown:
            raise BenchmarkError(
                f"{where}: supporting facts name passages not in its context: {unknown}"
            )
        if not supporting:
            raise BenchmarkError(f"{where}: no supporting fact")
        evidence = tuple(by_title[t] for t in supporting)
        questions.append(
            Question(
                id=str(field(record, "_id", "id", where=where)),
                question=str(field(record, "question", where=where)),
                answers=(str(field(record, "answer", where=where)),),
                evidence_ids=evidence,
                negative_ids=tuple(i for i in by_title.values() if i not in evidence),
                kind=str(record.get("type", "")),
            )
        )
    source = f"{path} (scope {scope}{f', corpus {corpus}' if corpus is not None else ''})"
    return Benchmark("2wiki", questions, documents, source=source, pooled=scope == "corpus")
