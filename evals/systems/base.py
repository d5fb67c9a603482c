"""What every evaluated system is: prepared once on a corpus, then asked one question at a time."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from evals.benchmarks import Document, Question


@dataclass
class Prediction:
    answer: str
    retrieved_ids: list[str] = field(default_factory=list)
    """Ids of the documents put in the reader's context, best first (RAG systems)."""
    executive_input_tokens: int = 0
    executive_output_tokens: int = 0
    executive_calls: int = 0
    memory_calls: int = 0
    wall_s: float = 0.0
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class System(Protocol):
    name: str

    async def prepare(self, documents: list[Document], workdir: Path) -> None:
        """Build what the system needs from ``documents`` (an index, a memory) under
        ``workdir``; running it again reuses what is finished."""

    async def answer(self, question: Question) -> Prediction: ...


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.started
