"""HippoRAG 2 as an optional system, when its package is installed (``pip install hipporag``).
It indexes the corpus with its own LLM and embedding model and answers with its ``rag_qa``; we
count no executive tokens for it (its LLM calls are its own). Its models come from the
environment: ``HIPPORAG_LLM_MODEL``, ``HIPPORAG_LLM_BASE_URL`` (an OpenAI-compatible endpoint,
e.g. vLLM) and ``HIPPORAG_EMBEDDING_MODEL``; the defaults are HippoRAG 2's own choices."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from evals.benchmarks import Document, Question
from evals.systems.base import Prediction, Stopwatch
from memo_graph.errors import MemoError


class HippoRagUnavailableError(MemoError):
    """The hipporag package is not installed."""


class HippoRag:
    name = "hipporag"

    def __init__(self, llm_model_name: str, embedding_model_name: str, **options: Any) -> None:
        try:
            from hipporag import HippoRAG  # type: ignore[import-not-found]
        except ImportError as exc:
            raise HippoRagUnavailableError(
                "the hipporag system needs the hipporag package: pip install hipporag (it "
                "needs a GPU or an OpenAI-compatible LLM endpoint and an embedding model)"
            ) from exc
        self._factory = HippoRAG
        self.options = {
            "llm_model_name": llm_model_name,
            "embedding_model_name": embedding_model_name,
            **options,
        }
        self._engine: Any = None
        self._ids: dict[str, str] = {}

    @classmethod
    def from_env(cls) -> HippoRag:
        options = {}
        if os.environ.get("HIPPORAG_LLM_BASE_URL"):
            options["llm_base_url"] = os.environ["HIPPORAG_LLM_BASE_URL"]
        return cls(
            os.environ.get("HIPPORAG_LLM_MODEL", "meta-llama/Llama-3.3-70B-Instruct"),
            os.environ.get("HIPPORAG_EMBEDDING_MODEL", "nvidia/NV-Embed-v2"),
            **options,
        )

    async def prepare(self, documents: list[Document], workdir: Path) -> None:
        self._engine = self._factory(save_dir=str(workdir / "hipporag"), **self.options)
        texts = [f"{d.title}\n{d.text}" for d in documents]
        self._ids = {text: d.id for text, d in zip(texts, documents, strict=True)}
        await asyncio.to_thread(self._engine.index, docs=texts)

    async def answer(self, question: Question) -> Prediction:
        with Stopwatch() as watch:
            solutions = await asyncio.to_thread(self._engine.rag_qa, queries=[question.question])
        solution = solutions[0][0] if isinstance(solutions, tuple) else solutions[0]
        return Prediction(
            answer=str(getattr(solution, "answer", "")),
            retrieved_ids=[self._ids.get(d, "") for d in getattr(solution, "docs", [])],
            wall_s=watch.seconds,
        )
