"""Batching benchmark of the embedded chat model: 8 concurrent prompts through the batching
queue vs the same 8 prompts one after another, 64 new tokens each, greedy.

    python -m evals.bench.local_throughput [--model SPEC] [--tokens 64]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from evals.bench.common import output_tokens, print_result
from memo_graph import LocalChatModel, resolve_chat_model

PROMPTS = [
    "Write a long story about a lighthouse keeper and a storm.",
    "Explain in detail how bread is made, step by step.",
    "Describe a walk through a busy market in the morning.",
    "Write a letter to a friend about a trip to the mountains.",
    "List many facts about the ocean and its animals.",
    "Tell the history of an invented city called Varnholm.",
    "Describe how a bicycle works, part by part.",
    "Write a long poem about autumn leaves and rain.",
]


async def run(spec: str, tokens: int) -> dict[str, float]:
    model = resolve_chat_model(spec, max_tokens=tokens, temperature=0.0)
    assert isinstance(model, LocalChatModel), "this benchmark measures the in-process model"
    model.invoke("warm up", max_tokens=4)

    started = time.perf_counter()
    sequential = [model.invoke(p) for p in PROMPTS]
    sequential_s = time.perf_counter() - started

    started = time.perf_counter()
    concurrent = await asyncio.gather(*(model.ainvoke(p) for p in PROMPTS))
    concurrent_s = time.perf_counter() - started

    same = sum(a.content == b.content for a, b in zip(sequential, concurrent, strict=True))
    seq_tps = output_tokens(sequential) / sequential_s
    conc_tps = output_tokens(list(concurrent)) / concurrent_s
    return {
        "sequential_tok_s": round(seq_tps, 2),
        "batched_tok_s": round(conc_tps, 2),
        "ratio": round(conc_tps / seq_tps, 2),
        "identical_replies": same,
        "tokens": output_tokens(sequential),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="local")
    parser.add_argument("--tokens", type=int, default=64)
    args = parser.parse_args()
    result = asyncio.run(run(args.model, args.tokens))
    print(f"sequential: {result['sequential_tok_s']} tokens/s")
    print(f"batched (8 concurrent): {result['batched_tok_s']} tokens/s")
    print_result("local_throughput", result)


if __name__ == "__main__":
    main()
