"""The commands of ``memo`` that ask and build from a corpus: ``chat``, ``synthesize`` and
``ask``. ``memo_training.cli`` has the training and library commands, ``evals.cli`` the
evaluations and the ``memo`` app that holds them all."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.table import Table
from rich.text import Text

from memo_graph.cli_support import (
    console,
    errors_as_one_line,
    given,
    memo_app,
    memory_spec,
    option,
    say,
)
from memo_graph.models import spec as model_spec
from memo_graph.printable import visible
from memo_graph.protocol.context import ProtocolContext
from memo_graph.synthesis.state import SynthesisContext

app = memo_app("Ask a MEMORY and build one's dataset from a corpus (memo-graph).")
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


if __name__ == "__main__":
    app()
