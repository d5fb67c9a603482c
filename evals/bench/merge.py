"""Merging vs retraining. Two memories trained on disjoint invented QA sets A and B; recall on A
and on B for A alone, B alone, their TIES (rho=0.3) and linear merges, and one memory retrained
on A+B; training tokens for K = 2..10 corpora when each new corpus is merged (grows as K) vs when
everything is retrained (grows as K squared); merge time and peak memory.

    python -m evals.bench.merge [--pairs 100] [--epochs 16] [--base local]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from evals.bench.common import print_result
from evals.bench.invented import invented_pairs, write_jsonl
from evals.bench.memory_recall import memory_config, recall
from memo_graph import LocalChatModel
from memo_training.trainer import train_memory


def _train(pairs: list[dict[str, str]], out: Path, base: str, epochs: int) -> int:
    data = write_jsonl(pairs, out.with_suffix(".jsonl"))
    result = train_memory(data, out, base=base, config=memory_config(epochs), progress=False)
    return int(result.artifact.manifest["metrics"]["tokens_trained"])


def _merge(parents: list[Path], out: Path, method: str) -> dict[str, float]:
    """Merge in a child process, so that its peak memory is the merge's own."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "memo_training.cli",
            "merge",
            *map(str, parents),
            "--out",
            str(out),
            "--method",
            method,
            "--density",
            "0.3",
        ],
        check=True,
        capture_output=True,
    )
    return json.loads((out / "memo.json").read_text())["metrics"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=16)
    parser.add_argument("--base", default="local")
    args = parser.parse_args()
    set_a = invented_pairs(args.pairs, seed=21)
    set_b = invented_pairs(args.pairs, seed=22)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tokens_a = _train(set_a, work / "a", args.base, args.epochs)
        tokens_b = _train(set_b, work / "b", args.base, args.epochs)
        tokens_ab = _train(set_a + set_b, work / "ab", args.base, args.epochs)
        ties = _merge([work / "a", work / "b"], work / "ties", "ties")
        _merge([work / "a", work / "b"], work / "linear", "linear")
        scores = {}
        for name in ("a", "b", "ties", "linear", "ab"):
            model = LocalChatModel(model=str(work / name), max_tokens=32)
            scores[name] = (recall(model, set_a), recall(model, set_b))
    for name, (on_a, on_b) in scores.items():
        print(f"{name:>7}: recall on A {on_a:.2f}, on B {on_b:.2f}")
    per_corpus = (tokens_a + tokens_b) / 2
    for k in range(2, 11):
        merged_cost = k * per_corpus
        retrain_cost = per_corpus * k * (k + 1) / 2
        print(
            f"K={k:>2}: merging {merged_cost:,.0f} tokens, retraining {retrain_cost:,.0f} "
            f"({retrain_cost / merged_cost:.1f}x)"
        )
    result: dict[str, object] = {
        f"{name}_{side}": round(value, 3)
        for name, pair in scores.items()
        for side, value in zip(("on_a", "on_b"), pair, strict=True)
    }
    result.update(
        {
            # Measured for K=2: A then B (merge path) vs A then A+B (retraining path).
            "k2_merge_path_tokens": tokens_a + tokens_b,
            "k2_retrain_path_tokens": tokens_a + tokens_ab,
            "k10_merge_path_tokens": round(10 * per_corpus),
            "k10_retrain_path_tokens": round(55 * per_corpus),
            "merge_s": ties["merge_seconds"],
            "merge_peak_rss_mb": ties["peak_rss_mb"],
        }
    )
    print_result("merge", result)


if __name__ == "__main__":
    main()
