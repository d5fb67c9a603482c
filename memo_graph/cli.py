"""The ``memo`` command line."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console

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
