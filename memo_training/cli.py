"""The commands of ``memo`` that make and keep MEMORY models: ``train``, ``merge``, ``serve``,
and the library's ``library init|show``, ``add``, ``update`` and ``forget``. ``evals.cli``
gathers them with ``memo_graph.cli``'s into the ``memo`` app; ``python -m memo_training.cli``
runs them alone (as ``torchrun`` and ``accelerate launch`` do)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from memo_graph.cli_options import config_options
from memo_graph.cli_support import (
    BASE_HELP,
    console,
    errors_as_one_line,
    given,
    memo_app,
    option,
    say,
    warnings_as_lines,
)
from memo_graph.printable import visible
from memo_training import config as training
from memo_training.cli_library import add, forget, library_app, update
from memo_training.config import TrainConfig
from memo_training.serving import vllm_command

app = memo_app("Train, merge, serve and keep current MEMORY models (memo-graph).")


@app.command()
@config_options(TrainConfig, into="settings", exclude=("method", "target_modules"))
def train(
    dataset: Annotated[Path, typer.Argument(help="QA dataset: a saved HF dataset or .jsonl.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory of the memory artifact.")],
    base: Annotated[str, typer.Option(help=BASE_HELP)] = "local",
    full: Annotated[bool, typer.Option("--full/--lora", help="Full SFT instead of LoRA.")] = False,
    preset: Annotated[
        str | None, typer.Option(help="lora-small, lora-large or full (the paper's values).")
    ] = None,
    retrain: Annotated[
        bool,
        typer.Option(help="Replace a finished artifact trained on other data or settings."),
    ] = False,
    settings: dict[str, Any] | None = None,
) -> None:
    """Fine-tune a MEMORY model on a QA dataset (answer-only loss). Run the same command
    again to resume after a crash; a finished artifact is left as it is. --out must be a new
    or empty directory, or a memory artifact: nothing else is overwritten."""
    from memo_training.trainer import train_memory

    with errors_as_one_line(), warnings_as_lines():
        config = TrainConfig.chosen(preset or ("full" if full else None), **(settings or {}))
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


app.add_typer(library_app, name="library")
for command in (add, update, forget):
    app.command()(command)


if __name__ == "__main__":
    app()
