"""The evaluation runner: every system answers the benchmark's questions through
``langsmith.aevaluate``, each answer traced, then scored (EM, F1, judge, recall@k) and costed.

Offline by default: the LangSmith client points at a closed loopback port and
``upload_results=False``, so nothing leaves the machine. With ``LANGSMITH_API_KEY`` set (and
``LANGSMITH_ENDPOINT`` for a self-hosted server) the same run uploads the dataset, the runs and
the feedback as one experiment per system.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langsmith import Client, aevaluate, traceable
from langsmith.schemas import Example
from langsmith.utils import LangSmithNotFoundError

from evals.benchmarks import Benchmark, Question
from evals.judge import Judge
from evals.scoring import answer_scores, passage_recall, summarise
from evals.store import ResultStore
from evals.systems.base import Prediction, System

OFFLINE_ENDPOINT = "http://127.0.0.1:9"
_NAMESPACE = uuid.UUID("0b5d8f3e-6f0c-4a57-9a2e-2d8e3c1f7a10")


def langsmith_client() -> tuple[Client, bool]:
    """(client, upload): the configured LangSmith when an API key is set, else one that never
    sends anything."""
    if os.environ.get("LANGSMITH_API_KEY"):
        return Client(), True
    # Runs are still traced (run trees built, handed to the evaluators) but sampled out of
    # posting: a sampling rate of 0 keeps every request off the wire.
    offline = Client(
        api_url=OFFLINE_ENDPOINT,
        api_key="offline",
        info={},
        auto_batch_tracing=False,
        tracing_sampling_rate=0.0,
    )
    return offline, False


@dataclass
class Condition:
    """One corpus to evaluate on: the benchmark's own, or evidence plus K negatives."""

    label: str
    negatives: int | None

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.label.lower()).strip("-")


def conditions_for(negatives: int | None) -> list[Condition]:
    if negatives is None:
        return [Condition("corpus", None)]
    if negatives == 0:
        return [Condition("evidence only", 0)]
    return [Condition("evidence only", 0), Condition(f"{negatives} negatives each", negatives)]


@dataclass
class EvaluationResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    """One per (condition, system, question)."""
    summary: list[dict[str, Any]] = field(default_factory=list)
    """One per (condition, system)."""
    experiments: list[str] = field(default_factory=list)


def _examples(
    client: Client, benchmark: Benchmark, questions: list[Question], upload: bool
) -> list[Example]:
    dataset_id = uuid.uuid5(_NAMESPACE, benchmark.name)
    if upload:
        name = f"memo-eval-{benchmark.name}"
        try:
            dataset_id = client.read_dataset(dataset_name=name).id
        except LangSmithNotFoundError:
            dataset_id = client.create_dataset(
                name, description=f"memo eval: {benchmark.source}"
            ).id
    examples = [
        Example(
            id=uuid.uuid5(dataset_id, q.id),
            dataset_id=dataset_id,
            inputs={"question": q.question, "question_id": q.id},
            outputs={"answers": list(q.answers), "evidence_ids": list(q.evidence_ids)},
            metadata={"kind": q.kind},
        )
        for q in questions
    ]
    if upload:
        present = {e.id for e in client.list_examples(dataset_id=dataset_id)}
        missing = [e for e in examples if e.id not in present]
        if missing:
            client.create_examples(
                dataset_id=dataset_id,
                examples=[
                    {
                        "id": e.id,
                        "inputs": e.inputs,
                        "reference_outputs": e.outputs,
                        "metadata": e.metadata,
                    }
                    for e in missing
                ],
            )
    return examples


def _target(
    system: System,
    questions: dict[str, Question],
    store: ResultStore,
    answered: Callable[[], None],
) -> Callable:
    @traceable(name=f"{system.name}.answer", run_type="chain")
    async def answer(inputs: dict[str, Any]) -> dict[str, Any]:
        question_id = inputs["question_id"]
        done = store.get("prediction", question_id)
        if done is None:
            prediction: Prediction = await system.answer(questions[question_id])
            done = prediction.as_dict()
            store.put("prediction", question_id, done)
        answered()
        return done

    return answer


@contextlib.contextmanager
def _quiet_langsmith() -> Iterator[None]:
    """Our own output only while langsmith evaluates: its beta notice about the upload switch
    (offline, not uploading is our choice) and the bare tqdm counter it draws under our
    progress bars (we count answers ourselves) are left out."""
    from langsmith.evaluation import _arunner

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="'upload_(results|runs)' parameter is in beta")
        drawn = getattr(_arunner, "_load_tqdm", None)
        if drawn is not None:
            _arunner._load_tqdm = lambda: lambda items: items
        try:
            yield
        finally:
            if drawn is not None:
                _arunner._load_tqdm = drawn


