"""The ``memo`` command line."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.table import Table
from rich.text import Text

from memo_graph.cli_library import add, forget, library_app, update
from memo_graph.cli_support import (
    BASE_HELP,
    console,
    errors_as_one_line,
    given,
    memory_spec,
    option,
    say,
    warnings_as_lines,
)
from memo_graph.models import spec as model_spec
from memo_graph.printable import visible
from memo_graph.protocol.context import ProtocolContext
from memo_graph.synthesis.state import SynthesisContext
from memo_training import config as training
from memo_training.config import TrainConfig
from memo_training.serving import vllm_command

app = typer.Typer(
    name="memo",
    help="MEMO (Memory as a Model) for LangGraph and LangChain.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
_TIMEOUT_HELP = "Seconds a remote model may take per request."
_RETRIES_HELP = "Retries of a remote request that timed out."


@app.command()
def chat(
    prompt: Annotated[str, typer.Argument(help="What to ask the model.")],
    model: Annotated[
        str,
        typer.Option("--model", "-m", help="Model spec: local, local:PATH, PROVIDER:MODEL, ..."),
    ] = "local",
    max_tokens: Annotated[int, typer.Option(help="Most tokens in the reply.")] = 128,
    temperature: Annotated[float, typer.Option(help="0 decodes greedily.")] = 0.0,
    timeout: Annotated[
        float | None, option(model_spec, "REMOTE_TIMEOUT_S", help=_TIMEOUT_HELP)
    ] = None,
    retries: Annotated[int | None, option(model_spec, "REMOTE_RETRIES", help=_RETRIES_HELP)] = (
        None
    ),
) -> None:
    """Ask one model spec one question through LangChain (a smoke test of a spec)."""
    from memo_graph.cli_support import remote_failures_named
    from memo_graph.models.spec import resolve_chat_model

    with errors_as_one_line(), remote_failures_named("model", model, timeout, retries):
        llm = resolve_chat_model(
            model,
            max_tokens=max_tokens,
            temperature=temperature,
            **given(timeout_s=timeout, retries=retries),
        )
        started = time.perf_counter()
        reply = llm.invoke(prompt)
    elapsed = time.perf_counter() - started
    console.print(Text(visible(str(reply.content))))
    usage = getattr(reply, "usage_metadata", None) or {}
    say(
        "[dim]{}: {} tokens in, {} out, {}s[/]",
        model,
        usage.get("input_tokens", "?"),
        usage.get("output_tokens", "?"),
        f"{elapsed:.1f}",
    )


@app.command()
def train(
    dataset: Annotated[Path, typer.Argument(help="QA dataset: a saved HF dataset or .jsonl.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory of the memory artifact.")],
    base: Annotated[str, typer.Option(help=BASE_HELP)] = "local",
    full: Annotated[bool, typer.Option("--full/--lora", help="Full SFT instead of LoRA.")] = False,
    preset: Annotated[
        str | None, typer.Option(help="lora-small, lora-large or full (the paper's values).")
    ] = None,
    epochs: Annotated[int | None, option(TrainConfig, "epochs")] = None,
    batch_size: Annotated[int | None, option(TrainConfig, "batch_size")] = None,
    gradient_accumulation: Annotated[int | None, option(TrainConfig, "gradient_accumulation")] = (
        None
    ),
    learning_rate: Annotated[
        float | None, option(TrainConfig, "learning_rate", "--lr", help="Learning rate.")
    ] = None,
    lora_r: Annotated[int | None, option(TrainConfig, "lora_r")] = None,
    lora_alpha: Annotated[int | None, option(TrainConfig, "lora_alpha")] = None,
    lora_dropout: Annotated[
        float | None,
        option(TrainConfig, "lora_dropout", help="Dropout on adapter inputs (paper: 0.05)."),
    ] = None,
    max_length: Annotated[
        int | None, option(TrainConfig, "max_length", help="Tokens per example, at most.")
    ] = None,
    checkpoint_every: Annotated[
        int | None, option(TrainConfig, "checkpoint_every", help="Steps between checkpoints.")
    ] = None,
    seed: Annotated[int | None, option(TrainConfig, "seed")] = None,
    precision: Annotated[
        str | None,
        option(
            TrainConfig,
            "precision",
            help="bf16 (mixed precision), fp32, or auto: bf16 on a CUDA GPU with bf16 or a "
            "CPU with AMX.",
        ),
    ] = None,
    lr_schedule: Annotated[
        str | None,
        option(
            TrainConfig,
            "lr_schedule",
            help="After warmup: constant, or linear / cosine decay to zero.",
        ),
    ] = None,
    retrain: Annotated[
        bool,
        typer.Option(help="Replace a finished artifact trained on other data or settings."),
    ] = False,
) -> None:
    """Fine-tune a MEMORY model on a QA dataset (answer-only loss). Run the same command
    again to resume after a crash; a finished artifact is left as it is. --out must be a new
    or empty directory, or a memory artifact: nothing else is overwritten."""
    from memo_training.trainer import train_memory

    chosen = {
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "gradient_accumulation": gradient_accumulation,
        "lora_r": lora_r,
        "lora_alpha": lora_alpha,
        "lora_dropout": lora_dropout,
        "max_length": max_length,
        "checkpoint_every": checkpoint_every,
        "seed": seed,
        "precision": precision,
        "lr_schedule": lr_schedule,
    }
    overrides = given(**chosen)
    with errors_as_one_line(), warnings_as_lines():
        config = TrainConfig.chosen(preset or ("full" if full else None), **overrides)
        result = train_memory(dataset, out, base=base, config=config, retrain=retrain)
    if os.environ.get("RANK", "0") != "0":
        return  # data-parallel workers: the main process reports
    if result.already_done:
        say("{} is already a memory artifact of this data and these settings; nothing to do.", out)
        return
    if result.resumed_at_step is not None:
        say("resumed from step {}", result.resumed_at_step)
    for note in result.skipped_checkpoints:
        say("[yellow]skipped an unreadable checkpoint:[/] {}", note)
    for row in result.skipped_rows[:20]:
        say("[yellow]skipped[/] {} {}", dataset, row)
    if len(result.skipped_rows) > 20:
        say("[yellow]skipped[/] {} more rows", len(result.skipped_rows) - 20)
    if result.report:
        say("data: {}", result.report)
    metrics = result.artifact.manifest["metrics"]
    say(
        "wrote {}: {} steps, loss by epoch {}",
        out,
        metrics["steps"],
        ", ".join(f"{v:.3f}" for v in metrics["epoch_loss"]),
    )


@app.command()
def merge(
    artifacts: Annotated[list[Path], typer.Argument(help="Memory artifacts of one base model.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory of the merged artifact.")],
    method: Annotated[
        str | None,
        option(training, "MERGE_METHOD", help=" or ".join(training.MERGE_METHODS) + "."),
    ] = None,
    density: Annotated[
        float | None,
        option(training, "MERGE_DENSITY", help="Share of each delta kept (TIES rho)."),
    ] = None,
    weights: Annotated[
        str | None, typer.Option(help="Comma-separated weight per artifact, e.g. 1,0.5.")
    ] = None,
    output: Annotated[
        str | None,
        option(training, "MERGE_OUTPUT", help="full (exact) or lora (SVD re-factored)."),
    ] = None,
    rank: Annotated[
        int | None, option(training, "MERGE_RANK", help="Adapter rank when --output lora.")
    ] = None,
) -> None:
    """Merge memory artifacts in parameter space (task vectors against the true base)."""
    from memo_training.merge import merge_memories

    with errors_as_one_line():
        parsed = [float(w) for w in weights.split(",")] if weights else None
        result = merge_memories(
            list(artifacts),
            out,
            weights=parsed,
            **given(method=method, density=density, output=output, rank=rank),
        )
    merged_by = method or training.MERGE_METHOD
    say("wrote {} ({}, {}): {}", out, result.kind, merged_by, result.manifest["metrics"])


@app.command()
def serve(
    artifact: Annotated[Path, typer.Argument(help="A memory artifact directory.")],
    name: Annotated[
        str | None, option(vllm_command, "name", help="Model name clients ask for.")
    ] = None,
    host: Annotated[str | None, option(vllm_command, "host")] = None,
    port: Annotated[int | None, option(vllm_command, "port")] = None,
    print_only: Annotated[
        bool, typer.Option("--print-only", help="Only print the command.")
    ] = False,
) -> None:
    """Serve a MEMORY with vLLM (GPU, extra `vllm`); without it, print the command to run."""
    import subprocess

    from memo_training.artifact import load_artifact
    from memo_training.serving import client_spec, render, vllm_available

    with errors_as_one_line():
        loaded = load_artifact(artifact)
    address = given(name=name, host=host, port=port)
    command = vllm_command(loaded, **address)
    typer.echo(visible(render(command)))  # plain: a wrapped command could not be pasted
    typer.echo(f"clients: --memory {client_spec(**address)}")
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
    generator: Annotated[str | None, option(SynthesisContext, "generator")] = None,
    steps: Annotated[
        str | None,
        option(SynthesisContext, "steps", help="Comma-separated steps to run, for ablations."),
    ] = None,
    chunk_size: Annotated[
        int | None, option(SynthesisContext, "chunk_size", help="Chunk length in --chunk-unit.")
    ] = None,
    chunk_overlap: Annotated[int | None, option(SynthesisContext, "chunk_overlap")] = None,
    chunk_unit: Annotated[
        str | None, option(SynthesisContext, "chunk_unit", help="tokens or words.")
    ] = None,
    concurrency: Annotated[int | None, option(SynthesisContext, "concurrency")] = None,
    temperature: Annotated[float | None, option(SynthesisContext, "temperature")] = None,
    top_p: Annotated[float | None, option(SynthesisContext, "top_p")] = None,
    max_tokens: Annotated[
        int | None,
        option(SynthesisContext, "max_tokens", help="Most tokens per GENERATOR reply."),
    ] = None,
    max_calls: Annotated[
        int | None,
        option(SynthesisContext, "max_calls", help="Stop before the GENERATOR makes more calls."),
    ] = None,
    sentence_pairs: Annotated[
        bool | None,
        option(SynthesisContext, "sentence_pairs", "--sentence-pairs/--no-sentence-pairs"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan (documents, chunks, calls) only.")
    ] = False,
    timeout: Annotated[
        float | None, option(model_spec, "REMOTE_TIMEOUT_S", help=_TIMEOUT_HELP)
    ] = None,
    retries: Annotated[int | None, option(model_spec, "REMOTE_RETRIES", help=_RETRIES_HELP)] = (
        None
    ),
) -> None:
    """Turn a corpus into a reflection-QA dataset (five steps, by the GENERATOR). Run the same
    command again after a crash: finished GENERATOR calls are not redone. --out must be a new
    or empty directory, or an earlier output of memo synthesize."""
    import asyncio

    from memo_graph.files import check_output_directory
    from memo_graph.synthesis import graph
    from memo_graph.synthesis.graph import CACHE_FILE
    from memo_graph.synthesis.plan import plan_synthesis
    from memo_graph.synthesis.progress import synthesize_with_progress
    from memo_graph.synthesis.state import SynthesisInput

    with errors_as_one_line():
        context = SynthesisContext(
            **given(
                generator=generator,
                steps=[s.strip() for s in steps.split(",")] if steps else None,
                chunk_size=chunk_size,
                chunk_overlap=chunk_overlap,
                chunk_unit=chunk_unit,
                concurrency=concurrency,
                temperature=temperature,
                top_p=top_p,
                max_tokens=max_tokens,
                max_calls=max_calls,
                sentence_pairs=sentence_pairs,
                timeout_s=timeout,
                remote_retries=retries,
            )
        )
        check_output_directory(out, "synthesize", signatures=(CACHE_FILE,))
        plan = plan_synthesis(corpus, context)
        _print_skips(plan.corpus.skipped_items)
        say("plan: {}", plan.describe())
        if dry_run:
            return
        plan.check_budget(context.max_calls)
        result = asyncio.run(
            synthesize_with_progress(
                graph, SynthesisInput(source=corpus, out=str(out)), context, console
            )
        )
    _print_synthesis_report(result["report"])
    say("wrote {} QA pairs: {} and {}", result["pairs"], result["dataset"], result["jsonl"])
    if result["pairs"] == 0:
        console.print(
            "[bold red]error:[/] no QA pair came out; the drops above say why (a GENERATOR too "
            "small for the schema, or --max-tokens too low)."
        )
        raise typer.Exit(code=1)


def _print_skips(items: Sequence[Any], shown: int = 20) -> None:
    """Each skipped file, line or record with its place and reason (the first ``shown``)."""
    for item in items[:shown]:
        detail = f" ({item.detail})" if item.detail else ""
        say("[yellow]skipped[/] {}: {}{}", item.where, item.reason, detail)
    if len(items) > shown:
        say("[yellow]skipped[/] {} more; the report lists them all", len(items) - shown)


def _print_synthesis_report(report: dict[str, Any]) -> None:
    ingestion = report["ingestion"]
    skipped = ", ".join(f"{n} {why}" for why, n in ingestion["skipped"].items()) or "none"
    say(
        "{} documents, {} chunks; skipped: {}", ingestion["documents"], ingestion["chunks"], skipped
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
            Text(drops),
        )
    console.print(table)
    say("duplicate questions dropped: {}", report["deduplication"]["dropped"])


@app.command()
def ask(
    query: Annotated[str, typer.Argument(help="The question to answer.")],
    memory: Annotated[
        str | None,
        option(
            ProtocolContext,
            "memory",
            help="A memory artifact directory, or a spec (openai-compatible:NAME@URL).",
        ),
    ] = None,
    executive: Annotated[str | None, option(ProtocolContext, "executive")] = None,
    identification_turns: Annotated[
        int | None, option(ProtocolContext, "identification_turns")
    ] = None,
    seeking_turns: Annotated[int | None, option(ProtocolContext, "seeking_turns")] = None,
    memory_format: Annotated[
        str | None, option(ProtocolContext, "memory_reply_format", help="text or json.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the output state as JSON.")] = (
        False
    ),
    timeout: Annotated[
        float | None, option(model_spec, "REMOTE_TIMEOUT_S", help=_TIMEOUT_HELP)
    ] = None,
    retries: Annotated[int | None, option(model_spec, "REMOTE_RETRIES", help=_RETRIES_HELP)] = (
        None
    ),
) -> None:
    """Answer a question through the three-stage protocol: the EXECUTIVE asks the MEMORY."""
    import asyncio
    import json

    from memo_graph.errors import ProtocolInputError
    from memo_graph.protocol import graph

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

    with errors_as_one_line():
        if not query.strip():  # the graph's own message speaks of its input state, not of us
            raise ProtocolInputError("the question is empty; give a question to ask.")
        context = ProtocolContext(
            **given(
                executive=executive,
                memory=memory_spec(memory) if memory else None,
                memory_reply_format=memory_format,
                identification_turns=identification_turns,
                seeking_turns=seeking_turns,
                timeout_s=timeout,
                remote_retries=retries,
            )
        )
        out = asyncio.run(run(context))
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    say("\n[bold]answer:[/] {}", out.get("answer", ""))
    say("[bold]justification:[/] {}", out.get("justification", ""))
    if out.get("entity"):
        state = "confirmed" if out.get("identified") else "best candidate"
        say("[bold]entity:[/] {} ({})", out["entity"], state)
    if out.get("sources"):
        say("[bold]sources:[/] {}", "; ".join(out["sources"]))
    if out.get("unverified_sources"):
        say("[yellow]cited, not in the library:[/] {}", "; ".join(out["unverified_sources"]))
    for error in out.get("errors", []):
        say("[yellow]note:[/] {}", error)
    cost = out.get("cost", {})
    say(
        "[dim]executive: {} calls, {} tokens in, {} out; memory: {} questions; {}s[/]",
        cost.get("executive_calls", 0),
        cost.get("executive_input_tokens", 0),
        cost.get("executive_output_tokens", 0),
        cost.get("memory_calls", 0),
        f"{cost.get('wall_s', 0):.1f}",
    )


def _print_exchange(exchange: dict[str, Any]) -> None:
    stage = f"{exchange['stage']:>14}"
    if not exchange["sent"]:
        why = exchange.get("reasoning") or "not sent"
        say("[dim]{}  {}  ({})[/]", stage, exchange["question"], why)
        return
    style = "green" if exchange["confident"] else "red"
    say("[dim]{}[/]  [bold]Q:[/] {}", stage, exchange["question"])
    say("{}  [" + style + "]A: {}[/]", "", exchange["answer"])


app.add_typer(library_app, name="library")
for command in (add, update, forget):
    app.command()(command)


def _library_progress_bars_off() -> None:
    """Our progress bars and lines only: transformers' weight loading and datasets' saving draw
    bars of their own between ours. A user's own setting of the variable is kept."""
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    _library_progress_bars_off()
    if version:
        from memo_graph import __version__

        console.print(__version__)
        raise typer.Exit()


if __name__ == "__main__":
    app()
