"""A run of the synthesis graph with one progress bar per step, fed by its custom stream
events (``{"step", "total"}`` when a step plans its work, ``{"step", "advance"}`` per item)."""

from __future__ import annotations

from typing import Any, cast

from langgraph.graph.state import CompiledStateGraph
from rich.console import Console
from rich.progress import Progress

from memo_graph.synthesis.state import (
    SynthesisContext,
    SynthesisInput,
    SynthesisOutput,
    SynthesisState,
)

SynthesisGraph = CompiledStateGraph[
    SynthesisState, SynthesisContext, SynthesisInput, SynthesisOutput
]


async def synthesize_with_progress(
    graph: SynthesisGraph,
    inputs: SynthesisInput,
    context: SynthesisContext,
    console: Console | None = None,
) -> dict[str, Any]:
    """The graph's final state."""
    final: dict[str, Any] = {}
    with Progress(console=console or Console()) as progress:
        bars: dict[str, Any] = {}
        async for _, mode, chunk in graph.astream(
            inputs, context=context, stream_mode=["custom", "values"], subgraphs=True
        ):
            event = cast(dict[str, Any], chunk)
            if mode == "values":
                final = event
            elif "total" in event and event["total"]:
                bars[event["step"]] = progress.add_task(event["step"], total=event["total"])
            elif "advance" in event and event["step"] in bars:
                progress.advance(bars[event["step"]])
    return final
