"""Can a trained MEMORY recall what it was taught? 200 QA pairs about invented people (no base
model can know them): exact match on the training questions after SFT vs the untrained base.

    python -m evals.bench.memory_recall [--pairs 200] [--epochs 16] [--base local]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from evals.bench.common import print_result
from evals.bench.invented import invented_pairs, write_jsonl
from evals.metrics import exact_match
from memo_graph import LocalChatModel
from memo_graph.models.weights import local_source
from memo_training.config import TrainConfig
from memo_training.trainer import train_memory


def recall(model: LocalChatModel, pairs: list[dict[str, str]], show: int = 0) -> float:
    """Share of questions answered with exactly the taught answer (normalised); prints up to
    ``show`` misses."""
    replies = model.batch([p["question"] for p in pairs], config={"max_concurrency": 32})
    hits = [exact_match(str(r.content), p["answer"]) for r, p in zip(replies, pairs, strict=True)]
    misses = [(p, r.content) for p, r, hit in zip(pairs, replies, hits, strict=True) if not hit]
    for pair, reply in misses[:show]:
        print(f"  miss: {pair['question']!r} -> {reply!r} (taught {pair['answer']!r})")
    return sum(hits) / len(pairs)


def memory_config(epochs: int) -> TrainConfig:
    """Settings that make a 135M model memorise short facts in a few minutes on a CPU."""
    return TrainConfig(
        epochs=epochs,
        batch_size=8,
        learning_rate=1e-3,
        lora_r=16,
        lora_alpha=32,
        lora_dropout=0.0,
        max_length=128,
        warmup_ratio=0.05,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=16)
    parser.add_argument("--base", default="local")
    parser.add_argument("--out", type=Path, default=None, help="Keep the artifact here.")
    args = parser.parse_args()
    pairs = invented_pairs(args.pairs, seed=5)
    base_path = local_source(args.base)
    base_em = recall(LocalChatModel(model=base_path, max_tokens=32), pairs)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "memory"
        data = write_jsonl(pairs, Path(tmp) / "qa.jsonl")
        started = time.perf_counter()
        train_memory(data, out, base=args.base, config=memory_config(args.epochs))
        train_s = time.perf_counter() - started
        trained_em = recall(LocalChatModel(model=str(out), max_tokens=32), pairs, show=8)
    print_result(
        "memory_recall",
        {
            "trained_em": round(trained_em, 3),
            "base_em": round(base_em, 3),
            "pairs": len(pairs),
            "epochs": args.epochs,
            "train_s": round(train_s, 1),
            "target_met": trained_em >= 0.9 and base_em <= 0.1,
        },
    )


if __name__ == "__main__":
    main()
