"""Systems in which the EXECUTIVE reads: nothing (closed book), the gold evidence (oracle), or
the top-k passages of an index (BM25 and dense RAG)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from evals.benchmarks import Document, Question
from evals.systems.base import Prediction
from evals.systems.reader import Reader
from evals.systems.retrieval import Bm25Index, DenseIndex, Passage, PassageIndex, split_passages


class ClosedBook:
    name = "closed_book"

    def __init__(self, executive: BaseChatModel) -> None:
        self.reader = Reader(executive)

    async def prepare(self, documents: list[Document], workdir: Path) -> None:
        return None

    async def answer(self, question: Question) -> Prediction:
        return await self.reader.read(question.question, [])


class Oracle:
    """The upper bound: the question's own evidence documents in context."""

    name = "oracle"

    def __init__(self, executive: BaseChatModel) -> None:
        self.reader = Reader(executive)
        self.documents: dict[str, Document] = {}

    async def prepare(self, documents: list[Document], workdir: Path) -> None:
        self.documents = {d.id: d for d in documents}

    async def answer(self, question: Question) -> Prediction:
        gold = [self.documents[i] for i in question.evidence_ids if i in self.documents]
        return await self.reader.read(question.question, gold)


class RetrievalRag:
    """Retrieve the top ``k`` passages, then read them."""

    def __init__(
        self,
        name: str,
        executive: BaseChatModel,
        make_index: Callable[[list[Passage]], PassageIndex],
        k: int = 5,
    ) -> None:
        self.name = name
        self.reader = Reader(executive)
        self.make_index = make_index
        self.k = k
        self.index: PassageIndex | None = None

    async def prepare(self, documents: list[Document], workdir: Path) -> None:
        passages = split_passages(documents)
        self.index = await asyncio.to_thread(self.make_index, passages)

    async def answer(self, question: Question) -> Prediction:
        if self.index is None:
            raise RuntimeError(f"{self.name}: prepare() the system before asking it")
        hits = await asyncio.to_thread(self.index.search, question.question, self.k)
        prediction = await self.reader.read(question.question, [h.as_document() for h in hits])
        prediction.retrieved_ids = list(dict.fromkeys(h.document_id for h in hits))
        return prediction


def bm25_rag(executive: BaseChatModel, k: int = 5) -> RetrievalRag:
    return RetrievalRag("bm25", executive, Bm25Index, k)


def dense_rag(executive: BaseChatModel, k: int = 5) -> RetrievalRag:
    return RetrievalRag("dense", executive, DenseIndex, k)
