"""The GENERATOR as the synthesis steps use it: structured replies, retried when they do not
parse, bounded concurrency, every reply (failures too) kept in the persistent call cache."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from memo_graph.models.structured import StructuredCaller
from memo_graph.synthesis.call_cache import CallCache, call_key
from memo_graph.synthesis.state import CallBudgetError, SynthesisContext

LOG = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)


@dataclass
class StepStats:
    """What one step spent and produced; summed over its fan-out."""

    items_in: int = 0
    items_out: int = 0
    calls: int = 0
    cached_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    drops: Counter[str] = field(default_factory=Counter)

    def add(self, other: StepStats) -> None:
        self.items_in += other.items_in
        self.items_out += other.items_out
        self.calls += other.calls
        self.cached_calls += other.cached_calls
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.seconds += other.seconds
        self.drops.update(other.drops)

    def as_dict(self) -> dict[str, Any]:
        return {
            "items_in": self.items_in,
            "items_out": self.items_out,
            "generator_calls": self.calls,
            "cached_calls": self.cached_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "seconds": round(self.seconds, 2),
            "drops": dict(self.drops),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepStats:
        return cls(
            items_in=data["items_in"],
            items_out=data["items_out"],
            calls=data["generator_calls"],
            cached_calls=data["cached_calls"],
            input_tokens=data["input_tokens"],
            output_tokens=data["output_tokens"],
            seconds=data["seconds"],
            drops=Counter(data["drops"]),
        )


def _messages(turns: Sequence[tuple[str, str]]) -> list[BaseMessage]:
    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[role](text) for role, text in turns]


class Generator:
    """Asks one GENERATOR model for instances of a schema, through the call cache."""

    def __init__(
        self,
        model: BaseChatModel,
        spec: str,
        cache: CallCache,
        *,
        concurrency: int = SynthesisContext.concurrency,
        retries: int = SynthesisContext.retries,
        max_calls: int | None = None,
        settings: str = "",
    ) -> None:
        """``spec`` names the model in provenance; ``settings`` (sampling, length) joins it in
        the cache key, so a run with other settings asks again instead of replaying."""
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.model = model
        self.spec = spec
        self.cache = cache
        self.retries = retries
        self.max_calls = max_calls
        self.calls_started = 0
        self.settings = settings
        self._gate = asyncio.Semaphore(concurrency)
        self._callers: dict[type[BaseModel], StructuredCaller] = {}

    def _caller(self, schema: type[BaseModel]) -> StructuredCaller:
        if schema not in self._callers:
            self._callers[schema] = StructuredCaller(self.model, schema, retries=self.retries)
        return self._callers[schema]

    def _count_call(self) -> None:
        if self.max_calls is not None and self.calls_started >= self.max_calls:
            raise CallBudgetError(
                f"the GENERATOR has made max_calls={self.max_calls} calls in this run and the "
                "synthesis is not finished. Its replies are kept: run the same command again "
                "with a higher --max-calls to go on from here."
            )
        self.calls_started += 1

    async def ask(
        self,
        schema: type[T],
        system: str,
        user: str,
        stats: StepStats,
        examples: Sequence[tuple[str, str]] = (),
    ) -> T | None:
        """An instance of ``schema``, or None when the replies never held one (the caller
        counts the drop; the reason is logged). ``examples`` are (request, JSON reply) turns
        shown before ``user``: what a small GENERATOR follows best. A transport error
        propagates, so the node's retry policy can try again."""
        turns = [("system", system)]
        for request, example_reply in examples:
            turns += [("user", request), ("assistant", example_reply)]
        turns.append(("user", user))
        key = call_key(f"{self.spec}|{self.settings}", schema.__name__, turns)
        cached = await asyncio.to_thread(self.cache.get, key)
        if cached is None:
            self._count_call()
            caller = await asyncio.to_thread(self._caller, schema)
            async with self._gate:
                reply = await caller.ainvoke(_messages(turns))
            cached = {
                "value": reply.value.model_dump() if reply.value is not None else None,
                "error": reply.error,
                "input_tokens": reply.input_tokens,
                "output_tokens": reply.output_tokens,
                "attempts": reply.attempts,
            }
            await asyncio.to_thread(self.cache.put, key, cached)
            stats.calls += int(cached["attempts"])
            stats.input_tokens += int(cached["input_tokens"])
            stats.output_tokens += int(cached["output_tokens"])
        else:
            stats.cached_calls += 1
        if cached["value"] is None:
            LOG.debug("no %s from the GENERATOR: %s", schema.__name__, cached["error"])
            return None
        return schema.model_validate(cached["value"])
