"""Per-query EXECUTIVE tokens and latency against corpus size, for MEMO, BM25 RAG and dense RAG,
on the first 100, 1,000 and all 6,119 passages of the shared 2Wiki corpus (embedded model as
EXECUTIVE and, for MEMO, as MEMORY, greedy). The slope of each system's tokens and seconds per
query against corpus size (per 1,000 passages) is printed; MEMO's should stay near zero, since
its EXECUTIVE sees only the MEMORY's short replies, never the corpus.

Training a MEMORY on 6,119 passages does not fit this machine's time, so MEMO asks the
``--memory`` it is given (default: the untrained base) at every size: what this measures is
the EXECUTIVE's cost, which the protocol bounds whatever the MEMORY knows. Pass one artifact per
size with ``--memory-per-size 100=DIR,1000=DIR,6119=DIR`` to measure trained memories.

    python -m evals.bench.scaling [--sizes 100,1000,6119] [--queries 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from evals.bench.common import print_result
from evals.benchmarks import Document, Question
from evals.systems import MemoSettings, MemoSystem, System, bm25_rag, dense_rag
from memo_graph.files import write_text_atomically
from memo_graph.models.spec import resolve_chat_model

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "2wiki_corpus.json"
GREEDY = {
    name: 0.0
    for name in (
        "grounding_temperature", "identification_temperature", "seeking_temperature",
        "final_temperature", "memory_grounding_temperature",
        "memory_identification_temperature", "memory_seeking_temperature",
    )
}  # fmt: skip


def load_passages() -> list[Document]:
    records = json.loads(CORPUS.read_text())
    return [Document(f"p{i}", r["title"], r["text"]) for i, r in enumerate(records)]


def queries(passages: list[Document], count: int) -> list[Question]:
    """Questions about the first passages, which every corpus size contains."""
    return [
        Question(f"q{i}", f"What is known about {p.title}?", (p.title,), (p.id,))
        for i, p in enumerate(passages[:count])
    ]


def slope(sizes: list[int], values: list[float]) -> float:
    """Least-squares change of ``values`` per 1,000 passages."""
    xs = [s / 1000 for s in sizes]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(values)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, values, strict=True)) / spread


async def measure(system: System, documents: list[Document], asked: list[Question], work: Path):
    await system.prepare(documents, work)
    tokens, seconds = [], []
    for question in asked:
        prediction = await system.answer(question)
        tokens.append(prediction.executive_input_tokens + prediction.executive_output_tokens)
        seconds.append(prediction.wall_s)
    return statistics.fmean(tokens), statistics.fmean(seconds)


def memory_for(size: int, args: argparse.Namespace) -> str:
    for item in filter(None, args.memory_per_size.split(",")):
        key, _, path = item.partition("=")
        if int(key) == size:
            return f"local:{path}"
    return args.memory


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    passages = load_passages()
    sizes = [min(int(s), len(passages)) for s in args.sizes.split(",")]
    asked = queries(passages, args.queries)
    executive = resolve_chat_model(args.executive, max_tokens=512, temperature=0.0)
    table: dict[str, dict[int, tuple[float, float]]] = {"memo": {}, "bm25": {}, "dense": {}}
    for size in sizes:
        documents = passages[:size]
        memo = MemoSystem(
            executive,
            MemoSettings(
                memory=memory_for(size, args),
                protocol={
                    "identification_turns": args.identification_turns,
                    "seeking_turns": args.seeking_turns,
                    **GREEDY,
                },
            ),
        )
        for name, system in (("memo", memo), ("bm25", bm25_rag(executive)),
                             ("dense", dense_rag(executive))):  # fmt: skip
            tokens, seconds = await measure(system, documents, asked, work / f"{name}-{size}")
            table[name][size] = (tokens, seconds)
            print(f"{size:>5} passages  {name:<5}  {tokens:8.0f} tok  {seconds:6.1f} s per query")
    lines = ["| system | " + " | ".join(f"{s} passages" for s in sizes) + " |",
             "|" + " --- |" * (len(sizes) + 1)]  # fmt: skip
    result: dict[str, Any] = {"sizes": "/".join(map(str, sizes)), "queries": args.queries}
    for name, by_size in table.items():
        tokens = [by_size[s][0] for s in sizes]
        seconds = [by_size[s][1] for s in sizes]
        lines.append(
            f"| {name} | "
            + " | ".join(f"{t:.0f} tok, {s:.1f} s" for t, s in zip(tokens, seconds, strict=True))
            + " |"
        )
        result[f"{name}_tokens"] = "/".join(f"{t:.0f}" for t in tokens)
        result[f"{name}_token_slope_per_1k"] = round(slope(sizes, tokens), 2)
        result[f"{name}_seconds_slope_per_1k"] = round(slope(sizes, seconds), 3)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        write_text_atomically(args.out / "scaling.md", "\n".join(lines) + "\n")
        _plot(table, sizes, args.out / "cost_vs_corpus_size.png")
    return result


def _plot(table: dict[str, dict[int, tuple[float, float]]], sizes: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for name, by_size in table.items():
        axes.plot(sizes, [by_size[s][0] for s in sizes], marker="o", label=name)
    axes.set_xscale("log")
    axes.set_xlabel("passages in the corpus")
    axes.set_ylabel("executive tokens per query")
    axes.set_title("Cost vs corpus size")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,1000,6119")
    parser.add_argument("--queries", type=int, default=3)
    parser.add_argument("--executive", default="local")
    parser.add_argument("--memory", default="local")
    parser.add_argument("--memory-per-size", default="")
    parser.add_argument("--identification-turns", type=int, default=2)
    parser.add_argument("--seeking-turns", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="Write scaling.md and a plot here.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        result = asyncio.run(run(args, Path(work)))
    print_result("scaling", result)


if __name__ == "__main__":
    main()
