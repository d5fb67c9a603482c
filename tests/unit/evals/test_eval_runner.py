"""The evaluation runner with scripted models: every system, every metric, the report, the
noise test, and a rerun that asks nothing again."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from langchain_core.messages import BaseMessage

from evals.benchmarks import load_benchmark
from evals.pipeline import EvalSettings, Models, evaluate
from evals.runner import conditions_for
from evals.systems import MemoSettings, UnknownSystemError
from memo_training.config import TrainConfig
from tests.scripted import ScriptedChatModel, by_schema, schema_title
from tests.synthesis_run import scripted_generator

GOLD = {q.question: q.answers[0] for q in load_benchmark("invented").questions}


def reading_executive() -> ScriptedChatModel:
    """Answers right exactly when the gold answer is in the passages it was given."""

    def reply(messages: list[BaseMessage]) -> str:
        text = "\n".join(str(m.content) for m in messages)
        if schema_title(messages) == "Verdict":
            answer = re.search(r"Answer to grade: (.*)", text).group(1)  # type: ignore[union-attr]
            references = re.search(r"Reference answers: (.*)", text).group(1)  # type: ignore[union-attr]
            correct = answer.lower() in references.lower().split(" | ")
            return json.dumps({"correct": correct, "reason": "compared"})
        question = re.search(r"Question: (.*)", text).group(1)  # type: ignore[union-attr]
        passages = text.split("Question:")[0]
        gold = GOLD[question]
        return json.dumps({"answer": gold if gold in passages else "unknown"})

    return ScriptedChatModel(reply=reply)


def settings(out: Path, systems: list[str], **more) -> EvalSettings:
    return EvalSettings(benchmark="invented", out=out, systems=systems, limit=4, **more)


async def test_reading_systems_are_scored_costed_and_reported(tmp_path) -> None:
    executive = reading_executive()
    result, files = await evaluate(
        settings(tmp_path, ["closed_book", "bm25", "dense", "oracle"]),
        Models(executive=executive, judge=executive),
        progress=None,
    )
    summary = {row["system"]: row for row in result.summary}
    assert summary["oracle"]["exact_match"] == 1.0 and summary["oracle"]["judge_correct"] == 1.0
    assert summary["closed_book"]["exact_match"] == 0.0
    assert summary["closed_book"]["judge_correct"] == 0.0
    assert summary["closed_book"]["recall_at_k"] is None  # no retrieval, no recall
    for rag in ("bm25", "dense"):
        assert summary[rag]["recall_at_k"] == 1.0  # 8 short documents, k=5: always found
        assert summary[rag]["exact_match"] == 1.0
    # 10 tokens in, 5 out per scripted call; one reader call per question
    assert summary["oracle"]["executive_input_tokens"] == 10
    assert summary["oracle"]["executive_output_tokens"] == 5
    assert len(result.rows) == 16
    rows = list(csv.DictReader(files["rows_csv"].open()))
    assert len(rows) == 16 and {r["system"] for r in rows} == set(summary)
    assert "| oracle |" in files["markdown"].read_text()
    assert files["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    calls = executive.calls
    again, _ = await evaluate(
        settings(tmp_path, ["closed_book", "bm25", "dense", "oracle"]),
        Models(executive=executive, judge=executive),
        progress=None,
    )
    assert executive.calls == calls  # predictions and grades replayed from the records
    assert again.summary == result.summary


async def test_a_killed_evaluation_resumes_from_its_records(tmp_path) -> None:
    executive = reading_executive()
    await evaluate(
        settings(tmp_path, ["oracle"]), Models(executive=executive, judge=executive), None
    )
    records = tmp_path / "records" / "corpus" / "oracle.jsonl"
    lines = records.read_text().splitlines(keepends=True)
    # keep the first question's prediction and grade, and half of a line cut by the crash
    records.write_text("".join(lines[:2]) + lines[2][:20])
    before = executive.calls
    result, _ = await evaluate(
        settings(tmp_path, ["oracle"]), Models(executive=executive, judge=executive), None
    )
    assert executive.calls - before == 3 * 2  # three questions left: answer and grade each
    assert result.summary[0]["exact_match"] == 1.0
    assert len(records.read_text().splitlines()) == 8


async def test_noise_test_reports_the_change_per_system(tmp_path) -> None:
    executive = reading_executive()
    result, files = await evaluate(
        settings(tmp_path, ["bm25", "oracle"], negatives=2, k=1),
        Models(executive=executive, judge=executive),
        progress=None,
    )
    assert [r["condition"] for r in result.summary] == [
        "evidence only", "evidence only", "2 negatives each", "2 negatives each",
    ]  # fmt: skip
    report = files["markdown"].read_text()
    assert "## Noise" in report and "| bm25 | judge_correct |" in report


async def test_memo_system_runs_synthesis_training_and_the_protocol(tmp_path, tiny_llama_dir):
    executive = ScriptedChatModel(
        reply=by_schema(
            GroundingPlan={"sub_questions": ["Who founded the Kelvary Survey Society?"]},
            IdentificationStep={
                "known_facts": [],
                "candidates": ["Orvane Tessaly"],
                "decision": "confirm",
                "target": "Orvane Tessaly",
                "question": "",
            },
            SeekingStep={"decision": "answer", "entity": "Orvane Tessaly", "question": ""},
            FinalAnswer={"answer": "1871", "justification": "the memory said so"},
            Verdict={"correct": True, "reason": "same year"},
        )
    )
    memo = MemoSettings(
        base=f"local:{tiny_llama_dir}",
        steps=["extraction", "consolidation"],
        synthesis={"chunk_unit": "words", "chunk_size": 60, "chunk_overlap": 5},
        training=TrainConfig(epochs=1, batch_size=4, max_length=128),
        # The scripted EXECUTIVE knows the answer; the tiny random MEMORY's replies are noise
        # that could never support it.
        protocol={
            "identification_turns": 1,
            "seeking_turns": 1,
            "max_subquestions": 1,
            "check_support": False,
        },
    )
    generator = scripted_generator()
    result, _ = await evaluate(
        EvalSettings(
            benchmark="invented", out=tmp_path, systems=["memo", "memory"], limit=2, memo=memo
        ),
        Models(executive=executive, judge=executive, generator=generator),
        progress=None,
    )
    row, alone = result.summary
    assert alone["system"] == "memory" and alone["memory_calls"] == 1.0
    assert alone["executive_input_tokens"] == 0
    assert row["system"] == "memo" and row["questions"] == 2
    assert row["exact_match"] == 0.5  # "1871" is right for s1 only
    assert row["memory_calls"] >= 1 and row["executive_input_tokens"] > 0
    artifacts = list((tmp_path / "work" / "corpus" / "memo").glob("*/memory/memo.json"))
    assert len(artifacts) == 1
    # A second evaluation of the same corpus (answers forgotten) reuses the synthesis cache
    # and the finished artifact: no GENERATOR call, no retraining.
    calls, trained_at = generator.calls, artifacts[0].stat().st_mtime_ns
    shutil.rmtree(tmp_path / "records")
    await evaluate(
        EvalSettings(benchmark="invented", out=tmp_path, systems=["memo"], limit=2, memo=memo),
        Models(executive=executive, judge=executive, generator=generator),
        progress=None,
    )
    assert generator.calls == calls
    assert artifacts[0].stat().st_mtime_ns == trained_at


def test_unknown_system_is_refused() -> None:
    from evals.systems import build_systems

    with pytest.raises(UnknownSystemError, match="choose among"):
        build_systems(["memo", "grep"], reading_executive())


def test_hipporag_without_its_package_says_how_to_install_it() -> None:
    from evals.systems import build_systems
    from evals.systems.hipporag import HippoRagUnavailableError

    with pytest.raises(HippoRagUnavailableError, match="pip install hipporag"):
        build_systems(["hipporag"], reading_executive())


class _Broken:
    name = "broken"

    async def prepare(self, documents, workdir) -> None:
        return None

    async def answer(self, question):
        raise ConnectionError("backend down")


async def test_a_failing_system_is_recorded_not_fatal_and_retried_next_time(tmp_path) -> None:
    from evals.runner import run_evaluation

    bench = load_benchmark("invented")
    result = await run_evaluation(bench, [_Broken()], tmp_path, limit=2)  # type: ignore[list-item]
    assert [row["answer"] for row in result.rows] == ["", ""]
    assert all("backend down" in str(row["error"]) for row in result.rows)
    assert result.summary[0]["exact_match"] == 0.0 and result.summary[0]["errors"] == 2
    assert not (tmp_path / "records" / "corpus" / "broken.jsonl").exists()  # nothing to reuse


async def test_concurrent_questions_give_the_same_rows_in_question_order(tmp_path) -> None:
    executive = reading_executive()
    answered: list[tuple[str, int, int]] = []
    serial, _ = await evaluate(
        settings(tmp_path / "serial", ["oracle"]), Models(executive=executive), None
    )
    concurrent, _ = await evaluate(
        settings(tmp_path / "concurrent", ["oracle"], concurrency=4),
        Models(executive=executive),
        None,
        on_answer=lambda *event: answered.append(event),
    )
    assert [r["question_id"] for r in concurrent.rows] == [r["question_id"] for r in serial.rows]
    assert [r["answer"] for r in concurrent.rows] == [r["answer"] for r in serial.rows]
    assert answered == [("corpus: oracle", done, 4) for done in range(5)]


async def test_concurrency_below_one_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="concurrency must be 1 or more"):
        await evaluate(settings(tmp_path, ["oracle"], concurrency=0), Models(reading_executive()))


def test_noise_conditions_ask_each_corpus_once() -> None:
    assert [c.negatives for c in conditions_for(None)] == [None]
    assert [c.label for c in conditions_for(0)] == ["evidence only"]
    assert [c.negatives for c in conditions_for(2)] == [0, 2]
