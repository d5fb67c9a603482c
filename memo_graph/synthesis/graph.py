"""The five-step synthesis pipeline as a LangGraph graph (``synthesis`` in langgraph.json).

    ingest -> extraction -> consolidation -> verification -> entity_surfacing
           -> cross_document -> write

Each step is a subgraph: ``plan`` lists its work items (chunks, documents or links), ``work``
runs once per item (fanned out with ``Send``, retried on transient errors), ``collect`` puts
the results in order and reports what the step spent and dropped. Every GENERATOR call goes
through a persistent cache under the output directory, so a run started again after a crash
redoes no finished call and writes the same dataset.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from langchain_core.language_models import BaseChatModel
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import RetryPolicy, Send

from memo_graph.files import OutputWriteError, claim_output_directory, writing_to
from memo_graph.models.remote import RemoteModelError
from memo_graph.models.spec import role_model
from memo_graph.synthesis import steps
from memo_graph.synthesis.call_cache import CallCache
from memo_graph.synthesis.generator import Generator, StepStats
from memo_graph.synthesis.links import shared_keys
from memo_graph.synthesis.output import deduplicate, write_output
from memo_graph.synthesis.plan import ingestion_report, plan_synthesis
from memo_graph.synthesis.state import (
    StepState,
    SynthesisContext,
    SynthesisInput,
    SynthesisOutput,
    SynthesisState,
    WorkItem,
)

CACHE_FILE = ".generator-calls.sqlite"
Pair = dict[str, Any]
Work = Callable[[Generator, dict[str, Any]], Awaitable[tuple[list[Pair], StepStats]]]


def _context(runtime: Runtime[SynthesisContext]) -> SynthesisContext:
    return runtime.context if runtime.context is not None else SynthesisContext()


def _by_document(pairs: list[Pair]) -> dict[str, list[Pair]]:
    grouped: dict[str, list[Pair]] = {}
    for pair in pairs:
        grouped.setdefault(pair["document_ids"][0], []).append(pair)
    return grouped


# ---------------------------------------------------------------------- the steps' plans
def _plan_extraction(state: SynthesisState, context: SynthesisContext) -> list[dict[str, Any]]:
    return [
        {"chunk": chunk, "sentence_pairs": context.sentence_pairs}
        for chunk in state.get("chunks", [])
    ]


def _plan_consolidation(state: SynthesisState, _: SynthesisContext) -> list[dict[str, Any]]:
    grouped = _by_document(state.get("extraction", []))
    return [{"pairs": pairs} for _, pairs in sorted(grouped.items()) if len(pairs) >= 2]


def _plan_verification(state: SynthesisState, _: SynthesisContext) -> list[dict[str, Any]]:
    chunks = {c["id"]: c for c in state.get("chunks", [])}
    grouped = _by_document([*state.get("extraction", []), *state.get("consolidation", [])])
    return [
        {
            "pairs": pairs,
            "chunks": {c: chunks[c] for p in pairs for c in p["chunk_ids"] if c in chunks},
        }
        for _, pairs in sorted(grouped.items())
    ]


def _verified(state: SynthesisState) -> list[Pair]:
    """Pairs of steps 1 and 2 that passed verification, or all of them when it is off; pairs
    keep the step that made them."""
    if "verification" in state and state.get("report", {}).get("verification", {}).get("ran"):
        return list(state["verification"])
    return [*state.get("extraction", []), *state.get("consolidation", [])]


def _plan_surfacing(state: SynthesisState, _: SynthesisContext) -> list[dict[str, Any]]:
    grouped = _by_document(_verified(state))
    return [{"pairs": pairs} for _, pairs in sorted(grouped.items())]


def _plan_cross_document(state: SynthesisState, context: SynthesisContext) -> list[dict[str, Any]]:
    grouped = _by_document(_verified(state))
    return steps.cross_links(grouped, shared_keys(grouped), context.max_cross_links)


@dataclass(frozen=True)
class StepSpec:
    name: str
    plan: Callable[[SynthesisState, SynthesisContext], list[dict[str, Any]]]
    work: Work


STEP_SPECS = (
    StepSpec(
        "extraction",
        _plan_extraction,
        lambda g, item: steps.extract(g, item["chunk"], item.get("sentence_pairs", False)),
    ),
    StepSpec(
        "consolidation", _plan_consolidation, lambda g, item: steps.consolidate(g, item["pairs"])
    ),
    StepSpec(
        "verification",
        _plan_verification,
        lambda g, item: steps.verify(g, item["pairs"], item["chunks"]),
    ),
    StepSpec("entity_surfacing", _plan_surfacing, lambda g, item: steps.surface(g, item["pairs"])),
    StepSpec(
        "cross_document",
        _plan_cross_document,
        lambda g, item: steps.cross_document(g, item["key"], item["facts"]),
    ),
)


# ---------------------------------------------------------------------- the GENERATOR
def _label(model: BaseChatModel) -> str:
    """A provenance name for a model given as an object."""
    name = getattr(model, "model_name", None) or getattr(model, "model", None)
    return f"{model._llm_type}:{name}" if name else model._llm_type


class GeneratorPool:
    """One :class:`Generator` per output directory and event loop (its concurrency gate
    belongs to a loop); the model is the one given, else the context's spec."""

    def __init__(self, model: BaseChatModel | None) -> None:
        self._model = model
        self._generators: dict[tuple[Any, ...], Generator] = {}
        self._lock = threading.Lock()

    def get(
        self, context: SynthesisContext, out: str, loop: asyncio.AbstractEventLoop
    ) -> Generator:
        cache_path = Path(out).expanduser().resolve() / CACHE_FILE
        key = (context.generator, str(cache_path), context.concurrency, id(loop))
        with self._lock:  # work items start together: they must share one Generator
            if key not in self._generators:
                model = role_model(
                    self._model,
                    context.generator,
                    temperature=context.temperature,
                    top_p=context.top_p,
                    max_tokens=context.max_tokens,
                    timeout_s=context.timeout_s,
                    retries=context.remote_retries,
                )
                label = context.generator if self._model is None else _label(self._model)
                self._generators[key] = Generator(
                    model,
                    label,
                    CallCache(cache_path),
                    concurrency=context.concurrency,
                    retries=context.retries,
                    max_calls=context.max_calls,
                    settings=f"t={context.temperature} p={context.top_p} n={context.max_tokens}",
                )
            return self._generators[key]


