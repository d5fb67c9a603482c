"""The ``memo`` command line."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.console import Console
from rich.table import Table

from memo_graph.errors import MemoError

app = typer.Typer(
    name="memo",
    help="MEMO (Memory as a Model) for LangGraph and LangChain.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()


def _fail(error: Exception) -> None:
    console.print(f"[bold red]error:[/] {error}")
    raise typer.Exit(code=2)


@app.command()
def chat(
    prompt: Annotated[str, typer.Argument(help="What to ask the model.")],
    model: Annotated[
        str,
        typer.Option("--model", "-m", help="Model spec: local, local:PATH, PROVIDER:MODEL, ..."),
    ] = "local",
    max_tokens: Annotated[int, typer.Option(help="Most tokens in the reply.")] = 128,
    temperature: Annotated[float, typer.Option(help="0 decodes greedily.")] = 0.0,
) -> None:
    """Ask one model spec one question through LangChain (a smoke test of a spec)."""
    from memo_graph.models.spec import resolve_chat_model

    try:
        llm = resolve_chat_model(model, max_tokens=max_tokens, temperature=temperature)
        started = time.perf_counter()
        reply = llm.invoke(prompt)
    except MemoError as exc:
        _fail(exc)
        return
    elapsed = time.perf_counter() - started
    console.print(str(reply.content))
    usage = getattr(reply, "usage_metadata", None) or {}
    console.print(
        f"[dim]{model}: {usage.get('input_tokens', '?')} tokens in, "
        f"{usage.get('output_tokens', '?')} out, {elapsed:.1f}s[/]"
    )


@app.command()
def train(
    dataset: Annotated[Path, typer.Argument(help="QA dataset: a saved HF dataset or .jsonl.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory of the memory artifact.")],
    base: Annotated[str, typer.Option(help="Base model: local or local:PATH.")] = "local",
    full: Annotated[bool, typer.Option("--full/--lora", help="Full SFT instead of LoRA.")] = False,
    preset: Annotated[
        str | None, typer.Option(help="lora-small, lora-large or full (the paper's values).")
    ] = None,
    epochs: Annotated[int | None, typer.Option()] = None,
    batch_size: Annotated[int | None, typer.Option()] = None,
    gradient_accumulation: Annotated[int | None, typer.Option()] = None,
    learning_rate: Annotated[float | None, typer.Option("--lr")] = None,
    lora_r: Annotated[int | None, typer.Option()] = None,
    lora_alpha: Annotated[int | None, typer.Option()] = None,
    max_length: Annotated[int | None, typer.Option()] = None,
    checkpoint_every: Annotated[int | None, typer.Option(help="Steps between checkpoints.")] = None,
    seed: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Fine-tune a MEMORY model on a QA dataset (answer-only loss). Run the same command
    again to resume after a crash; a finished artifact is left as it is."""
    from memo_training.config import TrainConfig
    from memo_training.trainer import train_memory

    chosen = {
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "gradient_accumulation": gradient_accumulation,
        "lora_r": lora_r,
        "lora_alpha": lora_alpha,
        "max_length": max_length,
        "checkpoint_every": checkpoint_every,
        "seed": seed,
    }
    overrides: dict[str, Any] = {k: v for k, v in chosen.items() if v is not None}
    try:
        if preset:
            config = TrainConfig.from_preset(preset, **overrides)
        elif full:
            config = TrainConfig.from_preset("full", **overrides)
        else:
            config = TrainConfig(**overrides)
        result = train_memory(dataset, out, base=base, config=config)
    except (MemoError, ValueError) as exc:
        _fail(exc)
        return
    if os.environ.get("RANK", "0") != "0":
        return  # data-parallel workers: the main process reports
    if result.already_done:
        console.print(f"{out} is already a complete memory artifact; nothing to do.")
        return
    if result.resumed_at_step is not None:
        console.print(f"resumed from step {result.resumed_at_step}")
    for note in result.skipped_checkpoints:
        console.print(f"[yellow]skipped an unreadable checkpoint:[/] {note}")
    if result.report:
        console.print(f"data: {result.report}")
    metrics = result.artifact.manifest["metrics"]
    console.print(
        f"wrote {out}: {metrics['steps']} steps, loss by epoch "
        + ", ".join(f"{v:.3f}" for v in metrics["epoch_loss"])
    )


