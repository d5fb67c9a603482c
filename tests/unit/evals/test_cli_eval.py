"""`memo eval` on a tiny random model, and its errors for bad input."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from evals.cli import app


def test_eval_writes_the_report_with_a_tiny_executive(tiny_llama_dir: Path, tmp_path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "--benchmark",
            "invented",
            "--limit",
            "2",
            "--out",
            str(tmp_path),
            "--systems",
            "closed_book,bm25",
            "--executive",
            f"local:{tiny_llama_dir}",
            "--judge",
            "none",
        ],  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "summary.csv").open()))
    assert [r["system"] for r in rows] == ["closed_book", "bm25"]
    assert rows[0]["judge_correct"] == ""  # no judge: EM and F1 only
    assert "closed_book" in result.output and "summary_csv" in result.output


def test_eval_refuses_an_unknown_system(tmp_path) -> None:
    result = CliRunner().invoke(
        app, ["eval", "--benchmark", "invented", "--out", str(tmp_path), "--systems", "grep"]
    )
    assert result.exit_code == 2
    assert "choose among" in result.output


def test_eval_says_which_data_a_benchmark_needs(tmp_path) -> None:
    result = CliRunner().invoke(app, ["eval", "--benchmark", "musique", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "--data is required" in result.output
