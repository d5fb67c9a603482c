"""What a caller hands the local engine and what it gets back: a request with its sampling
settings and its future, and the finished reply. The engine's other modules share these types;
this one imports none of them."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import xgrammar as xgr

FinishReason = Literal["stop", "length", "cancelled"]


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 256
    stop: tuple[str, ...] = ()
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0

    @property
    def penalised(self) -> bool:
        return self.frequency_penalty != 0.0 or self.presence_penalty != 0.0


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
