"""What a caller hands the local engine and what it gets back: a request with its future, and
the finished reply."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import xgrammar as xgr

from memo_graph.models.sampling import SamplingParams

FinishReason = Literal["stop", "length", "cancelled"]


@dataclass
class GenerationResult:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason


@dataclass
class GenerationRequest:
    prompt_ids: list[int]
    params: SamplingParams
    grammar: xgr.CompiledGrammar | None = None
    adapter: Path | None = None
    on_text: Callable[[str], None] | None = None
    future: Future[GenerationResult] = field(default_factory=Future)


def settle(
    future: Future[GenerationResult],
    result: GenerationResult | None = None,
    exception: BaseException | None = None,
) -> None:
    """Complete ``future`` unless its caller has already cancelled it (a timeout, say)."""
    try:
        if exception is not None:
            future.set_exception(exception)
        else:
            future.set_result(result)  # type: ignore[arg-type]
    except InvalidStateError:
        pass
