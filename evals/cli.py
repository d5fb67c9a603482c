"""The ``memo eval`` and ``memo demo`` commands. They live beside the evaluations they run, so
that ``memo_graph`` never imports them: the ``memo`` script is this module's app, which is
``memo_graph.cli``'s with these two commands added. Their packages come with the ``eval``
extra."""

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

from evals.report import format_value
from memo_graph.cli import _errors_as_one_line, _memory_spec, _say, app, console
from memo_graph.errors import MemoError

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
        table.add_row(*(Text(format_value(row.get(column))) for column in columns))
    natural = Measurement.get(console, console.options.update_width(10_000), table).maximum
    if natural <= console.width:
        console.print(table)
        return
    if title:
        _say("[bold]{}[/]", title)
    for row in rows:
        name, *others = columns
        _say("[bold]{}[/]", format_value(row.get(name)))
        for column in others:
            _say("  {}: {}", column, format_value(row.get(column)))


@app.command(name="eval")
def evaluate(
    benchmark: Annotated[
        str, typer.Option(help="invented, musique, narrativeqa, browsecomp-plus or generic.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory of the report.")],
    data: Annotated[Path | None, typer.Option(help="The benchmark's local files.")] = None,
    systems: Annotated[
        str,
        typer.Option(
            help="Comma-separated: memo, memory, bm25, dense, closed_book, oracle, hipporag."
        ),
    ] = "memo,bm25,dense,closed_book,oracle",
    executive: Annotated[str, typer.Option(help="EXECUTIVE spec (also the RAG reader).")] = (
        "local"
    ),
    judge: Annotated[str, typer.Option(help="Judge spec, or 'none' for EM and F1 only.")] = (
        "local"
    ),
    generator: Annotated[str, typer.Option(help="GENERATOR spec for MEMO's synthesis.")] = (
        "local"
    ),
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
    k: Annotated[int, typer.Option(help="Passages retrieved by the RAG systems.")] = 5,
    steps: Annotated[str | None, typer.Option(help="Synthesis steps for MEMO.")] = None,
    generator_max_tokens: Annotated[
        int, typer.Option(help="Most tokens per GENERATOR reply in MEMO's synthesis.")
    ] = 1024,
    chunk_size: Annotated[
        int, typer.Option(help="MEMO's synthesis chunks (books: 4000 words, overlap 400).")
    ] = 400,
    chunk_overlap: Annotated[int, typer.Option()] = 40,
    chunk_unit: Annotated[str, typer.Option(help="tokens or words.")] = "tokens",
    epochs: Annotated[int, typer.Option(help="MEMORY training epochs.")] = 3,
    identification_turns: Annotated[int, typer.Option()] = 7,
    seeking_turns: Annotated[int, typer.Option()] = 8,
    concurrency: Annotated[
        int, typer.Option(help="Questions in flight at once per system (wall time is per answer).")
    ] = 1,
) -> None:
    """Compare MEMO with RAG and closed-book baselines on a benchmark, through LangSmith
    (offline unless LANGSMITH_API_KEY is set). Finished work is reused when run again."""
    import asyncio

    with _errors_as_one_line():
        _require_eval_extra("eval")
    from evals.pipeline import EvalSettings, evaluate
    from evals.report import SUMMARY_COLUMNS
    from evals.systems import MemoSettings
    from memo_graph.synthesis import STEPS
    from memo_training.config import TrainConfig

    with _errors_as_one_line():
        settings = EvalSettings(
            benchmark=benchmark,
            out=out,
            data=data,
            systems=[s.strip() for s in systems.split(",") if s.strip()],
            executive=executive,
            judge=None if judge == "none" else judge,
            limit=limit,
            negatives=negatives,
            k=k,
            concurrency=concurrency,
            memo=MemoSettings(
                generator=generator,
                memory=_memory_spec(memory) if memory else None,
                pairs=pairs,
                steps=steps.split(",") if steps else list(STEPS),
                synthesis={
                    "max_tokens": generator_max_tokens,
                    "chunk_size": chunk_size,
                    "chunk_overlap": chunk_overlap,
                    "chunk_unit": chunk_unit,
                },
                training=TrainConfig(epochs=epochs),
                protocol={
                    "identification_turns": identification_turns,
                    "seeking_turns": seeking_turns,
                },
            ),
        )
        result, files = asyncio.run(
            evaluate(settings, progress=lambda line: _say("[dim]{}[/]", line))
        )
    _print_table(result.summary, SUMMARY_COLUMNS[:-1])
    for name, path in files.items():
        _say("[dim]{}: {}[/]", name, path)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Where everything is written.")] = Path(
        "memo-demo"
    ),
    generator: Annotated[str, typer.Option(help="GENERATOR spec (default: embedded).")] = "local",
    executive: Annotated[str, typer.Option(help="EXECUTIVE spec (default: embedded).")] = "local",
    base: Annotated[
        str, typer.Option(help="The MEMORY's base model: local, local:PATH or hf:ORG/NAME.")
    ] = ("local"),
    questions: Annotated[int | None, typer.Option(help="The first N of the 20 questions.")] = None,
    pairs: Annotated[
        Path | None,
        typer.Option(
            help="Train the MEMORY on these QA pairs instead of synthesising them, e.g. "
            "evals/data/invented/reference_qa.jsonl (what a capable GENERATOR would write)."
        ),
    ] = None,
    epochs: Annotated[int, typer.Option(help="MEMORY training epochs.")] = 6,
    generator_max_tokens: Annotated[
        int, typer.Option(help="Most tokens per GENERATOR reply (raise it for a real model).")
    ] = 256,
    generator_temperature: Annotated[float, typer.Option(help="0 decodes greedily.")] = 0.3,
    concurrency: Annotated[int, typer.Option(help="Questions and GENERATOR calls at once.")] = 10,
) -> None:
    """The whole method on 8 invented documents, the embedded model in every role by default:
    synthesis -> LoRA MEMORY -> protocol graph, against closed book, the MEMORY alone and BM25
    RAG. Run it again and finished stages are reused."""
    import asyncio

    from rich.progress import Progress

    with _errors_as_one_line():
        _require_eval_extra("demo")
    from evals.demo import DemoSettings, run_demo

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
    with _errors_as_one_line():
        settings = DemoSettings(
            out=out,
            generator=generator,
            executive=executive,
            base=base,
            questions=questions,
            pairs=pairs,
            epochs=epochs,
            generator_max_tokens=generator_max_tokens,
            generator_temperature=generator_temperature,
            concurrency=concurrency,
        )
        try:
            result = asyncio.run(
                run_demo(
                    settings,
                    progress=lambda line: _say("[dim]{}[/]", line),
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
    _say(
        "[dim]{} s; report: {}[/]", f"{time.perf_counter() - started:.0f}", result.files["markdown"]
    )


if __name__ == "__main__":
    app()
