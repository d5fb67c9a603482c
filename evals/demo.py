"""``memo demo``: the whole method on our invented corpus with one model in every role.

Synthesis of the 8 invented documents -> a LoRA MEMORY trained on the pairs -> the protocol
graph, next to the base model closed-book, the MEMORY asked alone and BM25 RAG, over the 20
questions no model has seen; then a MEMORY trained on the set's reference pairs, alone and
through the protocol, for what a capable GENERATOR would give. It is an evaluation run
(``evals.pipeline``) with settings sized for 2 CPU cores and the 135M embedded model, so
everything it writes under ``out`` is reused when it runs again: the synthesis call cache, the
trained MEMORY, every finished answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evals.benchmarks.generic import INVENTED
from evals.pipeline import EvalSettings, Models, evaluate
from evals.runner import EvaluationResult
from evals.scoring import summarise
from evals.systems import MemoSettings
from memo_training.config import TrainConfig

DEMO_SYSTEMS = {
    "closed_book": "base model, closed book",
    "memory": "MEMORY alone",
    "memo": "MEMO (protocol + MEMORY)",
    "bm25": "BM25 RAG",
}
REFERENCE_SYSTEMS = {
    "memory": "MEMORY alone, reference pairs",
    "memo": "MEMO, reference pairs",
}
"""The rows of the MEMORY trained on ``DemoSettings.reference_source()``."""
REFERENCE_PAIRS_FILE = "reference_qa.jsonl"
KINDS = ("single-hop", "reversed", "cross-document")


@dataclass
class DemoSettings:
    out: Path = field(
        default=Path("memo-demo"),
        metadata={"description": "Directory of the demo's run (resumable)."},
    )
    generator: str = field(default="local", metadata={"description": "GENERATOR spec."})
    executive: str = field(
        default="local",
        metadata={"description": "The EXECUTIVE, also the closed-book and RAG reader."},
    )
    base: str = field(
        default="local",
        metadata={"description": "The MEMORY's base model (a local model: it is fine-tuned)."},
    )
    data: Path | None = field(
        default=None,
        metadata={
            "description": (
                "A directory of corpus.json and questions.jsonl in the invented set's form (e.g. "
                "evals/data/heldout) to run on instead of the invented set."
            )
        },
    )
    questions: int | None = field(
        default=None, metadata={"description": "The first N of the 20 questions (None: all)."}
    )
    memory: str | None = field(
        default=None,
        metadata={
            "description": (
                "A MEMORY spec to ask as it is (``local:ARTIFACT``) instead of synthesising and "
                "training."
            )
        },
    )
    pairs: Path | None = field(
        default=None,
        metadata={
            "description": (
                "QA pairs to train the MEMORY on instead of synthesising them (the GENERATOR is "
                "unused)."
            )
        },
    )
    reference: bool = field(
        default=True,
        metadata={
            "description": (
                "Also train a MEMORY on reference pairs, what a capable GENERATOR would write, "
                "and ask it alone and through the protocol: its rows stand beside those of the "
                "GENERATOR's pairs, showing what the GENERATOR costs. The pairs are "
                "``reference_pairs``, else the data set's own reference_qa.jsonl when it has one "
                "(the invented set does: 309 pairs)."
            )
        },
    )
    reference_pairs: Path | None = field(
        default=None,
        metadata={
            "description": "The reference pairs, instead of the data set's reference_qa.jsonl."
        },
    )
    steps: list[str] = field(
        default_factory=lambda: ["extraction"],
        metadata={
            "description": (
                "Synthesis steps. Sentence pairs already ask every name of a sentence from its "
                "attributes (what entity surfacing is for); a 135M GENERATOR's surfacing and "
                "cross-document pairs were junk (1 of 18 and 3 of 9 kept, none right) and took "
                "93% of its call time (3,947 of 4,247 s summed over concurrent calls). A real "
                "GENERATOR should run all five."
            )
        },
    )
    sentence_pairs: bool = field(
        default=True,
        metadata={
            "description": (
                "Extraction also reads pairs off each sentence by rules: the pairs a 135M "
                "GENERATOR cannot write (see ``memo_graph.synthesis.pair_sources.cloze``)."
            )
        },
    )
    generator_max_tokens: int = field(
        default=256,
        metadata={"description": "Most tokens per GENERATOR reply (raise it for a real model)."},
    )
    generator_temperature: float = field(
        default=0.3,
        metadata={
            "description": "Lower than the paper's 1.1, which makes a 135M GENERATOR write noise."
        },
    )
    max_length: int = field(
        default=128,
        metadata={
            "description": (
                "Tokens per training example: pairs whose answer does not fit (a GENERATOR "
                "echoing a whole document) are dropped and counted, and training stays short."
            )
        },
    )
    epochs: int = field(default=6, metadata={"description": "MEMORY training epochs."})
    learning_rate: float = field(
        default=1e-3,
        metadata={
            "description": (
                "Higher than the paper's 2e-4: a few epochs must make a 135M MEMORY recall the "
                "pairs."
            )
        },
    )
    max_subquestions: int = field(
        default=2, metadata={"description": "Grounding sub-questions at most (the paper's: 4)."}
    )
    identification_turns: int = field(
        default=1, metadata={"description": "Entity identification budget (the paper's: 7)."}
    )
    seeking_turns: int = field(
        default=1, metadata={"description": "Answer-seeking budget (the paper's: 8)."}
    )
    executive_max_tokens: int = field(
        default=96,
        metadata={
            "description": (
                "The protocol's budgets and the EXECUTIVE's replies, cut from the paper's (4 sub-"
                "questions, 7 and 8 turns, 512 tokens) so that 20 questions fit in the demo's "
                "time on 2 cores."
            )
        },
    )
    protocol: dict[str, Any] = field(
        default_factory=dict,
        metadata={"description": "Further ProtocolContext settings (e.g. ``check_support``)."},
    )
    concurrency: int = field(
        default=10,
        metadata={
            "description": (
                "Questions (and GENERATOR calls) in flight at once; the local model batches them."
            )
        },
    )

    def reference_source(self) -> Path | None:
        """The reference pairs this demo trains on, if any: none where they are the pairs the
        main rows' MEMORY is trained on already, and by default none where that MEMORY is
        given (``memory``: a run that asks a MEMORY, not one that makes it)."""
        if not self.reference:
            return None
        pairs = self.reference_pairs or (self.data or INVENTED) / REFERENCE_PAIRS_FILE
        if self.reference_pairs is None and (self.memory or not pairs.is_file()):
            return None
        if self.pairs is not None and self.pairs.resolve() == pairs.resolve():
            return None
        return pairs

    def evaluation(self) -> EvalSettings:
        return EvalSettings(
            benchmark="invented" if self.data is None else "generic",
            data=self.data,
            out=self.out,
            systems=list(DEMO_SYSTEMS),
            executive=self.executive,
            judge=None,
            limit=self.questions,
            max_tokens=self.executive_max_tokens,
            concurrency=self.concurrency,
            memo=MemoSettings(
                generator=self.generator,
                base=self.base,
                memory=self.memory,
                pairs=self.pairs,
                steps=list(self.steps),
                synthesis={
                    "max_tokens": self.generator_max_tokens,
                    "temperature": self.generator_temperature,
                    "top_p": 0.9,
                    "concurrency": self.concurrency,
                    "sentence_pairs": self.sentence_pairs,
                },
                training=TrainConfig(
                    epochs=self.epochs, learning_rate=self.learning_rate, max_length=self.max_length
                ),
                protocol={
                    "max_subquestions": self.max_subquestions,
                    "identification_turns": self.identification_turns,
                    "seeking_turns": self.seeking_turns,
                    **self.protocol,
                },
            ),
        )


@dataclass
class DemoResult:
    table: list[dict[str, Any]]
    """One row per system: EM, F1, executive tokens, memory calls and seconds per question."""
    by_kind: list[dict[str, Any]]
    """One row per system: F1 on single-hop, reversed and cross-document questions."""
    files: dict[str, Path]
    evaluation: EvaluationResult
    reference: EvaluationResult | None = None
    """The MEMORY trained on the reference pairs, asked alone and through the protocol."""


async def run_demo(
    settings: DemoSettings,
    models: Models | None = None,
    progress: Callable[[str], None] | None = print,
    on_answer: Callable[[str, int, int], None] = lambda *_: None,
) -> DemoResult:
    evaluation, files = await evaluate(settings.evaluation(), models, progress, on_answer)
    labels = dict(DEMO_SYSTEMS)
    reference = None
    reference_pairs = settings.reference_source()
    if reference_pairs is not None:
        own = _memory_source(settings)
        labels.update(memory=f"MEMORY alone, {own}", memo=f"MEMO, {own}")
        asked = replace(
            settings, out=settings.out / "reference", pairs=reference_pairs, memory=None
        ).evaluation()
        asked.systems = list(REFERENCE_SYSTEMS)
        reference, reference_files = await evaluate(asked, models, progress, on_answer)
        files["reference_markdown"] = reference_files["markdown"]
    table, by_kind = _table(evaluation, labels), _by_kind(evaluation, labels)
    if reference is not None:
        table += _table(reference, REFERENCE_SYSTEMS)
        by_kind += _by_kind(reference, REFERENCE_SYSTEMS)
    return DemoResult(table, by_kind, files, evaluation, reference)


def _memory_source(settings: DemoSettings) -> str:
    """Where the main rows' MEMORY comes from, in the words of the table."""
    if settings.memory:
        return "given MEMORY"
    if settings.pairs:
        return "given pairs"
    return "embedded GENERATOR" if settings.generator == "local" else "GENERATOR's pairs"


def _table(evaluation: EvaluationResult, labels: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for summary in evaluation.summary:
        tokens = (summary["executive_input_tokens"] or 0) + (
            summary["executive_output_tokens"] or 0
        )
        rows.append(
            {
                "system": labels[summary["system"]],
                "EM": summary["exact_match"],
                "F1": summary["f1"],
                "contained": summary["contained"],
                "executive tokens": round(tokens, 1),
                "memory calls": summary["memory_calls"],
                "seconds": summary["wall_s"],
                "errors": summary["errors"],
            }
        )
    return rows


def _by_kind(evaluation: EvaluationResult, labels: dict[str, str]) -> list[dict[str, Any]]:
    table = []
    for system in dict.fromkeys(row["system"] for row in evaluation.rows):
        entry: dict[str, Any] = {"system": labels[system]}
        for kind in KINDS:
            rows = [r for r in evaluation.rows if r["system"] == system and r["kind"] == kind]
            entry[kind] = summarise(rows)["f1"]
        table.append(entry)
    return table
