"""MEMO end to end: the synthesis graph turns the corpus into QA pairs, a MEMORY is trained on
them, and the protocol graph answers with the EXECUTIVE asking that MEMORY.

Each stage's output lives under ``workdir/<corpus fingerprint>/`` and is reused when it is
complete (the synthesis graph replays its call cache, a finished artifact is not retrained), so
a second evaluation of the same corpus goes straight to the questions. Give ``memory`` to skip
both and ask an artifact or endpoint you already have."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from evals.benchmarks import Document, Question
from evals.systems.base import Prediction, Stopwatch
from memo_graph.files import write_text_atomically
from memo_graph.memory import MemoryBackend
from memo_graph.protocol import ProtocolContext, build_protocol
from memo_graph.synthesis import STEPS, SynthesisContext, build_synthesis
from memo_graph.synthesis.progress import synthesize_with_progress
from memo_graph.synthesis.state import SynthesisInput
from memo_training.config import TrainConfig


@dataclass
class MemoSettings:
    generator: str = field(
        default="local", metadata={"description": "GENERATOR spec for MEMO's synthesis."}
    )
    base: str = field(default="local", metadata={"description": "The MEMORY's base model."})
    memory: str | None = field(
        default=None,
        metadata={
            "description": (
                "A MEMORY spec (local:ARTIFACT or openai-compatible:NAME@URL) to use as it is."
            )
        },
    )
    pairs: Path | None = field(
        default=None,
        metadata={
            "description": (
                "QA pairs (.jsonl or a saved dataset) to train the MEMORY on instead of "
                "synthesising them: curated pairs, or reference pairs that show what a capable "
                "GENERATOR would give."
            )
        },
    )
    steps: list[str] = field(
        default_factory=lambda: list(STEPS), metadata={"description": "Synthesis steps for MEMO."}
    )
    synthesis: dict[str, Any] = field(
        default_factory=dict,
        metadata={
            "description": "SynthesisContext settings (chunking, concurrency, max_tokens ...)."
        },
    )
    training: TrainConfig = field(
        default_factory=TrainConfig, metadata={"description": "How MEMO's MEMORY trains."}
    )
    protocol: dict[str, Any] = field(
        default_factory=dict,
        metadata={"description": "ProtocolContext settings (budgets, temperatures ...)."},
    )


def corpus_fingerprint(documents: list[Document]) -> str:
    digest = hashlib.sha256()
    for document in documents:
        digest.update(json.dumps(document.as_record(), sort_keys=True).encode())
    return digest.hexdigest()[:16]


def _pairs_key(pairs: Path) -> str:
    """Names the artifact trained on ``pairs`` by their content, so other pairs get their own."""
    from memo_training.data import load_qa_dataset

    return load_qa_dataset(pairs).fingerprint[:12]


class MemoSystem:
    name = "memo"

    def __init__(
        self,
        executive: BaseChatModel,
        settings: MemoSettings | None = None,
        generator: BaseChatModel | None = None,
        progress: bool = False,
    ) -> None:
        self.executive = executive
        self.settings = settings or MemoSettings()
        self.generator = generator
        self.progress = progress
        self.memory_spec: str | None = None
        self.context: ProtocolContext | None = None
        self._prepared_for = ""
        self.graph = build_protocol(executive=executive).compile()

    async def prepare(self, documents: list[Document], workdir: Path) -> None:
        fingerprint = corpus_fingerprint(documents)
        if self.context is not None and fingerprint == self._prepared_for:
            return  # already prepared on this corpus (the ``memory`` system shares it)
        memory = self.settings.memory or await self._build_memory(documents, workdir)
        self.memory_spec = memory
        self.context = ProtocolContext(memory=memory, **self.settings.protocol)
        self._prepared_for = fingerprint

    async def _build_memory(self, documents: list[Document], workdir: Path) -> str:
        home = workdir / corpus_fingerprint(documents)
        home.mkdir(parents=True, exist_ok=True)
        corpus = home / "corpus.json"
        if not corpus.exists():
            write_text_atomically(corpus, json.dumps([d.as_record() for d in documents]))
        if self.settings.pairs is not None:
            return await self._train(
                self.settings.pairs, home / f"memory-{_pairs_key(self.settings.pairs)}"
            )
        synthesis_dir = home / "synthesis"
        context = SynthesisContext(
            generator=self.settings.generator, steps=self.settings.steps, **self.settings.synthesis
        )
        # Cheap when finished: every GENERATOR call replays from the cache under synthesis_dir.
        graph = build_synthesis(self.generator).compile()
        inputs = SynthesisInput(source=str(corpus), out=str(synthesis_dir))
        if self.progress:
            await synthesize_with_progress(graph, inputs, context)
        else:
            await graph.ainvoke(inputs, context=context)
        return await self._train(synthesis_dir, home / "memory")

    async def _train(self, dataset: Path, artifact: Path) -> str:
        from memo_training.async_training import atrain_memory

        await atrain_memory(
            dataset, artifact, self.settings.base, self.settings.training, self.progress
        )
        return f"local:{artifact}"

    async def answer(self, question: Question) -> Prediction:
        if self.context is None:
            raise RuntimeError("memo: prepare() the system before asking it")
        with Stopwatch() as watch:
            out = await self.graph.ainvoke(
                {"query": question.question},
                context=self.context,
                config={"recursion_limit": self.context.recursion_limit()},
            )
        cost = out.get("cost", {})
        errors = out.get("errors", [])
        return Prediction(
            answer=out.get("answer", ""),
            executive_input_tokens=cost.get("executive_input_tokens", 0),
            executive_output_tokens=cost.get("executive_output_tokens", 0),
            executive_calls=cost.get("executive_calls", 0),
            memory_calls=cost.get("memory_calls", 0),
            wall_s=watch.seconds,
            error="; ".join(errors) or None,
            details={
                "entity": out.get("entity", ""),
                "identified": out.get("identified", False),
                "exchanges": len(out.get("trail", [])),
                "decided_by": out.get("decided_by", ""),
                "executive_answer": out.get("executive_answer", ""),
                "trail": out.get("trail", []),
            },
        )


class MemoryAlone:
    """The trained MEMORY asked each question directly, with no EXECUTIVE: what its weights
    hold on their own. It shares the ``memo`` system's artifacts (one synthesis, one training)."""

    name = "memory"

    def __init__(self, memo: MemoSystem) -> None:
        self.memo = memo
        self.backend: MemoryBackend | None = None

    async def prepare(self, documents: list[Document], workdir: Path) -> None:
        await self.memo.prepare(documents, workdir.parent / self.memo.name)
        spec = self.memo.memory_spec or "local"
        self.backend = await asyncio.to_thread(MemoryBackend.from_spec, spec)

    async def answer(self, question: Question) -> Prediction:
        if self.backend is None:
            raise RuntimeError("memory: prepare() the system before asking it")
        with Stopwatch() as watch:
            reply = (await self.backend.aanswer([question.question], temperature=0.0))[0]
        return Prediction(answer=reply.answer, memory_calls=1, wall_s=watch.seconds)