def _counter(label: str, total: int, on_answer: Callable[[str, int, int], None]) -> Callable:
    done = 0
    on_answer(label, done, total)

    def answered() -> None:
        nonlocal done
        done += 1
        on_answer(label, done, total)

    return answered


def _evaluators(judge: Judge | None, store: ResultStore) -> list[Callable]:
    def answer_match(outputs: dict, reference_outputs: dict) -> list[dict[str, Any]]:
        scores = answer_scores(outputs.get("answer", ""), reference_outputs["answers"])
        return [{"key": key, "score": value} for key, value in scores.items()]

    def recall_at_k(outputs: dict, reference_outputs: dict) -> dict[str, Any]:
        retrieved = outputs.get("retrieved_ids") or []
        score = passage_recall(retrieved, reference_outputs["evidence_ids"]) if retrieved else None
        return {"key": "recall_at_k", "score": score}

    def cost(outputs: dict) -> list[dict[str, Any]]:
        keys = ("executive_input_tokens", "executive_output_tokens", "memory_calls", "wall_s")
        return [{"key": key, "score": outputs.get(key, 0)} for key in keys]

    evaluators: list[Callable] = [answer_match, recall_at_k, cost]
    if judge is not None:

        async def judge_correct(
            inputs: dict, outputs: dict, reference_outputs: dict
        ) -> dict[str, Any]:
            key = f"{inputs['question_id']}\n{outputs.get('answer', '')}"
            grade = store.get("grade", key)
            if grade is None:
                verdict = await judge.grade(
                    inputs["question"], reference_outputs["answers"], outputs.get("answer", "")
                )
                grade = verdict.as_dict()
                store.put("grade", key, grade)
            score = None if grade["correct"] is None else float(grade["correct"])
            return {"key": "judge_correct", "score": score, "comment": grade["reason"]}

        evaluators.append(judge_correct)
    return evaluators


def _row(result: Any, question: Question) -> dict[str, Any]:
    run = result["run"]  # None when the target failed before its run was recorded
    outputs = (run.outputs if run is not None else None) or {}
    row: dict[str, Any] = {
        "question_id": question.id,
        "kind": question.kind,
        "question": question.question,
        "gold": question.answers[0],
        "answer": outputs.get("answer", ""),
        "error": outputs.get("error") or getattr(run, "error", None),
        # MEMO's: the protocol rule that chose the answer.
        "decided_by": (outputs.get("details") or {}).get("decided_by", ""),
    }
    for evaluation in result["evaluation_results"]["results"]:
        row[evaluation.key] = evaluation.score
    return row


async def run_evaluation(
    benchmark: Benchmark,
    systems: list[System],
    out: Path,
    judge: Judge | None = None,
    limit: int | None = None,
    negatives: int | None = None,
    on_progress: Callable[[str], None] = lambda _: None,
    on_answer: Callable[[str, int, int], None] = lambda *_: None,
    concurrency: int = 1,
) -> EvaluationResult:
    """``on_answer(label, done, total)`` follows each system's questions as they are answered;
    ``concurrency`` questions are in flight at once (a local model decodes them as one batch)."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be 1 or more, got {concurrency}")
    questions = benchmark.select(limit)
    by_id = {q.id: q for q in questions}
    order = {q.id: i for i, q in enumerate(questions)}
    client, upload = langsmith_client()
    examples = _examples(client, benchmark, questions, upload)
    result = EvaluationResult()
    for condition in conditions_for(negatives):
        documents = benchmark.corpus(questions, condition.negatives)
        for system in systems:
            where = f"{condition.label}: {system.name}"
            on_progress(f"{where}: preparing on {len(documents)} documents")
            await system.prepare(documents, out / "work" / condition.slug / system.name)
            store = ResultStore(out / "records" / condition.slug / f"{system.name}.jsonl")
            on_progress(f"{where}: {len(questions)} questions")
            answered = _counter(where, len(questions), on_answer)
            with _quiet_langsmith():
                experiment = await aevaluate(
                    _target(system, by_id, store, answered),
                    data=examples,
                    evaluators=_evaluators(judge, store),
                    client=client,
                    upload_results=upload,
                    experiment_prefix=f"{benchmark.name}-{system.name}-{condition.slug}",
                    metadata={"system": system.name, "condition": condition.label},
                    max_concurrency=concurrency,
                )
                rows: list[dict[str, Any]] = []
                async for item in experiment:
                    inputs = item["example"].inputs or {}
                    question = by_id[inputs["question_id"]]
                    rows.append(
                        {
                            "condition": condition.label,
                            "system": system.name,
                            **_row(item, question),
                        }
                    )
            # concurrent answers finish out of order
            rows.sort(key=lambda row: order[row["question_id"]])
            result.experiments.append(experiment.experiment_name)
            result.rows.extend(rows)
            result.summary.append(
                {"condition": condition.label, "system": system.name, **summarise(rows)}
            )
    return result
