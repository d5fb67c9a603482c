"""Accuracy on the invented corpus, the embedded model in every role: what MEMO, the MEMORY
alone and BM25 RAG (same 135M reader) answer, with the MEMORY trained on the reference pairs
(what a capable GENERATOR would write) and on the embedded GENERATOR's own pairs; and how those
pairs score against the reference (coverage, groundedness, well-formedness).

    python -m evals.bench.accuracy [--questions N] [--skip-ref] [--skip-gen] [--heldout]
                                   [--no-rules] [--budgets paper] [--work DIR]

Each half is a ``memo demo`` run (demo budgets: 2 sub-questions, 1 + 1 turns; ``--budgets
paper``: 4 sub-questions, 7 + 8 turns), so ``--work`` reuses finished work. ``--no-rules``
turns off the graph's answer rules (support check, early end on a confirmed direct reply): the
protocol as it was before them, for comparison."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from evals.bench.common import print_result
from evals.demo import DemoSettings, run_demo
from evals.scoring import summarise
from evals.synthesis_score import score_synthesis_dir
from memo_graph.protocol import ProtocolContext

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "invented" / "reference_qa.jsonl"
HELDOUT = Path(__file__).resolve().parents[1] / "data" / "heldout"
"""8 other documents and 24 questions, written by a helper that never saw our rules: measured
on, never tuned on."""
SYSTEMS = ("memory", "memo", "bm25")


def _means(rows: list[dict[str, Any]], system: str, kind: str | None = None) -> dict[str, Any]:
    chosen = [r for r in rows if r["system"] == system and (kind is None or r["kind"] == kind)]
    return summarise(chosen)


async def _half(
    work: Path,
    questions: int | None,
    pairs: Path | None,
    rules: bool,
    budgets: str,
    data: Path | None = None,
) -> Any:
    protocol = {} if rules else {"check_support": False, "end_on_confirmed_reply": False}
    settings = DemoSettings(
        out=work, data=data, questions=questions, pairs=pairs, protocol=protocol, reference=False
    )
    if budgets == "paper":
        paper = ProtocolContext()
        settings.max_subquestions = paper.max_subquestions
        settings.identification_turns = paper.identification_turns
        settings.seeking_turns = paper.seeking_turns
    return await run_demo(settings, progress=print)


def _report(label: str, rows: list[dict[str, Any]]) -> dict[str, float]:
    kinds = sorted({r["kind"] for r in rows})
    found: dict[str, float] = {}
    for system in SYSTEMS:
        overall = _means(rows, system)
        by_kind = {k: _means(rows, system, k) for k in kinds}
        print(
            f"{label:>4} {system:>6}: F1 {overall['f1']:.3f} contained {overall['contained']:.3f} "
            + " ".join(f"{k} {v['f1']:.2f}/{v['contained']:.2f}" for k, v in by_kind.items())
        )
        if system == "memo":
            decided = Counter(r.get("decided_by") or "-" for r in rows if r["system"] == system)
            for rule, count in decided.most_common():
                print(f"{label:>4}   memo decided by {rule}: {count}")
        found[f"{system}_f1"] = overall["f1"]
        found[f"{system}_contain"] = overall["contained"]
        for kind, value in by_kind.items():
            found[f"{system}_{kind.replace('-', '_')}_f1"] = value["f1"]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=None, help="First N of the 20.")
    parser.add_argument("--skip-gen", action="store_true", help="Reference pairs only.")
    parser.add_argument("--no-rules", action="store_true", help="Protocol without answer rules.")
    parser.add_argument(
        "--budgets", choices=("demo", "paper"), default="demo", help="The protocol's budgets."
    )
    parser.add_argument("--work", type=Path, default=None, help="Reuse this directory.")
    parser.add_argument(
        "--heldout",
        action="store_true",
        help="Also the embedded GENERATOR's half on evals/data/heldout (heldout_* keys).",
    )
    parser.add_argument("--skip-ref", action="store_true", help="No reference half.")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="memo-accuracy-"))
    started = time.perf_counter()
    result: dict[str, Any] = {}
    if not args.skip_ref:
        ref = asyncio.run(
            _half(work / "ref", args.questions, REFERENCE, not args.no_rules, args.budgets)
        )
        found = {f"ref_{k}": v for k, v in _report("ref", ref.evaluation.rows).items()}
        for key in ("memory_f1", "memo_f1", "memory_contain", "memo_contain"):
            result[f"ref_{key}"] = found[f"ref_{key}"]
        for kind in ("reversed", "cross_document"):
            print(
                f"ref {kind}: MEMO F1 {found.get(f'ref_memo_{kind}_f1')} vs BM25 "
                f"{found.get(f'ref_bm25_{kind}_f1')}"
            )
        result.update(bm25_f1=found["ref_bm25_f1"], bm25_contain=found["ref_bm25_contain"])
    if not args.skip_gen:
        rules = not args.no_rules
        gen = asyncio.run(_half(work / "gen", args.questions, None, rules, args.budgets))
        gen_found = _report("gen", gen.evaluation.rows)
        synthesis = next(p.parent for p in (work / "gen").rglob("qa.jsonl"))
        scores = score_synthesis_dir(synthesis, REFERENCE)
        for step, value in scores.items():
            print(f"synthesis {step}: {value}")
        result.update(
            gen_memory_f1=gen_found["memory_f1"],
            gen_memo_f1=gen_found["memo_f1"],
            gen_memory_contain=gen_found["memory_contain"],
            gen_memo_contain=gen_found["memo_contain"],
            coverage=scores["all"]["coverage"],
            grounded=scores["all"]["grounded"],
        )
        result.setdefault("bm25_f1", gen_found["bm25_f1"])
        result.setdefault("bm25_contain", gen_found["bm25_contain"])
    if args.heldout:
        heldout = asyncio.run(
            _half(work / "heldout", None, None, not args.no_rules, args.budgets, HELDOUT)
        )
        held = _report("heldout", heldout.evaluation.rows)
        for key in ("memory_f1", "memo_f1", "memory_contain", "memo_contain"):
            result[f"heldout_{key}"] = held[key]
        result.update(heldout_bm25_f1=held["bm25_f1"], heldout_bm25_contain=held["bm25_contain"])
    result.update(
        rules=not args.no_rules,
        budgets=args.budgets,
        seconds=round(time.perf_counter() - started),
    )
    print_result("accuracy", result)


if __name__ == "__main__":
    main()
