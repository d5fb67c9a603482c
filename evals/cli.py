"""The ``memo`` app: the commands of ``memo_graph.cli`` (ask, chat, synthesize) and of
``memo_training.cli`` (train, merge, serve, the library's), with ``memo eval`` and ``memo demo``,
which live here beside the evaluations they run. Each package owns its commands and no package
imports one above it. The evaluations' packages come with the ``eval`` extra."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from evals.demo import DemoSettings
from evals.pipeline import EvalSettings
from evals.report import format_value
from evals.systems.memo import MemoSettings
from memo_graph import cli as graph_cli
from memo_graph.cli_support import (
    console,
    errors_as_one_line,
    given,
    memo_app,
    memory_spec,
    option,
    say,
)
from memo_graph.errors import MemoError
from memo_graph.printable import visible
from memo_graph.protocol.context import ProtocolContext
from memo_graph.synthesis.state import SynthesisContext
from memo_training import cli as training_cli
from memo_training.config import TrainConfig

app = memo_app("MEMO (Memory as a Model) for LangGraph and LangChain.")
for part in (graph_cli.app, training_cli.app):
    app.registered_commands.extend(part.registered_commands)
    app.registered_groups.extend(part.registered_groups)

EVAL_EXTRA = "pip install 'memo-graph[eval]'"
_EVAL_PACKAGES = ("bm25s", "sentence_transformers", "matplotlib")


class EvalExtraMissingError(MemoError):
    """A package of the ``eval`` extra is not installed."""


def _require_eval_extra(command: str) -> None:
    from importlib.util import find_spec

    def absent(name: str) -> bool:
        try:
            return find_spec(name) is None
        except ImportError:
            return True

    missing = [name for name in _EVAL_PACKAGES if absent(name)]
    if missing:
        raise EvalExtraMissingError(
            f"memo {command} needs the evaluation packages ({', '.join(missing)} missing): "
            f"{EVAL_EXTRA}"
        )


def _print_table(
    rows: list[dict[str, Any]], columns: Sequence[str], title: str | None = None
) -> None:
    """Rows of scores and costs as a table, formatted as the evaluation report does; one block
    per row instead when the terminal is too narrow for the columns."""
    table = Table(*columns, title=title)
    for row in rows:
        table.add_row(*(Text(visible(format_value(row.get(column)))) for column in columns))
    natural = Measurement.get(console, console.options.update_width(10_000), table).maximum
    if natural <= console.width:
        console.print(table)
        return
    if title:
        say("[bold]{}[/]", title)
    for row in rows:
        name, *others = columns
        say("[bold]{}[/]", format_value(row.get(name)))
        for column in others:
            say("  {}: {}", column, format_value(row.get(column)))


@app.command(name="eval")
def evaluate(
    benchmark: Annotated[
        str,
        typer.Option(help="invented, musique, 2wiki, narrativeqa, browsecomp-plus or generic."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory of the report.")],
    data: Annotated[Path | None, typer.Option(help="The benchmark's local files.")] = None,
    corpus: Annotated[
        Path | None,
        typer.Option(help="2wiki: the corpus file its passages come from (2wiki_corpus.json)."),
    ] = None,
    scope: Annotated[
        str | None,
        typer.Option(
            help="2wiki: ask against the whole corpus ('corpus', the default with --corpus, as "
            "HippoRAG 2 does) or each question's own 10 passages ('own')."
        ),
    ] = None,
    systems: Annotated[
        str | None,
        option(
            EvalSettings,
            "systems",
            help="Comma-separated: memo, memory, bm25, dense, closed_book, oracle, hipporag.",
        ),
    ] = None,
    executive: Annotated[
        str | None,
        option(EvalSettings, "executive", help="EXECUTIVE spec (also the RAG reader)."),
    ] = None,
    judge: Annotated[
        str | None,
        option(EvalSettings, "judge", help="Judge spec, or 'none' for EM and F1 only."),
    ] = None,
    generator: Annotated[
        str | None,
        option(MemoSettings, "generator", help="GENERATOR spec for MEMO's synthesis."),
    ] = None,
    pairs: Annotated[
        Path | None,
        typer.Option(help="Train MEMO's MEMORY on these QA pairs (.jsonl) instead of synthesis."),
    ] = None,
    memory: Annotated[
        str | None,
        typer.Option(help="Use this memory artifact (or spec) for MEMO instead of building one."),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="First N questions only.")] = None,
    negatives: Annotated[
        int | None, typer.Option(help="Noise test: K negative documents per evidence document.")
    ] = None,
    k: Annotated[
        int | None, option(EvalSettings, "k", help="Passages retrieved by the RAG systems.")
    ] = None,
    steps: Annotated[
        str | None, option(MemoSettings, "steps", help="Synthesis steps for MEMO.")
    ] = None,
    generator_max_tokens: Annotated[
        int | None,
        option(
            SynthesisContext,
            "max_tokens",
            help="Most tokens per GENERATOR reply in MEMO's synthesis.",
        ),
    ] = None,
    generator_temperature: Annotated[
        float | None,
        option(
            SynthesisContext,
            "temperature",
            help="The GENERATOR's sampling temperature in MEMO's synthesis (0.3 suits the "
            "embedded 135M model; 0 decodes greedily).",
        ),
    ] = None,
    sentence_pairs: Annotated[
        bool | None,
        option(SynthesisContext, "sentence_pairs", "--sentence-pairs/--no-sentence-pairs"),
    ] = None,
    chunk_size: Annotated[
        int | None,
        option(
            SynthesisContext,
            "chunk_size",
            help="MEMO's synthesis chunks (books: 4000 words, overlap 400).",
        ),
    ] = None,
    chunk_overlap: Annotated[int | None, option(SynthesisContext, "chunk_overlap")] = None,
    chunk_unit: Annotated[
        str | None, option(SynthesisContext, "chunk_unit", help="tokens or words.")
    ] = None,
    epochs: Annotated[
        int | None, option(TrainConfig, "epochs", help="MEMORY training epochs.")
    ] = None,
    identification_turns: Annotated[
        int | None, option(ProtocolContext, "identification_turns")
    ] = None,
    seeking_turns: Annotated[int | None, option(ProtocolContext, "seeking_turns")] = None,
    concurrency: Annotated[
        int | None,
        option(
            EvalSettings,
            "concurrency",
            help="Questions in flight at once per system (wall time is per answer).",
        ),
    ] = None,
    max_tokens: Annotated[
        int | None,
        option(
            EvalSettings,
            "max_tokens",
            help="Reply budget, in tokens, of the EXECUTIVE (MEMO's and the RAG reader) and "
            "the judge.",
        ),
    ] = None,
) -> None:
    """Compare MEMO with RAG and closed-book baselines on a benchmark, through LangSmith
    (offline unless LANGSMITH_API_KEY is set). Finished work is reused when run again."""
    import asyncio

    with errors_as_one_line():
        _require_eval_extra("eval")
    from evals.pipeline import evaluate
    from evals.report import SUMMARY_COLUMNS

    with errors_as_one_line():
        memo = MemoSettings(
            memory=memory_spec(memory) if memory else None,
            pairs=pairs,
            synthesis=given(
                max_tokens=generator_max_tokens,
                temperature=generator_temperature,
                sentence_pairs=sentence_pairs,
                chunk_size=chunk_size,
                chunk_overlap=chunk_overlap,
                chunk_unit=chunk_unit,
            ),
            training=TrainConfig(**given(epochs=epochs)),
            protocol=given(identification_turns=identification_turns, seeking_turns=seeking_turns),
            **given(generator=generator, steps=steps.split(",") if steps else None),
        )
        chosen = given(
            systems=[s.strip() for s in systems.split(",") if s.strip()] if systems else None,
            executive=executive,
            k=k,
            concurrency=concurrency,
            max_tokens=max_tokens,
        )
        if judge:
            chosen["judge"] = None if judge == "none" else judge
        settings = EvalSettings(
            benchmark=benchmark,
            out=out,
            data=data,
            corpus=corpus,
            scope=scope,
            limit=limit,
            negatives=negatives,
            memo=memo,
            **chosen,
        )
        result, files = asyncio.run(
            evaluate(settings, progress=lambda line: say("[dim]{}[/]", line))
        )
    _print_table(result.summary, SUMMARY_COLUMNS[:-1])
    for name, path in files.items():
        say("[dim]{}: {}[/]", name, path)


@app.command()
def demo(
    out: Annotated[
        Path | None, option(DemoSettings, "out", "--out", "-o", help="Where everything is written.")
    ] = None,
    generator: Annotated[str | None, option(DemoSettings, "generator", help="GENERATOR spec.")] = (
        None
    ),
    executive: Annotated[str | None, option(DemoSettings, "executive", help="EXECUTIVE spec.")] = (
        None
    ),
    base: Annotated[
        str | None,
        option(
            DemoSettings, "base", help="The MEMORY's base model: local, local:PATH or hf:ORG/NAME."
        ),
    ] = None,
    questions: Annotated[
        int | None, option(DemoSettings, "questions", help="The first N of the 20 questions.")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            help="Run on this directory's corpus.json and questions.jsonl instead of the invented "
            "set, e.g. evals/data/heldout (8 other documents, 24 questions)."
        ),
    ] = None,
    pairs: Annotated[
        Path | None,
        typer.Option(
            help="Train the MEMORY on these QA pairs instead of synthesising them, e.g. "
            "evals/data/invented/reference_qa.jsonl (what a capable GENERATOR would write)."
        ),
    ] = None,
    reference: Annotated[
        bool | None,
        option(
            DemoSettings,
            "reference",
            "--reference/--no-reference",
            help="Also train a MEMORY on reference pairs (the data set's reference_qa.jsonl, "
            "or --reference-pairs) and show its rows beside the GENERATOR's.",
        ),
    ] = None,
    reference_pairs: Annotated[
        Path | None,
        typer.Option(help="The reference pairs, instead of the data set's reference_qa.jsonl."),
    ] = None,
    epochs: Annotated[
        int | None, option(DemoSettings, "epochs", help="MEMORY training epochs.")
    ] = None,
    generator_max_tokens: Annotated[
        int | None,
        option(
            DemoSettings,
            "generator_max_tokens",
            help="Most tokens per GENERATOR reply (raise it for a real model).",
        ),
    ] = None,
    generator_temperature: Annotated[
        float | None,
        option(DemoSettings, "generator_temperature", help="0 decodes greedily."),
    ] = None,
    sentence_pairs: Annotated[
        bool | None,
        option(
            DemoSettings,
            "sentence_pairs",
            "--sentence-pairs/--no-sentence-pairs",
            help="Extraction also reads pairs off each sentence by rules.",
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        option(DemoSettings, "concurrency", help="Questions and GENERATOR calls at once."),
    ] = None,
) -> None:
    """The whole method on 8 invented documents, the embedded model in every role by default:
    synthesis -> LoRA MEMORY -> protocol graph, against closed book, the MEMORY alone and BM25
    RAG, and a MEMORY trained on the set's reference pairs alone and through the protocol. Run
    it again and finished stages are reused."""
    import asyncio

    from rich.progress import Progress

    with errors_as_one_line():
        _require_eval_extra("demo")
    from evals.demo import run_demo

    bars: dict[str, tuple[Progress, Any]] = {}  # one bar per system, shown while it answers

    def on_answer(label: str, done: int, total: int) -> None:
        if done == 0:
            bar = Progress(console=console)
            bar.start()
            bars[label] = (bar, bar.add_task(escape(label), total=total))
            return
        bar, task = bars[label]
        bar.update(task, completed=done)
        if done == total:
            bar.stop()

    started = time.perf_counter()
    with errors_as_one_line():
        settings = DemoSettings(
            pairs=pairs,
            reference_pairs=reference_pairs,
            data=data,
            **given(
                out=out,
                generator=generator,
                executive=executive,
                base=base,
                questions=questions,
                reference=reference,
                epochs=epochs,
                generator_max_tokens=generator_max_tokens,
                generator_temperature=generator_temperature,
                sentence_pairs=sentence_pairs,
                concurrency=concurrency,
            ),
        )
        try:
            result = asyncio.run(
                run_demo(
                    settings,
                    progress=lambda line: say("[dim]{}[/]", line),
                    on_answer=on_answer,
                )
            )
        finally:
            for bar, _ in bars.values():
                bar.stop()
    questions_asked = result.evaluation.summary[0]["questions"]
    _print_table(
        result.table, list(result.table[0]), f"{questions_asked} questions: means per question"
    )
    _print_table(result.by_kind, list(result.by_kind[0]), "F1 by kind of question")
    say(
        "[dim]{} s; report: {}[/]", f"{time.perf_counter() - started:.0f}", result.files["markdown"]
    )


if __name__ == "__main__":
    app()
