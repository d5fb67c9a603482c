"""The synthesis pipeline with the embedded GENERATOR on 20 passages of the shared 2Wiki corpus,
chosen in pairs where one passage names the other's subject (so that documents share an
entity).

1. Extraction throughput: the first ``--timed-chunks`` chunks, one GENERATOR call at a time
   (``concurrency=1``) vs ``--concurrency`` calls at once, each into a fresh call cache.
   ``ratio`` = chunks per minute at that concurrency / chunks per minute one at a time.
2. The whole pipeline on all 20 passages (reusing the concurrent run's cache): generator calls
   per chunk, QA pairs per step, the share of answers whose content words all appear in their
   source chunks, and the number of cross-document pairs.

    python -m evals.bench.synthesis [--passages 20] [--timed-chunks 4] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from evals.bench.common import print_result
from memo_graph.synthesis import STEPS, SynthesisContext, graph
from memo_graph.synthesis.output import CHUNKS_FILE

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "2wiki_corpus.json"
_WORD = re.compile(r"[a-z0-9]+")
_FUNCTION_WORDS = {
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "by", "with", "from", "and", "or",
    "but", "is", "was", "were", "are", "be", "been", "being", "as", "that", "this", "these",
    "those", "it", "its", "he", "she", "his", "her", "they", "their", "them", "who", "whom",
    "whose", "which", "what", "when", "where", "why", "how", "did", "does", "do", "has", "had",
    "have", "not", "no", "yes", "also", "than", "then", "there", "into",
}  # fmt: skip


def linked_passages(count: int) -> list[dict[str, str]]:
    """``count`` passages, in pairs (A, B) where A's text names B's title; deterministic."""
    records = json.loads(CORPUS.read_text())
    by_title = {r["title"]: r for r in records if len(r["title"]) > 4}
    chosen: dict[str, dict[str, str]] = {}
    for record in records:
        if len(chosen) >= count:
            break
        if record["title"] in chosen:
            continue
        for title, other in by_title.items():
            if title != record["title"] and title not in chosen and title in record["text"]:
                chosen[record["title"]] = record
                chosen[title] = other
                break
    if len(chosen) < count:
        raise SystemExit(f"only {len(chosen)} linked passages in {CORPUS}")
    return [{"title": r["title"], "text": r["text"]} for r in list(chosen.values())[:count]]


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _FUNCTION_WORDS and len(w) > 2}


def grounding(pairs: list[dict[str, Any]], chunk_text: dict[str, str]) -> tuple[float, float]:
    """(share of answers all of whose content words are in their source chunks, mean share of
    content words found)."""
    whole, shares = 0, []
    for pair in pairs:
        words = content_words(pair["answer"])
        source = content_words(" ".join(chunk_text.get(c, "") for c in pair["chunk_ids"]))
        found = len(words & source) / len(words) if words else 1.0
        whole += found == 1.0
        shares.append(found)
    return whole / max(len(pairs), 1), sum(shares) / max(len(shares), 1)


async def synthesize(source: Path, out: Path, context: SynthesisContext) -> dict[str, Any]:
    started = time.perf_counter()
    result = await graph.ainvoke({"source": str(source), "out": str(out)}, context=context)
    return {**result, "seconds": time.perf_counter() - started}


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    passages = linked_passages(args.passages)
    corpus = work / "corpus.json"
    corpus.write_text(json.dumps(passages))
    timed = work / "timed.json"
    timed.write_text(json.dumps(passages[: args.timed_chunks]))  # a passage is one chunk
    settings: dict[str, Any] = {
        "temperature": args.temperature,
        "max_tokens": args.max_tokens,
        "chunk_size": 400,
        "chunk_overlap": 40,
    }
    extraction = {**settings, "steps": ["extraction"]}

    one = await synthesize(timed, work / "one", SynthesisContext(concurrency=1, **extraction))
    many = await synthesize(
        timed, work / "full", SynthesisContext(concurrency=args.concurrency, **extraction)
    )
    chunks = one["report"]["ingestion"]["chunks"]
    per_minute_one = 60 * chunks / one["seconds"]
    per_minute_many = 60 * chunks / many["seconds"]
    print(
        f"extraction of {chunks} chunks: one call at a time {one['seconds']:.0f}s, "
        f"{args.concurrency} at once {many['seconds']:.0f}s"
    )

    full = await synthesize(
        corpus, work / "full", SynthesisContext(concurrency=args.concurrency, **settings)
    )
    report = full["report"]
    calls = sum(report[s]["generator_calls"] + report[s]["cached_calls"] for s in STEPS)
    rows = [json.loads(line) for line in Path(full["jsonl"]).read_text().splitlines()]
    chunks = [json.loads(line) for line in (work / "full" / CHUNKS_FILE).read_text().splitlines()]
    chunk_text = {c["id"]: c["text"] for c in chunks}
    whole, mean_share = grounding(rows, chunk_text)
    for step in STEPS:
        print(
            f"  {step}: {report[step]['items_in']} in, {report[step]['items_out']} out, "
            f"drops {report[step]['drops']}"
        )
    for row in rows[:: max(len(rows) // 8, 1)]:
        print(f"  [{row['step']}] {row['question'][:90]!r} -> {row['answer'][:60]!r}")
    return {
        "chunks_per_min_one": round(per_minute_one, 2),
        "chunks_per_min_concurrent": round(per_minute_many, 2),
        "ratio": round(per_minute_many / per_minute_one, 2),
        "documents": report["ingestion"]["documents"],
        "chunks": report["ingestion"]["chunks"],
        "calls_per_chunk": round(calls / report["ingestion"]["chunks"], 2),
        **{f"pairs_{s}": report[s]["items_out"] for s in STEPS},
        "pairs_written": full["pairs"],
        "grounded_answers": round(whole, 3),
        "content_word_share": round(mean_share, 3),
        "cross_document_pairs": report["cross_document"]["items_out"],
        "full_run_s": round(full["seconds"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passages", type=int, default=20)
    parser.add_argument("--timed-chunks", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=320)
    parser.add_argument(
        "--temperature",
        type=float,
        default=0.3,
        help="The paper's 1.1 suits large GENERATORs; a 135M one drifts off the text at it.",
    )
    parser.add_argument("--keep", type=Path, help="Keep the outputs in this directory.")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        result = asyncio.run(run(args, args.keep))
    else:
        with tempfile.TemporaryDirectory() as work:
            result = asyncio.run(run(args, Path(work)))
    print_result(
        "synthesis",
        {**result, "target_met": result["ratio"] > 1 and result["cross_document_pairs"] >= 1},
    )


if __name__ == "__main__":
    main()