@app.command()
def merge(
    artifacts: Annotated[list[Path], typer.Argument(help="Memory artifacts of one base model.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory of the merged artifact.")],
    method: Annotated[
        str, typer.Option(help="ties, dare_ties, task_arithmetic or linear.")
    ] = "ties",
    density: Annotated[float, typer.Option(help="Share of each delta kept (TIES rho).")] = 0.3,
    weights: Annotated[
        str | None, typer.Option(help="Comma-separated weight per artifact, e.g. 1,0.5.")
    ] = None,
    output: Annotated[str, typer.Option(help="full (exact) or lora (SVD re-factored).")] = "full",
    rank: Annotated[int, typer.Option(help="Adapter rank when --output lora.")] = 16,
) -> None:
    """Merge memory artifacts in parameter space (task vectors against the true base)."""
    from memo_training.merge import merge_memories

    try:
        parsed = [float(w) for w in weights.split(",")] if weights else None
        result = merge_memories(
            list(artifacts),
            out,
            method=method,  # type: ignore[arg-type]
            density=density,
            weights=parsed,
            output=output,  # type: ignore[arg-type]
            rank=rank,
        )
    except (MemoError, ValueError) as exc:
        _fail(exc)
        return
    console.print(f"wrote {out} ({result.kind}, {method}): {result.manifest['metrics']}")


@app.command()
def serve(
    artifact: Annotated[Path, typer.Argument(help="A memory artifact directory.")],
    name: Annotated[str, typer.Option(help="Model name clients ask for.")] = "memo",
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    print_only: Annotated[
        bool, typer.Option("--print-only", help="Only print the command.")
    ] = False,
) -> None:
    """Serve a MEMORY with vLLM (GPU, extra `vllm`); without it, print the command to run."""
    import subprocess

    from memo_training.artifact import load_artifact
    from memo_training.serving import client_spec, render, vllm_available, vllm_command

    try:
        loaded = load_artifact(artifact)
    except MemoError as exc:
        _fail(exc)
        return
    command = vllm_command(loaded, name=name, host=host, port=port)
    typer.echo(render(command))  # plain: a wrapped command could not be pasted
    typer.echo(f"clients: --memory {client_spec(name, host, port)}")
    if print_only or not vllm_available():
        if not print_only:
            console.print(
                "[dim]vLLM or a GPU is missing here: run the command on a GPU machine "
                "with pip install 'memo-graph[vllm]'.[/]"
            )
        return
    raise typer.Exit(subprocess.call(command))


@app.command()
def synthesize(
    corpus: Annotated[
        str, typer.Argument(help="Directory, glob or file of documents, or a saved HF dataset.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory (resumable).")],
    generator: Annotated[str, typer.Option(help="GENERATOR spec: local, openai:MODEL, ...")] = (
        "local"
    ),
    steps: Annotated[
        str | None,
        typer.Option(help="Comma-separated steps to run (default all five), for ablations."),
    ] = None,
    chunk_size: Annotated[int, typer.Option(help="Chunk length in --chunk-unit.")] = 400,
    chunk_overlap: Annotated[int, typer.Option()] = 40,
    chunk_unit: Annotated[str, typer.Option(help="tokens or words.")] = "tokens",
    concurrency: Annotated[int, typer.Option(help="GENERATOR calls at once.")] = 4,
    temperature: Annotated[float, typer.Option()] = 1.1,
    top_p: Annotated[float, typer.Option()] = 0.95,
    max_tokens: Annotated[int, typer.Option(help="Most tokens per GENERATOR reply.")] = 1024,
) -> None:
    """Turn a corpus into a reflection-QA dataset (five steps, by the GENERATOR). Run the same
    command again after a crash: finished GENERATOR calls are not redone."""
    import asyncio

    from memo_graph.synthesis import STEPS, SynthesisContext, graph
    from memo_graph.synthesis.progress import synthesize_with_progress
    from memo_graph.synthesis.state import SynthesisInput

    try:
        context = SynthesisContext(
            generator=generator,
            steps=[s.strip() for s in steps.split(",")] if steps else list(STEPS),
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            chunk_unit=chunk_unit,  # type: ignore[arg-type]
            concurrency=concurrency,
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
        )
        result = asyncio.run(
            synthesize_with_progress(
                graph, SynthesisInput(source=corpus, out=str(out)), context, console
            )
        )
    except MemoError as exc:
        _fail(exc)
        return
    _print_synthesis_report(result["report"])
    console.print(f"wrote {result['pairs']} QA pairs: {result['dataset']} and {result['jsonl']}")
    if result["pairs"] == 0:
        console.print(
            "[bold red]error:[/] no QA pair came out; the drops above say why (a GENERATOR too "
            "small for the schema, or --max-tokens too low)."
        )
        raise typer.Exit(code=1)


