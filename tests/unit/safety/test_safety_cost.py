"""No silent cost: `memo synthesize` says what it will spend before it starts, `--dry-run`
writes nothing, and `--max-calls` stops a run before it goes past its budget."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from memo_graph.cli import app
from memo_graph.synthesis.call_cache import CallCache
from memo_graph.synthesis.generator import Generator, StepStats
from memo_graph.synthesis.plan import estimate_calls, plan_synthesis
from memo_graph.synthesis.schemas import QAList
from memo_graph.synthesis.state import CallBudgetError, SynthesisContext
from tests.scripted import ScriptedChatModel


def synthesize(corpus: Path, out: Path, *extra: str) -> Result:
    arguments = ["synthesize", str(corpus), "--out", str(out), "--chunk-unit", "words"]
    return CliRunner().invoke(
        app, [*arguments, "--chunk-size", "30", "--chunk-overlap", "5", *extra]
    )


def one_line(result: Result) -> str:
    return " ".join(result.output.split())


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "curie.txt").write_text("Marie Curie was born in Warsaw in 1867.")
    (folder / "tesla.txt").write_text("Nikola Tesla was born in Smiljan in 1856.")
    (folder / "empty.txt").write_text("")
    return folder


def test_dry_run_prints_the_plan_and_writes_nothing(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = synthesize(corpus, out, "--dry-run", "--steps", "extraction")
    assert result.exit_code == 0, result.output
    assert "2 documents, 2 chunks, ~4 GENERATOR calls (extraction 4)" in one_line(result)
    assert f"skipped {corpus / 'empty.txt'}: empty file" in one_line(result)
    assert not out.exists()


def test_max_calls_refuses_a_plan_over_budget_before_any_call(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = synthesize(corpus, out, "--max-calls", "3", "--steps", "extraction")
    assert result.exit_code == 2
    assert "max_calls=3" in one_line(result) and "Nothing was started" in one_line(result)
    assert not out.exists()


def test_the_plan_counts_two_prompts_per_chunk_and_the_later_steps() -> None:
    context = SynthesisContext(max_cross_links=3)
    calls = estimate_calls(documents=5, chunks=7, context=context)
    assert calls["extraction"] == 14
    assert calls["cross_document"] == 3
    assert set(calls) == set(context.steps)
    only = estimate_calls(1, 1, SynthesisContext(steps=["extraction", "cross_document"]))
    assert only == {"extraction": 2, "cross_document": 0}


def test_a_long_single_line_document_is_planned_as_many_chunks(tmp_path: Path) -> None:
    (tmp_path / "huge.txt").write_text("word " * 20_000)
    plan = plan_synthesis(str(tmp_path), SynthesisContext(chunk_unit="words", chunk_size=400))
    assert len(plan.chunks) >= 50
    assert plan.calls["extraction"] == 2 * len(plan.chunks)
    with pytest.raises(CallBudgetError, match="raise --max-calls"):
        plan.check_budget(100)


def test_the_generator_stops_at_max_calls_and_cached_replies_stay_free(tmp_path: Path) -> None:
    reply = json.dumps({"pairs": [{"question": "Who?", "answer": "Curie."}]})
    model = ScriptedChatModel(reply=lambda _: reply)
    cache = tmp_path / "calls.sqlite"

    async def ask(generator: Generator, user: str) -> None:
        await generator.ask(QAList, "system", user, StepStats())

    first = Generator(model, "scripted", CallCache(cache), max_calls=1)
    asyncio.run(ask(first, "one"))
    with pytest.raises(CallBudgetError, match="max_calls=1"):
        asyncio.run(ask(first, "two"))
    # Run again: the finished call replays from the cache without counting.
    again = Generator(model, "scripted", CallCache(cache), max_calls=1)
    asyncio.run(ask(again, "one"))
    asyncio.run(ask(again, "two"))
    assert model.calls == 2
