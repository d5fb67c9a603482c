"""`memo demo`: the whole flow with a deterministic scripted GENERATOR and a tiny random model
as EXECUTIVE and MEMORY base; the four systems in the tables; a second run reuses every
finished stage; the CLI's errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evals.cli import app
from evals.demo import DEMO_SYSTEMS, KINDS, REFERENCE_SYSTEMS, DemoSettings, run_demo
from evals.pipeline import Models
from tests.paths import REPO
from tests.synthesis_run import scripted_generator


def _records(out: Path) -> dict[str, int]:
    return {
        path.name: len(path.read_text().splitlines())
        for path in sorted((out / "records").rglob("*.jsonl"))
    }


async def test_demo_runs_every_stage_then_reuses_them(
    tiny_llama_dir: Path,
    tmp_path: Path,
    recwarn: pytest.WarningsRecorder,
    capfd: pytest.CaptureFixture[str],
) -> None:
    tiny = f"local:{tiny_llama_dir}"
    settings = DemoSettings(
        out=tmp_path / "demo",
        executive=tiny,
        base=tiny,
        questions=3,
        epochs=1,
        concurrency=3,
        reference=False,
    )
    generator = scripted_generator()
    first = await run_demo(settings, Models(generator=generator), progress=None)
    assert [row["system"] for row in first.table] == list(DEMO_SYSTEMS.values())
    for row in first.table:
        assert 0.0 <= row["EM"] <= 1.0 and 0.0 <= row["F1"] <= 1.0
    by_system = {row["system"]: row for row in first.table}
    assert by_system["MEMORY alone"]["memory calls"] == 1.0
    assert by_system["MEMORY alone"]["executive tokens"] == 0
    assert by_system["MEMO (protocol + MEMORY)"]["memory calls"] >= 1
    assert by_system["base model, closed book"]["memory calls"] == 0
    assert [set(row) for row in first.by_kind] == [{"system", *KINDS}] * 4
    assert first.files["markdown"].exists()
    # our own output only: no library's deprecation notices, no langsmith progress counter
    noisy = [
        w for w in recwarn if issubclass(w.category, FutureWarning) or "beta" in str(w.message)
    ]
    assert noisy == [], [str(w.message) for w in noisy]
    assert re.search(r"\b\d+it \[", capfd.readouterr().err) is None  # langsmith's bare counter

    (home,) = (settings.out / "work" / "corpus" / "memo").iterdir()
    manifest = home / "memory" / "memo.json"
    trained = manifest.stat().st_mtime_ns
    records = _records(settings.out)
    assert records == {f"{name}.jsonl": 3 for name in ("closed_book", "memory", "memo", "bm25")}
    calls = generator.calls

    again = await run_demo(settings, Models(generator=generator), progress=None)
    assert again.table == first.table
    assert generator.calls == calls  # synthesis replayed from its cache
    assert manifest.stat().st_mtime_ns == trained  # not trained again
    assert _records(settings.out) == records  # no question asked again
    report = json.loads((home / "synthesis" / "report.json").read_text())
    assert report["extraction"]["generator_calls"] == 0 < report["extraction"]["cached_calls"]


def test_demo_says_when_the_generator_wrote_no_pair(tiny_llama_dir: Path, tmp_path: Path) -> None:
    tiny = f"local:{tiny_llama_dir}"
    roles = ["--generator", tiny, "--executive", tiny, "--base", tiny]
    # greedy decoding of a random model fills the schema with empty strings: no usable pair
    sizes = ["--questions", "1", "--generator-max-tokens", "64", "--generator-temperature", "0"]
    sizes.append("--no-sentence-pairs")  # rules would read pairs off the documents
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), *roles, *sizes])
    assert result.exit_code == 2
    assert "holds no usable question/answer pairs" in " ".join(result.output.split())


def test_demo_refuses_a_bad_setting(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--concurrency", "0"])
    assert result.exit_code == 2
    assert "concurrency" in result.output


async def test_reference_pairs_add_their_memory_s_rows_beside_the_generator_s(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    tiny = f"local:{tiny_llama_dir}"
    reference = tmp_path / "reference.jsonl"
    rows = [
        {"question": "Where is Lornhaven?", "answer": "On the Varrow Sea.", "step": "reference"},
        {"question": "Who founded Pellmarsh?", "answer": "Orvane Tessaly.", "step": "reference"},
    ]
    reference.write_text("".join(json.dumps(row) + "\n" for row in rows))
    settings = DemoSettings(
        out=tmp_path / "demo",
        executive=tiny,
        base=tiny,
        questions=2,
        epochs=1,
        concurrency=2,
        reference_pairs=reference,
    )
    result = await run_demo(settings, Models(generator=scripted_generator()), progress=None)
    assert [row["system"] for row in result.table] == [
        "base model, closed book",
        "MEMORY alone, embedded GENERATOR",
        "MEMO, embedded GENERATOR",
        "BM25 RAG",
        "MEMORY alone, reference pairs",
        "MEMO, reference pairs",
    ]
    assert [row["system"] for row in result.by_kind][-2:] == list(REFERENCE_SYSTEMS.values())
    assert result.reference is not None and result.files["reference_markdown"].exists()
    trained = json.loads((next((settings.out / "reference").rglob("memo.json"))).read_text())
    assert trained["dataset"]["pairs"] == 2


def test_the_reference_rows_train_the_data_sets_own_pairs_by_default(tmp_path: Path) -> None:
    invented = DemoSettings().reference_source()
    assert invented is not None and invented.name == "reference_qa.jsonl" and invented.is_file()
    assert DemoSettings(reference=False).reference_source() is None
    heldout = REPO / "evals" / "data" / "heldout"
    assert DemoSettings(data=heldout).reference_source() is None  # it has none
    given = tmp_path / "mine.jsonl"
    assert DemoSettings(data=heldout, reference_pairs=given).reference_source() == given
    # Pairs the main rows' MEMORY is trained on already are not trained twice; a run that asks
    # a given MEMORY trains none unless told which.
    assert DemoSettings(pairs=invented).reference_source() is None
    assert DemoSettings(memory="local:m").reference_source() is None
    assert DemoSettings(memory="local:m", reference_pairs=given).reference_source() == given
