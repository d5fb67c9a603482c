"""Batching benchmarks of the embedded chat model, greedy.

1. 8 concurrent prompts through the batching queue vs the same 8 prompts one after another,
   64 new tokens each: tokens/s of both, ``ratio``.
2. Staggered arrivals, as concurrent protocol runs make them: the same 8 prompts arrive 0.5 s
   apart with budgets of 16 to 96 tokens. Mean latency (arrival to reply) with continuous
   batching (a request joins the running batch at the next step) vs static batching (it waits
   for the running batch to end): ``continuous_ratio`` = static / continuous.

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

STAGGER_S = 0.5
STAGGERED_BUDGETS = [96, 16, 64, 32, 80, 24, 48, 16]


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

    static_s, static_replies = await staggered(model, continuous=False)
    continuous_s, continuous_replies = await staggered(model, continuous=True)
    return {
        "sequential_tok_s": round(seq_tps, 2),
        "batched_tok_s": round(conc_tps, 2),
        "ratio": round(conc_tps / seq_tps, 2),
        "identical_replies": same,
        "tokens": output_tokens(sequential),
        "static_latency_s": round(static_s, 2),
        "continuous_latency_s": round(continuous_s, 2),
        "continuous_ratio": round(static_s / continuous_s, 2),
        "identical_staggered_replies": sum(
            a == b for a, b in zip(static_replies, continuous_replies, strict=True)
        ),
    }


async def staggered(model: LocalChatModel, continuous: bool) -> tuple[float, list[str]]:
    """Mean seconds from each prompt's arrival to its reply, and the replies."""
    model.engine.continuous_batching = continuous

    async def ask(index: int) -> tuple[float, str]:
        await asyncio.sleep(STAGGER_S * index)
        started = time.perf_counter()
        reply = await model.ainvoke(PROMPTS[index], max_tokens=STAGGERED_BUDGETS[index])
        return time.perf_counter() - started, str(reply.content)

    try:
        timed = await asyncio.gather(*(ask(i) for i in range(len(PROMPTS))))
    finally:
        model.engine.continuous_batching = True
    return sum(t for t, _ in timed) / len(timed), [text for _, text in timed]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="local")
    parser.add_argument("--tokens", type=int, default=64)
    args = parser.parse_args()
    result = asyncio.run(run(args.model, args.tokens))
    print(f"sequential: {result['sequential_tok_s']} tokens/s")
    print(f"batched (8 concurrent): {result['batched_tok_s']} tokens/s")
    print(
        f"staggered arrivals, mean latency: static {result['static_latency_s']} s, "
        f"continuous {result['continuous_latency_s']} s"
    )
    print_result("local_throughput", result)


if __name__ == "__main__":
    main()
