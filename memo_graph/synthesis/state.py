"""Settings and state of the synthesis graph."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from typing_extensions import TypedDict

from memo_graph.errors import MemoError
from memo_graph.models.spec import REMOTE_RETRIES, REMOTE_TIMEOUT_S

STEPS = ("extraction", "consolidation", "verification", "entity_surfacing", "cross_document")


class SynthesisSettingsError(MemoError, ValueError):
    """A synthesis setting is out of range."""


class CallBudgetError(MemoError, ValueError):
    """A synthesis run would make (or has made) more GENERATOR calls than allowed."""


@dataclass(kw_only=True)
class SynthesisContext:
    """The GENERATOR, the chunking and the steps to run (the paper's values by default)."""

    generator: str = field(
        default="local", metadata={"description": "GENERATOR spec: local, openai:MODEL, ..."}
    )
    steps: list[str] = field(
        default_factory=lambda: list(STEPS),
        metadata={"description": "Steps to run; leave one out for an ablation."},
    )
    chunk_size: int = field(default=400, metadata={"description": "Chunk length in chunk_unit."})
    chunk_overlap: int = field(
        default=40, metadata={"description": "Length two neighbouring chunks share."}
    )
    chunk_unit: Literal["tokens", "words"] = field(
        default="tokens",
        metadata={"description": "tokens (the embedded model's tokenizer) or words."},
    )
    concurrency: int = field(default=4, metadata={"description": "GENERATOR calls at once."})
    temperature: float = field(
        default=1.1, metadata={"description": "GENERATOR sampling temperature (the paper's)."}
    )
    top_p: float = field(default=0.95, metadata={"description": "GENERATOR nucleus sampling."})
    max_tokens: int = field(default=1024, metadata={"description": "Most tokens per reply."})
    retries: int = field(default=2, metadata={"description": "Retries of unparsable output."})
    sentence_pairs: bool = field(
        default=False,
        metadata={
            "description": "Extraction also reads pairs off every sentence by rules (its "
            "names, years and counts asked in place): grounded pairs at no GENERATOR call, "
            "for a GENERATOR too small to write them."
        },
    )
    max_cross_links: int = field(
        default=50, metadata={"description": "Shared names or years used by step 5, at most."}
    )
    max_calls: int | None = field(
        default=None,
        metadata={
            "description": "GENERATOR calls this run may make (planned and made; cached "
            "replays are free); None: no limit."
        },
    )
    timeout_s: float = field(
        default=REMOTE_TIMEOUT_S,
        metadata={"description": "Seconds a remote GENERATOR may take per call."},
    )
    remote_retries: int = field(
        default=REMOTE_RETRIES,
        metadata={"description": "Retries of a remote call that timed out or failed."},
    )

    def __post_init__(self) -> None:
        unknown = sorted(set(self.steps) - set(STEPS))
        if unknown:
            raise SynthesisSettingsError(
                f"unknown steps {unknown}; choose among {', '.join(STEPS)}"
            )
        if "extraction" not in self.steps:
            raise SynthesisSettingsError("the extraction step feeds every other one: keep it")
        for name in ("chunk_size", "concurrency", "max_tokens", "max_cross_links"):
            if getattr(self, name) < 1:
                raise SynthesisSettingsError(f"{name} must be 1 or more, got {getattr(self, name)}")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise SynthesisSettingsError(
                f"chunk_overlap must lie in [0, chunk_size), got {self.chunk_overlap}"
            )
        if self.chunk_unit not in ("tokens", "words"):
            raise SynthesisSettingsError(
                f"chunk_unit must be 'tokens' or 'words', not {self.chunk_unit!r}"
            )
        if self.retries < 0 or self.remote_retries < 0:
            raise SynthesisSettingsError(
                f"retries must be 0 or more, got {self.retries} and {self.remote_retries}"
            )
        if self.max_calls is not None and self.max_calls < 1:
            raise SynthesisSettingsError(f"max_calls must be 1 or more, got {self.max_calls}")
        if not self.timeout_s > 0:
            raise SynthesisSettingsError(f"timeout_s must be positive, got {self.timeout_s}")
        if not self.generator.strip():
            raise SynthesisSettingsError("the generator spec is empty; write e.g. 'local'")


def merge_reports(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    return {**(left or {}), **(right or {})}


class SynthesisInput(TypedDict):
    source: str
    """A directory, glob or file of documents, or a Hugging Face dataset on disk."""
    out: str
    """Directory for the dataset, the JSONL export, the report and the call cache."""


class SynthesisOutput(TypedDict, total=False):
    dataset: str
    jsonl: str
    report_path: str
    pairs: int
    report: Annotated[dict[str, Any], merge_reports]


class SynthesisState(SynthesisInput, SynthesisOutput, total=False):
    documents: list[dict[str, Any]]
    chunks: list[dict[str, Any]]
    extraction: list[dict[str, Any]]
    consolidation: list[dict[str, Any]]
    verification: list[dict[str, Any]]
    entity_surfacing: list[dict[str, Any]]
    cross_document: list[dict[str, Any]]


class StepState(SynthesisState, total=False):
    """A step subgraph's own state: its work items and their results."""

    work_items: list[dict[str, Any]]
    results: Annotated[list[dict[str, Any]], operator.add]


class WorkItem(TypedDict):
    work_item: dict[str, Any]
