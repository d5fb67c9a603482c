"""The MEMORY behind one interface: a chat model (a memory artifact loaded in process, or an
OpenAI-compatible server such as vLLM serving the adapter) asked many questions at once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from memo_graph.errors import MemoError
from memo_graph.memory.prompts import JSON_REPLY_INSTRUCTION
from memo_graph.memory.replies import MemoryAnswer, MemoryReply
from memo_graph.memory.sources import SourceCatalog, catalog_of
from memo_graph.models.remote import status_failure, transport_failure
from memo_graph.models.structured import StructuredCaller
from memo_graph.models.temperature import with_temperature

ReplyFormat = Literal["text", "json"]
MAX_QUESTION_CHARS = 2000
MEMORY_MAX_TOKENS = 128
"""Most tokens of a MEMORY reply: replies are a short answer and a confirming clause."""


class MemoryUnavailableError(MemoError):
    """The MEMORY backend could not be reached or failed to answer."""


def _checked_questions(questions: Sequence[str]) -> list[str]:
    cleaned = [q.strip() for q in questions]
    if not cleaned:
        raise MemoError("no questions for the MEMORY; pass at least one question.")
    for question in cleaned:
        if not question:
            raise MemoError("a question for the MEMORY is empty; drop it or write the question.")
        if len(question) > MAX_QUESTION_CHARS:
            raise MemoError(
                f"a question for the MEMORY has {len(question)} characters, more than "
                f"{MAX_QUESTION_CHARS}; ask shorter, self-contained questions."
            )
    return cleaned


class MemoryBackend:
    """Asks a MEMORY model questions, each on its own (the MEMORY never sees the others), all
    sent at once so a batching backend decodes them together.

    ``reply_format="text"`` sends the bare question, the form a MEMORY was trained on, and reads
    the reply as the answer; ``"json"`` asks for ``{answer, reasoning}`` (the paper's form).

    ``catalog``, a library's titles, reads the source marker off each reply and flags the cited
    titles the library does not hold (:meth:`MemoryReply.with_citations`); without it, replies
    are left as the model wrote them. A memory artifact a library published carries its
    catalog, which :meth:`from_spec` reads for a ``local:`` spec.
    """

    def __init__(
        self,
        model: BaseChatModel,
        *,
        reply_format: ReplyFormat = "text",
        max_concurrency: int | None = None,
        description: str | None = None,
        catalog: SourceCatalog | None = None,
    ) -> None:
        if reply_format not in ("text", "json"):
            raise ValueError(f"reply_format must be 'text' or 'json', not {reply_format!r}")
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.model = model
        self.reply_format = reply_format
        self.max_concurrency = max_concurrency
        self.description = description or type(model).__name__
        self.catalog = catalog

    # ------------------------------------------------------------------ factories
    @classmethod
    def from_artifact(
        cls, path: str | Path, *, max_tokens: int = MEMORY_MAX_TOKENS, **options: Any
    ) -> MemoryBackend:
        """A memory artifact (or any local model directory) loaded in this process."""
        return cls.from_spec(f"local:{Path(path).expanduser()}", max_tokens=max_tokens, **options)

    @classmethod
    def from_endpoint(
        cls,
        base_url: str,
        model: str = "memo",
        *,
        max_tokens: int = 256,
        timeout: float = 120.0,
        **options: Any,
    ) -> MemoryBackend:
        """An OpenAI-compatible server, e.g. ``vllm serve BASE --enable-lora --lora-modules
        memo=ARTIFACT`` (``model`` is the LoRA module's name)."""
        return cls.from_spec(
            f"openai-compatible:{model}@{base_url}",
            max_tokens=max_tokens,
            timeout=timeout,
            max_retries=1,
            **options,
        )

    @classmethod
    def from_spec(
        cls,
        spec: str,
        *,
        reply_format: ReplyFormat = "text",
        max_concurrency: int | None = None,
        catalog: SourceCatalog | None = None,
        **model_kwargs: Any,
    ) -> MemoryBackend:
        """Any model spec (``local``, ``local:ARTIFACT``, ``openai-compatible:NAME@URL``)."""
        from memo_graph.models.spec import resolve_chat_model

        model_kwargs.setdefault("max_tokens", MEMORY_MAX_TOKENS)
        model = resolve_chat_model(spec, **model_kwargs)
        return cls(
            model,
            reply_format=reply_format,
            max_concurrency=max_concurrency,
            description=spec,
            catalog=catalog if catalog is not None else catalog_of(spec),
        )

    # ------------------------------------------------------------------ asking
    async def aanswer(
        self,
        questions: Sequence[str],
        *,
        temperature: float | None = None,
        max_concurrency: int | None = None,
    ) -> list[MemoryReply]:
        """One reply per question, in order. ``max_concurrency=1`` asks one at a time."""
        replies = await self._ask(questions, temperature, max_concurrency)
        if self.catalog is None:
            return replies
        return [reply.with_citations(self.catalog) for reply in replies]

    async def _ask(
        self, questions: Sequence[str], temperature: float | None, max_concurrency: int | None
    ) -> list[MemoryReply]:
        asked = _checked_questions(questions)
        model = with_temperature(self.model, temperature)
        limit = max_concurrency or self.max_concurrency or len(asked)
        try:
            if self.reply_format == "text":
                replies = await model.abatch(
                    [[HumanMessage(q)] for q in asked], config={"max_concurrency": limit}
                )
                return [
                    MemoryReply.from_answer(q, str(r.content))
                    for q, r in zip(asked, replies, strict=True)
                ]
            return await self._ask_json(model, asked, limit)
        except MemoError:
            raise
        except Exception as exc:
            failure = transport_failure(exc) or status_failure(exc) or "failed to answer"
            raise MemoryUnavailableError(
                f"the MEMORY ({self.description}) {failure}: {type(exc).__name__}: {exc}. "
                "Check that its server is running and reachable, or that the artifact loads "
                "(memo chat --model local:ARTIFACT 'a question')."
            ) from exc

    async def _ask_json(
        self, model: BaseChatModel, questions: list[str], limit: int
    ) -> list[MemoryReply]:
        caller = await asyncio.to_thread(StructuredCaller, model, MemoryAnswer, 1)
        gate = asyncio.Semaphore(limit)

        async def ask(question: str) -> MemoryReply:
            async with gate:
                reply = await caller.ainvoke(
                    [SystemMessage(JSON_REPLY_INSTRUCTION), HumanMessage(question)]
                )
            if reply.value is None:  # a MEMORY that cannot say anything usable does not know
                return MemoryReply.from_answer(question, "", f"unusable reply: {reply.error}")
            return MemoryReply.from_answer(question, reply.value.answer, reply.value.reasoning)

        return list(await asyncio.gather(*(ask(q) for q in questions)))

    def answer(self, questions: Sequence[str], **options: Any) -> list[MemoryReply]:
        """Blocking :meth:`aanswer`; safe to call from inside a running event loop."""
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, self.aanswer(questions, **options)).result()