_LANGGRAPH_RETRY_ON = cast(Callable[[Exception], bool], RetryPolicy().retry_on)


def _worth_retrying(exc: Exception) -> bool:
    """A work item is tried again after a passing failure, never after a remote model that
    spent its whole deadline or an output that cannot be written: those would only fail again,
    slowly."""
    if isinstance(exc, RemoteModelError | OutputWriteError):
        return False
    return bool(_LANGGRAPH_RETRY_ON(exc))


# ---------------------------------------------------------------------- subgraph per step
def _step_graph(spec: StepSpec, pool: GeneratorPool) -> Any:
    async def plan(state: StepState, runtime: Runtime[SynthesisContext]) -> dict[str, Any]:
        context = _context(runtime)
        items = spec.plan(state, context) if spec.name in context.steps else []
        items = [{**item, "order": n, "out": state["out"]} for n, item in enumerate(items)]
        runtime.stream_writer({"step": spec.name, "total": len(items)})
        return {"work_items": items}

    def fan_out(state: StepState) -> list[Send] | str:
        items = state.get("work_items", [])
        return [Send("work", WorkItem(work_item=item)) for item in items] or "collect"

    async def work(state: WorkItem, *, runtime: Runtime[SynthesisContext]) -> dict[str, Any]:
        item = state["work_item"]
        # Resolving the spec and opening the cache read files: keep them off the event loop.
        loop = asyncio.get_running_loop()
        generator = await asyncio.to_thread(pool.get, _context(runtime), item["out"], loop)
        started = asyncio.get_running_loop().time()
        pairs, stats = await spec.work(generator, item)
        stats.seconds = asyncio.get_running_loop().time() - started
        runtime.stream_writer({"step": spec.name, "advance": 1})
        return {"results": [{"order": item["order"], "pairs": pairs, "stats": stats.as_dict()}]}

    async def collect(state: StepState, runtime: Runtime[SynthesisContext]) -> dict[str, Any]:
        context = _context(runtime)
        results = sorted(state.get("results", []), key=lambda r: r["order"])
        total = StepStats()
        for result in results:
            total.add(StepStats.from_dict(result["stats"]))
        ran = spec.name in context.steps
        return {
            spec.name: [pair for result in results for pair in result["pairs"]],
            "report": {spec.name: {"ran": ran, "work_items": len(results), **total.as_dict()}},
        }

    graph = StateGraph(StepState, context_schema=SynthesisContext, output_schema=SynthesisState)
    graph.add_node("plan", plan)
    graph.add_node("work", work, retry_policy=RetryPolicy(max_attempts=3, retry_on=_worth_retrying))
    graph.add_node("collect", collect)
    graph.add_edge(START, "plan")
    graph.add_conditional_edges("plan", fan_out, ["work", "collect"])
    graph.add_edge("work", "collect")
    graph.add_edge("collect", END)
    return graph.compile(name=spec.name)


