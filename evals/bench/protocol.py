"""The protocol's cost with the embedded model as both EXECUTIVE and MEMORY.

1. Grounding fan-out: 4 sub-questions per query sent to the MEMORY the way the grounding node
   sends them (one batched call) vs one at a time (``memory_concurrency=1``); the same greedy
   replies either way. ``ratio`` = one-at-a-time seconds / batched seconds (target >= 1.8).
2. Whole runs of the protocol graph (greedy executive, small budgets): per-query executive
   tokens, executive calls, memory calls and wall time.

    python -m evals.bench.protocol [--queries 3] [--identification-turns 2] [--seeking-turns 2]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from evals.bench.common import print_result
from memo_graph.memory import MemoryBackend
from memo_graph.protocol import ProtocolContext, graph

# (query, four grounding sub-questions an executive could write for it)
QUERIES: list[tuple[str, list[str]]] = [
    (
        "Which river flows through the capital of the country whose flag is red and white "
        "with a maple leaf?",
        [
            "Which country has a red and white flag with a maple leaf?",
            "What is the capital of Canada?",
            "Which river flows through Ottawa?",
            "What is the name of the river in Canada's capital city?",
        ],
    ),
    (
        "Who wrote the play in which a Danish prince avenges his father?",
        [
            "Which play is about a Danish prince who avenges his father?",
            "Who wrote Hamlet?",
            "Which playwright wrote about the prince of Denmark?",
            "In which century was Hamlet written?",
        ],
    ),
    (
        "What is the largest planet of the solar system named after?",
        [
            "What is the largest planet in the solar system?",
            "Who is the planet Jupiter named after?",
            "Which Roman god gave his name to Jupiter?",
            "What was Jupiter the king of in Roman myth?",
        ],
    ),
]
GREEDY: dict[str, Any] = {
    "grounding_temperature": 0.0,
    "identification_temperature": 0.0,
    "seeking_temperature": 0.0,
    "final_temperature": 0.0,
    "memory_grounding_temperature": 0.0,
    "memory_identification_temperature": 0.0,
    "memory_seeking_temperature": 0.0,
}


async def grounding_fan_out(memory: MemoryBackend, queries: int) -> dict[str, Any]:
    batched_s = serial_s = 0.0
    identical = 0
    for _, sub_questions in QUERIES[:queries]:
        started = time.perf_counter()
        serial = await memory.aanswer(sub_questions, temperature=0.0, max_concurrency=1)
        serial_s += time.perf_counter() - started
        started = time.perf_counter()
        batched = await memory.aanswer(sub_questions, temperature=0.0)
        batched_s += time.perf_counter() - started
        identical += sum(a.answer == b.answer for a, b in zip(serial, batched, strict=True))
    return {
        "grounding_batched_s": round(batched_s, 2),
        "grounding_serial_s": round(serial_s, 2),
        "ratio": round(serial_s / batched_s, 2),
        "identical_replies": f"{identical}/{4 * queries}",
    }


async def whole_runs(context: ProtocolContext, queries: int) -> dict[str, Any]:
    costs = []
    for query, _ in QUERIES[:queries]:
        out = await graph.ainvoke(
            {"query": query}, {"recursion_limit": context.recursion_limit()}, context=context
        )
        print(f"  {query[:60]}... -> {out['answer'][:80]!r}")
        costs.append(out["cost"])

    def mean(key: str) -> float:
        return round(statistics.mean(c.get(key, 0) for c in costs), 1)

    return {
        "exec_tokens_in_per_query": mean("executive_input_tokens"),
        "exec_tokens_out_per_query": mean("executive_output_tokens"),
        "exec_calls_per_query": mean("executive_calls"),
        "memory_calls_per_query": mean("memory_calls"),
        "wall_s_per_query": mean("wall_s"),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    memory = MemoryBackend.from_spec(args.memory)
    await memory.aanswer(["warm up"], temperature=0.0)
    fan_out = await grounding_fan_out(memory, args.queries)
    print(
        f"grounding, 4 sub-questions x {args.queries}: one at a time "
        f"{fan_out['grounding_serial_s']}s, batched {fan_out['grounding_batched_s']}s"
    )
    context = ProtocolContext(
        executive=args.executive,
        memory=args.memory,
        identification_turns=args.identification_turns,
        seeking_turns=args.seeking_turns,
        **GREEDY,
    )
    return {**fan_out, **await whole_runs(context, args.queries)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=3, choices=range(1, len(QUERIES) + 1))
    parser.add_argument("--executive", default="local")
    parser.add_argument("--memory", default="local")
    parser.add_argument("--identification-turns", type=int, default=2)
    parser.add_argument("--seeking-turns", type=int, default=2)
    result = asyncio.run(run(parser.parse_args()))
    print_result("protocol", {**result, "target_met": result["ratio"] >= 1.8})


if __name__ == "__main__":
    main()
