"""The synthesis graph run with the scripted GENERATOR; ``python -m tests.synthesis_run SOURCE
OUT DELAY`` runs it in a process of its own (the resume test kills that process)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from langchain_core.messages import BaseMessage

from memo_graph.synthesis import SynthesisContext, build_synthesis
from tests.scripted import ScriptedChatModel, synthesis_reply

CONTEXT = SynthesisContext(chunk_unit="words", chunk_size=40, chunk_overlap=5, concurrency=2)


def scripted_generator(delay: float = 0.0) -> ScriptedChatModel:
    def reply(messages: list[BaseMessage]) -> str:
        time.sleep(delay)
        return json.dumps(synthesis_reply(messages))

    return ScriptedChatModel(reply=reply)


def run(
    source: str, out: str, context: SynthesisContext = CONTEXT, delay: float = 0.0
) -> tuple[dict[str, Any], int]:
    """The graph's output and how many GENERATOR calls the run made."""
    model = scripted_generator(delay)
    graph = build_synthesis(model).compile()
    result = asyncio.run(graph.ainvoke({"source": source, "out": out}, context=context))
    return result, model.calls


if __name__ == "__main__":
    source, out, delay = sys.argv[1:]
    result, calls = run(source, out, delay=float(delay))
    print(json.dumps({"calls": calls, "pairs": result["pairs"]}))
