"""What a synthesis run will cost before it starts: documents, chunks and GENERATOR calls.

Extraction's calls are exact (two prompts per chunk, and with sentence pairs one rephrasing
per fact read off its sentences); the later steps' depend on what the
GENERATOR writes, so they are estimated from the chunks and documents, as upper-side guesses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from memo_graph.synthesis.checks import find_instructions
from memo_graph.synthesis.chunking import (
    Chunk,
    ChunkConfig,
    chunk_document,
    tokenizer_spans,
    word_spans,
)
from memo_graph.synthesis.corpus import Corpus, load_corpus
from memo_graph.synthesis.pair_sources.cloze import sentence_pairs
from memo_graph.synthesis.state import CallBudgetError, SynthesisContext


@dataclass
class SynthesisPlan:
    corpus: Corpus
    chunks: list[Chunk]
    calls: dict[str, int] = field(default_factory=dict)
    """GENERATOR calls per step that runs: exact for extraction, estimated for the others."""

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def describe(self) -> str:
        steps = ", ".join(f"{step} {n}" for step, n in self.calls.items())
        return (
            f"{len(self.corpus.documents)} documents, {len(self.chunks)} chunks, "
            f"~{self.total_calls} GENERATOR calls ({steps})"
        )

    def check_budget(self, max_calls: int | None) -> None:
        if max_calls is not None and self.total_calls > max_calls:
            raise CallBudgetError(
                f"this run plans ~{self.total_calls} GENERATOR calls ({self.describe()}), more "
                f"than max_calls={max_calls}. Nothing was started: raise --max-calls, run fewer "
                "steps, use larger chunks, or give a smaller corpus."
            )


def estimate_calls(documents: int, chunks: int, context: SynthesisContext) -> dict[str, int]:
    """Calls per step: extraction asks two prompts per chunk; consolidation about one group
    per chunk; verification a check per chunk's pairs, rewrites and a second check; surfacing
    about two entities per chunk; step 5 one call per shared key, at most max_cross_links."""
    per_step = {
        "extraction": 2 * chunks,
        "consolidation": chunks,
        "verification": 3 * chunks,
        "entity_surfacing": 2 * chunks,
        "cross_document": min(context.max_cross_links, 2 * documents) if documents > 1 else 0,
    }
    return {step: n for step, n in per_step.items() if step in context.steps}


def spans_for(context: SynthesisContext) -> Callable[[str], list[tuple[int, int]]]:
    if context.chunk_unit == "words":
        return word_spans
    from memo_graph.models.loading import load_tokenizer
    from memo_graph.models.weights import resolve_weights

    # Token counts of the embedded model's tokenizer stand for any GENERATOR's.
    return tokenizer_spans(load_tokenizer(resolve_weights(None).base_dir))


def plan_synthesis(source: str, context: SynthesisContext) -> SynthesisPlan:
    """Read and chunk the corpus at ``source`` and count the calls; writes nothing."""
    corpus = load_corpus(source)
    config = ChunkConfig(context.chunk_size, context.chunk_overlap, context.chunk_unit)
    spans_of = spans_for(context)
    chunks = [c for d in corpus.documents for c in chunk_document(d, config, spans_of)]
    plan = SynthesisPlan(corpus, chunks)
    plan.calls = estimate_calls(len(corpus.documents), len(chunks), context)
    if context.sentence_pairs:
        plan.calls["extraction"] += sum(rephrasings(chunk) for chunk in chunks)
    return plan


def rephrasings(chunk: Chunk) -> int:
    """Rephrasing calls of a chunk's sentence pairs: one per fact read off its sentences."""
    instructions = find_instructions(chunk.title, chunk.text).sentences
    return len({p.fact for p in sentence_pairs(chunk.title, chunk.text, instructions)})


def ingestion_report(plan: SynthesisPlan, context: SynthesisContext) -> dict[str, Any]:
    config = ChunkConfig(context.chunk_size, context.chunk_overlap, context.chunk_unit)
    return {
        "documents": len(plan.corpus.documents),
        "chunks": len(plan.chunks),
        "skipped": dict(plan.corpus.skipped),
        "skipped_items": [vars(item) for item in plan.corpus.skipped_items],
        "chunking": vars(config),
        "planned_calls": dict(plan.calls),
    }
