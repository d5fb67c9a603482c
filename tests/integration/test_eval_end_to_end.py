"""`memo eval` end to end on our invented benchmark with the embedded model in every role
(GENERATOR, MEMORY, EXECUTIVE, judge): every system and every metric, at a small limit."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

SYSTEMS = ["memo", "bm25", "dense", "closed_book", "oracle"]


@pytest.mark.heavy(minutes=4)
def test_memo_eval_runs_every_system_and_metric(tmp_path) -> None:
    out = tmp_path / "report"
    command = [
        sys.executable, "-m", "evals.cli", "eval", "--benchmark", "invented",
        "--limit", "2", "--out", str(out), "--systems", ",".join(SYSTEMS),
        "--steps", "extraction", "--generator-max-tokens", "256",
        "--generator-temperature", "0.3", "--epochs", "1",
        "--identification-turns", "1", "--seeking-turns", "1",
        "--max-tokens", "96", "--concurrency", "2",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    summary = {row["system"]: row for row in csv.DictReader((out / "summary.csv").open())}
    assert list(summary) == SYSTEMS
    for system, row in summary.items():
        assert row["questions"] == "2"
        for metric in ("exact_match", "f1", "judge_correct"):
            assert 0.0 <= float(row[metric]) <= 1.0, (system, metric, row)
        assert float(row["executive_input_tokens"]) > 0, system
        assert float(row["wall_s"]) > 0, system
    for rag in ("bm25", "dense"):
        assert 0.0 <= float(summary[rag]["recall_at_k"]) <= 1.0
    assert summary["closed_book"]["recall_at_k"] == ""
    assert float(summary["memo"]["memory_calls"]) >= 1
    assert float(summary["closed_book"]["memory_calls"]) == 0

    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(rows) == 2 * len(SYSTEMS)
    assert (out / "accuracy_vs_cost.png").stat().st_size > 0
    assert "| memo |" in (out / "report.md").read_text()
    # the MEMORY was trained on the synthesised pairs, and is reused by the next run
    assert len(list((out / "work" / "corpus" / "memo").glob("*/memory/memo.json"))) == 1