def _print_synthesis_report(report: dict[str, Any]) -> None:
    ingestion = report["ingestion"]
    skipped = ", ".join(f"{n} {why}" for why, n in ingestion["skipped"].items()) or "none"
    console.print(
        f"{ingestion['documents']} documents, {ingestion['chunks']} chunks; skipped: {skipped}"
    )
    table = Table("step", "in", "out", "calls", "cached", "tokens in/out", "seconds", "drops")
    from memo_graph.synthesis import STEPS

    for step in STEPS:
        row = report[step]
        if not row["ran"]:
            table.add_row(step, "-", "-", "-", "-", "-", "-", "turned off")
            continue
        drops = ", ".join(f"{n} {why}" for why, n in row["drops"].items())
        table.add_row(
            step,
            str(row["items_in"]),
            str(row["items_out"]),
            str(row["generator_calls"]),
            str(row["cached_calls"]),
            f"{row['input_tokens']}/{row['output_tokens']}",
            f"{row['seconds']:.1f}",
            drops,
        )
    console.print(table)
    console.print(f"duplicate questions dropped: {report['deduplication']['dropped']}")


def _memory_spec(memory: str) -> str:
    """A directory given to --memory means a memory artifact loaded in process."""
    if memory == "local" or ":" in memory.split("/")[0]:
        return memory
    return f"local:{memory}"


@app.command()
def ask(
    query: Annotated[str, typer.Argument(help="The question to answer.")],
    memory: Annotated[
        str,
        typer.Option(help="A memory artifact directory, or a spec (openai-compatible:NAME@URL)."),
    ] = "local",
    executive: Annotated[str, typer.Option(help="EXECUTIVE spec: local, openai:MODEL, ...")] = (
        "local"
    ),
    identification_turns: Annotated[int, typer.Option(help="Entity identification budget.")] = 7,
    seeking_turns: Annotated[int, typer.Option(help="Answer seeking budget.")] = 8,
    memory_format: Annotated[str, typer.Option(help="text or json.")] = "text",
    as_json: Annotated[bool, typer.Option("--json", help="Print the output state as JSON.")] = (
        False
    ),
) -> None:
    """Answer a question through the three-stage protocol: the EXECUTIVE asks the MEMORY."""
    import asyncio
    import json

    from memo_graph.protocol import ProtocolContext, graph

    async def run(context: ProtocolContext) -> dict[str, Any]:
        final: dict[str, Any] = {}
        async for _, mode, chunk in graph.astream(
            {"query": query},
            {"recursion_limit": context.recursion_limit()},
            context=context,
            stream_mode=["custom", "values"],
            subgraphs=True,
        ):
            if mode == "custom" and not as_json:
                _print_exchange(cast(dict[str, Any], chunk)["exchange"])
            elif mode == "values":
                final = cast(dict[str, Any], chunk)
        return final

    try:
        context = ProtocolContext(
            executive=executive,
            memory=_memory_spec(memory),
            memory_reply_format=memory_format,  # type: ignore[arg-type]
            identification_turns=identification_turns,
            seeking_turns=seeking_turns,
        )
        out = asyncio.run(run(context))
    except MemoError as exc:
        _fail(exc)
        return
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    console.print(f"\n[bold]answer:[/] {out.get('answer', '')}")
    console.print(f"[bold]justification:[/] {out.get('justification', '')}")
    if out.get("entity"):
        state = "confirmed" if out.get("identified") else "best candidate"
        console.print(f"[bold]entity:[/] {out['entity']} ({state})")
    for error in out.get("errors", []):
        console.print(f"[yellow]note:[/] {error}")
    cost = out.get("cost", {})
    console.print(
        f"[dim]executive: {cost.get('executive_calls', 0)} calls, "
        f"{cost.get('executive_input_tokens', 0)} tokens in, "
        f"{cost.get('executive_output_tokens', 0)} out; memory: {cost.get('memory_calls', 0)} "
        f"questions; {cost.get('wall_s', 0):.1f}s[/]"
    )


