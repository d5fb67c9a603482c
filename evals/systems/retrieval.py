"""Passage indexes for the RAG systems: documents cut into word windows, searched by BM25
(bm25s) or by embeddings (sentence-transformers). A hit reports its source document."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from evals.benchmarks import Document
from memo_graph.synthesis.chunking import ChunkConfig, chunk_document, word_spans
from memo_graph.synthesis.corpus import Document as CorpusDocument


@dataclass(frozen=True)
class Passage:
    document_id: str
    title: str
    text: str

    def as_document(self) -> Document:
        return Document(self.document_id, self.title, self.text)


def split_passages(documents: list[Document], words: int = 200, overlap: int = 20) -> list[Passage]:
    config = ChunkConfig(size=words, overlap=overlap, unit="words")
    passages: list[Passage] = []
    for document in documents:
        chunks = chunk_document(
            CorpusDocument(document.id, document.title, document.text), config, word_spans
        )
        passages.extend(Passage(document.id, document.title, c.text) for c in chunks)
    return passages


class PassageIndex(Protocol):
    def search(self, query: str, k: int) -> list[Passage]: ...


class Bm25Index:
    def __init__(self, passages: list[Passage]) -> None:
        import bm25s

        self.passages = passages
        self._bm25s = bm25s
        self.retriever = bm25s.BM25()
        tokens = bm25s.tokenize(
            [f"{p.title}\n{p.text}" for p in passages], stopwords="en", show_progress=False
        )
        self.retriever.index(tokens, show_progress=False)

    def search(self, query: str, k: int) -> list[Passage]:
        k = min(k, len(self.passages))
        tokens = self._bm25s.tokenize([query], stopwords="en", show_progress=False)
        if not tokens.vocab:  # nothing but stopwords: no BM25 signal at all
            return self.passages[:k]
        ids, _ = self.retriever.retrieve(tokens, k=k, show_progress=False)
        return [self.passages[int(i)] for i in ids[0]]


@functools.cache
def _embedding_model() -> Any:
    """Loaded once per process: every dense index (one per corpus) shares it."""
    from sentence_transformers import SentenceTransformer

    from evals.systems.embedding_model import embedding_model_dir

    return SentenceTransformer(str(embedding_model_dir()), device="cpu")


class DenseIndex:
    def __init__(self, passages: list[Passage], model: Any | None = None) -> None:
        self.passages = passages
        self.model = model or _embedding_model()
        self.vectors = self.model.encode(
            [f"{p.title}\n{p.text}" for p in passages],
            normalize_embeddings=True,
            convert_to_numpy=True,
            batch_size=64,
        )

    def search(self, query: str, k: int) -> list[Passage]:
        query_vector = self.model.encode([query], normalize_embeddings=True)[0]
        scores = self.vectors @ query_vector
        best = np.argsort(-scores)[: min(k, len(self.passages))]
        return [self.passages[int(i)] for i in best]
