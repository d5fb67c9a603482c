"""`memo synthesize` end to end on a tiny random model as GENERATOR: its replies are noise, but
constrained decoding keeps them valid, so every step runs and the outputs are written."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from memo_graph.cli import app
from memo_graph.synthesis import STEPS


def synthesize(corpus: Path, out: Path, *extra: str) -> Result:
    arguments = ["synthesize", str(corpus), "--out", str(out), "--chunk-unit", "words"]
    arguments += ["--chunk-size", "30", "--chunk-overlap", "5"]
    return CliRunner().invoke(app, [*arguments, *extra])


def test_synthesize_writes_dataset_jsonl_and_report(tiny_llama_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "curie.txt").write_text("Marie Curie was born in Warsaw in 1867.")
    (corpus / "empty.txt").write_text("")
    out = tmp_path / "out"
    steps = "extraction,consolidation,cross_document"
    result = synthesize(
        corpus,
        out,
        "--generator",
        f"local:{tiny_llama_dir}",
        "--max-tokens",
        "48",
        "--steps",
        steps,
    )
    report = json.loads((out / "report.json").read_text())
    assert report["ingestion"] == {
        "documents": 1,
        "chunks": 1,
        "skipped": {"empty file": 1},
        "skipped_items": [
            {"reason": "empty file", "where": str(corpus / "empty.txt"), "detail": ""}
        ],
        "chunking": {"size": 30, "overlap": 5, "unit": "words"},
        "planned_calls": {"extraction": 2, "consolidation": 1, "cross_document": 0},
    }
    pairs = (out / "qa.jsonl").read_text().splitlines()
    # No pair at all is reported as a failure, with the drops that explain it.
    assert result.exit_code == (0 if pairs else 1), result.output
    assert report["extraction"]["generator_calls"] >= 2
    assert [step for step in STEPS if report[step]["ran"]] == steps.split(",")
    assert (out / "dataset" / "dataset_dict.json").exists()
    assert "1 documents, 1 chunks; skipped: 1 empty file" in result.output
    assert "turned off" in result.output


def test_synthesize_refuses_unknown_steps(tmp_path: Path) -> None:
    result = synthesize(tmp_path, tmp_path / "out", "--steps", "extraction,summaries")
    assert result.exit_code == 2
    assert "unknown steps ['summaries']" in " ".join(result.output.split())


def test_synthesize_says_what_an_empty_corpus_lacks(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    result = synthesize(tmp_path, tmp_path / "out", "--generator", "local")
    assert result.exit_code == 2
    assert "holds no document (1 empty file)" in " ".join(result.output.split())