def _print_exchange(exchange: dict[str, Any]) -> None:
    if not exchange["sent"]:
        console.print(
            f"[dim]{exchange['stage']:>14}  not sent (dead end): {exchange['question']}[/]"
        )
        return
    style = "green" if exchange["confident"] else "red"
    console.print(f"[dim]{exchange['stage']:>14}[/]  [bold]Q:[/] {exchange['question']}")
    console.print(f"{'':>14}  [{style}]A: {exchange['answer']}[/]")


def _print_table(
    rows: list[dict[str, Any]], columns: Sequence[str], title: str | None = None
) -> None:
    """Rows of scores and costs as a rich table, formatted as the evaluation report does."""
    from evals.report import format_value

    table = Table(*columns, title=title)
    for row in rows:
        table.add_row(*(format_value(row.get(column)) for column in columns))
    console.print(table)


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

    from evals.pipeline import EvalSettings, evaluate
    from evals.report import SUMMARY_COLUMNS
    from evals.systems import MemoSettings
    from memo_graph.synthesis import STEPS
    from memo_training.config import TrainConfig

    try:
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
            evaluate(settings, progress=lambda line: console.print(f"[dim]{line}[/]"))
        )
    except (MemoError, ValueError) as exc:
        _fail(exc)
        return
    _print_table(result.summary, SUMMARY_COLUMNS[:-1])
    for name, path in files.items():
        console.print(f"[dim]{name}: {path}[/]")


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Where everything is written.")] = Path(
        "memo-demo"
    ),
    generator: Annotated[str, typer.Option(help="GENERATOR spec (default: embedded).")] = "local",
    executive: Annotated[str, typer.Option(help="EXECUTIVE spec (default: embedded).")] = "local",
    base: Annotated[str, typer.Option(help="The MEMORY's base model, local or local:PATH.")] = (
        "local"
    ),
    questions: Annotated[int | None, typer.Option(help="The first N of the 20 questions.")] = None,
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

    from evals.demo import DemoSettings, run_demo

    bars: dict[str, tuple[Progress, Any]] = {}  # one bar per system, shown while it answers

    def on_answer(label: str, done: int, total: int) -> None:
        if done == 0:
            bar = Progress(console=console)
            bar.start()
            bars[label] = (bar, bar.add_task(label, total=total))
            return
        bar, task = bars[label]
        bar.update(task, completed=done)
        if done == total:
            bar.stop()

    started = time.perf_counter()
    try:
        settings = DemoSettings(
            out=out,
            generator=generator,
            executive=executive,
            base=base,
            questions=questions,
            epochs=epochs,
            generator_max_tokens=generator_max_tokens,
            generator_temperature=generator_temperature,
            concurrency=concurrency,
        )
        result = asyncio.run(
            run_demo(
                settings,
                progress=lambda line: console.print(f"[dim]{line}[/]"),
                on_answer=on_answer,
            )
        )
    except (MemoError, ValueError) as exc:
        for bar, _ in bars.values():
            bar.stop()
        _fail(exc)
        return
    questions_asked = result.evaluation.summary[0]["questions"]
    _print_table(
        result.table, list(result.table[0]), f"{questions_asked} questions: means per question"
    )
    _print_table(result.by_kind, list(result.by_kind[0]), "F1 by kind of question")
    console.print(
        f"[dim]{time.perf_counter() - started:.0f} s; report: {result.files['markdown']}[/]"
    )


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        from memo_graph import __version__

        console.print(__version__)
        raise typer.Exit()


if __name__ == "__main__":
    app()