# ---------------------------------------------------------------------- the whole pipeline
def _ingest(state: SynthesisState, context: SynthesisContext) -> dict[str, Any]:
    plan = plan_synthesis(state["source"], context)
    plan.check_budget(context.max_calls)
    out = Path(state["out"])
    with writing_to(out, "the synthesis output"):
        claim_output_directory(out, "synthesize", signatures=(CACHE_FILE,))
    return {
        "documents": [vars(d) for d in plan.corpus.documents],
        "chunks": [vars(c) for c in plan.chunks],
        "report": {"ingestion": ingestion_report(plan, context)},
    }


async def ingest(state: SynthesisState, runtime: Runtime[SynthesisContext]) -> dict[str, Any]:
    return await asyncio.to_thread(_ingest, state, _context(runtime))


def _write(state: SynthesisState, context: SynthesisContext) -> dict[str, Any]:
    # Verified pairs replace the extracted and consolidated ones they were checked from.
    ordered = [
        *_verified(state),
        *state.get("entity_surfacing", []),
        *state.get("cross_document", []),
    ]
    rows, duplicates = deduplicate(ordered)
    report = {
        **state.get("report", {}),
        "deduplication": {"items_in": len(ordered), "items_out": len(rows), "dropped": duplicates},
        "generator": context.generator,
        "steps": list(context.steps),
        "sentence_pairs": context.sentence_pairs,
    }
    out = Path(state["out"]).expanduser()
    with writing_to(out, "the QA dataset"):
        paths = write_output(out, rows, state.get("chunks", []), report)
    return {
        "dataset": paths["dataset"],
        "jsonl": paths["jsonl"],
        "report_path": paths["report"],
        "pairs": len(rows),
        "report": report,
    }


async def write(state: SynthesisState, runtime: Runtime[SynthesisContext]) -> dict[str, Any]:
    return await asyncio.to_thread(_write, state, _context(runtime))


SynthesisBuilder = StateGraph[SynthesisState, SynthesisContext, SynthesisInput, SynthesisOutput]


def build_synthesis(generator: BaseChatModel | None = None) -> SynthesisBuilder:
    """The synthesis graph's builder; compile it with a checkpointer as you need.

    Args:
        generator: the GENERATOR chat model; None: the one ``SynthesisContext.generator`` names.

    Returns:
        A ``StateGraph`` with input ``{"source": corpus, "out": directory}``, whose run writes
        the QA dataset (a Hugging Face dataset and a .jsonl) and a report under ``out``, and
        ``SynthesisContext`` as its context schema.
    """
    pool = GeneratorPool(generator)
    builder = StateGraph(
        SynthesisState,
        context_schema=SynthesisContext,
        input_schema=SynthesisInput,
        output_schema=SynthesisOutput,
    )
    builder.add_node("ingest", ingest)
    previous = "ingest"
    builder.add_edge(START, "ingest")
    for spec in STEP_SPECS:
        builder.add_node(spec.name, _step_graph(spec, pool))
        builder.add_edge(previous, spec.name)
        previous = spec.name
    builder.add_node("write", write)
    builder.add_edge(previous, "write")
    builder.add_edge("write", END)
    return builder


builder = build_synthesis()
graph = builder.compile(name="synthesis")
