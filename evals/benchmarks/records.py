"""What every benchmark loader returns: documents, questions, and the corpus to build from."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from memo_graph.errors import MemoError


class BenchmarkError(MemoError):
    """A benchmark file that is missing, unreadable, or not in the format its loader reads."""


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    text: str

    def as_record(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "text": self.text}


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]
    """The gold answer first, then its aliases; any one counts."""
    evidence_ids: tuple[str, ...]
    negative_ids: tuple[str, ...] = ()
    """Documents that look relevant but are not evidence (a benchmark's own hard negatives)."""
    kind: str = ""


@dataclass
class Benchmark:
    name: str
    questions: list[Question]
    documents: dict[str, Document]
    """Every document the benchmark ships, by id: evidence and negatives alike."""
    source: str = ""
    notes: list[str] = field(default_factory=list)
    pooled: bool = False
    """Every question is asked against every document (a shared corpus), not only against the
    documents the benchmark gives it."""

    def __post_init__(self) -> None:
        if not self.questions:
            raise BenchmarkError(f"{self.name}: no question in {self.source}")
        missing = sorted(
            {i for q in self.questions for i in q.evidence_ids if i not in self.documents}
        )
        if missing:
            raise BenchmarkError(
                f"{self.name}: evidence documents missing from the corpus of {self.source}: "
                f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}"
            )

    def select(self, limit: int | None) -> list[Question]:
        if limit is not None and limit < 1:
            raise BenchmarkError(f"limit must be 1 or more (or none for all), got {limit}")
        return self.questions if limit is None else self.questions[:limit]

    def corpus(self, questions: list[Question], negatives: int | None = None) -> list[Document]:
        """The documents to synthesise from or index for ``questions``.

        ``negatives=None``: every document the benchmark gives those questions (their evidence
        and their own negatives; for a pooled benchmark or one without per-question documents,
        the whole corpus). ``negatives=K``: the evidence documents plus K negatives per
        evidence document, drawn with a fixed seed from the question's own negatives first, then
        from the rest of the corpus (the noise test)."""
        evidence = list(dict.fromkeys(i for q in questions for i in q.evidence_ids))
        if negatives is None:
            own = [i for q in questions for i in (*q.evidence_ids, *q.negative_ids)]
            has_own = any(q.negative_ids for q in questions)
            ids = list(dict.fromkeys(own)) if has_own and not self.pooled else list(self.documents)
            return [self.documents[i] for i in ids if i in self.documents]
        if negatives < 0:
            raise BenchmarkError(f"negatives must be 0 or more, got {negatives}")
        chosen = dict.fromkeys(evidence)
        rng = random.Random(0)
        rest = [i for i in self.documents if i not in chosen]
        rng.shuffle(rest)
        for question in questions:
            own = [i for i in question.negative_ids if i in self.documents and i not in chosen]
            wanted = negatives * len(question.evidence_ids)
            for doc_id in (*own, *rest):
                if wanted == 0:
                    break
                if doc_id not in chosen:
                    chosen[doc_id] = None
                    wanted -= 1
        return [self.documents[i] for i in chosen]
