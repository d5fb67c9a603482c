"""The EXECUTIVE: the frozen chat model that drives the protocol. Built once per model and
settings, it keeps one structured caller per reply schema and temperature, counts what each
call costs, and turns a model that cannot be reached into one clear error."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel

from memo_graph.errors import ExecutiveUnavailableError, MemoError
from memo_graph.models.remote import RemoteModelError, remote_error
from memo_graph.models.spec import role_model
from memo_graph.models.structured import StructuredCaller
from memo_graph.models.temperature import with_temperature
from memo_graph.protocol.context import ProtocolContext
from memo_graph.protocol.state import Cost


class Executive:
    """Asks one EXECUTIVE model for instances of the protocol's schemas."""

    def __init__(
        self,
        model: BaseChatModel,
        label: str,
        *,
        parse_retries: int = 2,
        timeout_s: float,
        remote_retries: int,
    ) -> None:
        self.model = model
        self.label = label
        self.parse_retries = parse_retries
        self.timeout_s = timeout_s
        self.remote_retries = remote_retries
        self._callers: dict[tuple[type[BaseModel], float], StructuredCaller] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_context(cls, given: BaseChatModel | None, context: ProtocolContext) -> Executive:
        model = role_model(
            given,
            context.executive,
            max_tokens=context.executive_max_tokens,
            timeout_s=context.timeout_s,
            retries=context.remote_retries,
        )
        return cls(
            model,
            context.executive if given is None else type(given).__name__,
            parse_retries=context.executive_retries,
            timeout_s=context.timeout_s,
            remote_retries=context.remote_retries,
        )

    def _caller(self, schema: type[BaseModel], temperature: float) -> StructuredCaller:
        # Building a caller may compile a grammar for the schema (a local model): once each.
        with self._lock:
            key = (schema, temperature)
            if key not in self._callers:
                model = with_temperature(self.model, temperature)
                self._callers[key] = StructuredCaller(model, schema, retries=self.parse_retries)
            return self._callers[key]

    async def ask(
        self, stage: str, schema: type[BaseModel], system: str, user: str, temperature: float
    ) -> tuple[Any, Cost, list[str]]:
        """(the parsed reply, or None when no attempt parsed; its cost; notes for the run)."""
        caller = await asyncio.to_thread(self._caller, schema, temperature)
        try:
            reply = await caller.ainvoke([SystemMessage(system), HumanMessage(user)])
        except RemoteModelError as exc:  # its total deadline passed
            raise ExecutiveUnavailableError(f"the EXECUTIVE: {exc} (at the {stage} stage)") from exc
        except MemoError:
            raise
        except Exception as exc:
            remote = remote_error("EXECUTIVE", self.label, exc, self.timeout_s, self.remote_retries)
            if remote is not None:
                raise ExecutiveUnavailableError(f"{remote} (at the {stage} stage)") from exc
            raise ExecutiveUnavailableError(
                f"the EXECUTIVE ({self.label}) failed at the {stage} stage: "
                f"{type(exc).__name__}: {exc}. Check its API key, endpoint and model name."
            ) from exc
        cost = Cost(
            executive_calls=reply.attempts,
            executive_input_tokens=reply.input_tokens,
            executive_output_tokens=reply.output_tokens,
        )
        notes = []
        if reply.value is None:
            notes.append(
                f"{stage}: the executive's reply was unusable after {reply.attempts} attempts "
                f"({reply.error}); went on without it"
            )
        return reply.value, cost, notes
