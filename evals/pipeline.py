"""``memo eval`` as a function: resolve the models, build the systems, run, write the report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from evals.benchmarks import load_benchmark
from evals.judge import Judge
from evals.report import write_report
from evals.runner import EvaluationResult, run_evaluation
from evals.systems import MemoSettings, build_systems
from memo_graph.files import claim_output_directory
from memo_graph.models.spec import resolve_chat_model


@dataclass
class EvalSettings:
    benchmark: str = field(
        metadata={
            "description": "invented, musique, 2wiki, narrativeqa, browsecomp-plus or generic."
        }
    )
    out: Path = field(metadata={"description": "Directory of the report."})
    data: Path | None = field(
        default=None, metadata={"description": "The benchmark's local files."}
    )
    corpus: Path | None = field(
        default=None,
        metadata={"description": "2wiki's passage pool (the corpus file beside its questions)."},
    )
    scope: str | None = field(
        default=None,
        metadata={
            "description": (
                "2wiki: ``corpus`` (every passage; the default with a corpus) or ``own`` (each "
                "question's own 10 passages)."
            )
        },
    )
    systems: list[str] = field(
        default_factory=lambda: ["memo", "bm25", "dense", "closed_book", "oracle"],
        metadata={
            "description": (
                "Systems to run: memo, memory, bm25, dense, closed_book, oracle, hipporag."
            )
        },
    )
    executive: str = field(
        default="local", metadata={"description": "EXECUTIVE spec (also the RAG reader)."}
    )
    judge: str | None = field(
        default="local",
        metadata={"description": "A judge spec, or None for no LLM judge (EM and F1 only)."},
    )
    limit: int | None = field(default=None, metadata={"description": "First N questions only."})
    negatives: int | None = field(
        default=None,
        metadata={"description": "Noise test: K negative documents per evidence document."},
    )
    k: int = field(default=5, metadata={"description": "Passages retrieved by the RAG systems."})
    max_tokens: int = field(
        default=512,
        metadata={
            "description": (
                "Reply budget, in tokens, of the EXECUTIVE (MEMO's and the RAG reader) and the "
                "judge."
            )
        },
    )
    concurrency: int = field(
        default=1, metadata={"description": "Questions in flight at once, per system."}
    )
    memo: MemoSettings = field(
        default_factory=MemoSettings,
        metadata={"description": "How the MEMO system builds its MEMORY and asks it."},
    )


@dataclass
class Models:
    """Model instances that replace the specs (tests pass scripted models here)."""

    executive: BaseChatModel | None = None
    judge: BaseChatModel | None = None
    generator: BaseChatModel | None = None


async def evaluate(
    settings: EvalSettings,
    models: Models | None = None,
    progress: Callable[[str], None] | None = print,
    on_answer: Callable[[str, int, int], None] = lambda *_: None,
) -> tuple[EvaluationResult, dict[str, Path]]:
    """Run ``settings``; ``progress`` gets one line per stage (None: silent, no progress bars),
    ``on_answer(label, done, total)`` a call per answered question."""
    models = models or Models()
    claim_output_directory(settings.out, "eval", signatures=("records",))
    benchmark = load_benchmark(settings.benchmark, settings.data, settings.corpus, settings.scope)
    executive = models.executive or resolve_chat_model(
        settings.executive, max_tokens=settings.max_tokens, temperature=0.0
    )
    judge_model = models.judge
    if judge_model is None and settings.judge == settings.executive and models.executive is None:
        judge_model = executive  # one copy of a local model, not two
    elif judge_model is None and settings.judge:
        judge_model = resolve_chat_model(
            settings.judge, max_tokens=settings.max_tokens, temperature=0.0
        )
    systems = build_systems(
        settings.systems,
        executive,
        memo=settings.memo,
        generator=models.generator,
        k=settings.k,
        progress=progress is not None,
    )
    result = await run_evaluation(
        benchmark,
        systems,
        settings.out,
        judge=Judge(judge_model) if judge_model is not None else None,
        limit=settings.limit,
        negatives=settings.negatives,
        on_progress=progress or (lambda _: None),
        on_answer=on_answer,
        concurrency=settings.concurrency,
    )
    title = f"{benchmark.name}: {len(benchmark.select(settings.limit))} questions"
    files = write_report(settings.out, title, result.rows, result.summary)
    return result, files
