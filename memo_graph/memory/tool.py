"""The MEMORY as a LangChain tool, for any agent: ``create_agent(model, tools=[MemoryTool...])``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForToolRun, CallbackManagerForToolRun
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field, field_validator

from memo_graph.memory.backend import MemoryBackend
from memo_graph.memory.library import current_memory
from memo_graph.memory.replies import MemoryReply

MAX_QUESTIONS_PER_CALL = 32


class MemoryQuestions(BaseModel):
    """Arguments of the MEMORY tool."""

    questions: list[str] | str = Field(
        description=(
            "One question, or a list of independent questions. Each must stand alone: name the "
            "person, place or thing it is about, and ask for one fact."
        )
    )

    @field_validator("questions")
    @classmethod
    def _one_or_more(cls, value: list[str] | str) -> list[str] | str:
        asked = [value] if isinstance(value, str) else value
        if not asked or any(not q.strip() for q in asked):
            raise ValueError("give at least one question, and no empty ones")
        if len(asked) > MAX_QUESTIONS_PER_CALL:
            raise ValueError(f"at most {MAX_QUESTIONS_PER_CALL} questions per call")
        return value


def _as_text(replies: list[MemoryReply]) -> str:
    return "\n\n".join(_reply_text(r) for r in replies)


def _reply_text(reply: MemoryReply) -> str:
    lines = [f"Q: {reply.question}", f"A: {reply.answer if reply.confident else 'I do not know.'}"]
    if reply.sources:
        lines.append(f"Sources: {'; '.join(reply.sources)}")
    if reply.unverified_sources:
        shown = "; ".join(reply.unverified_sources)
        lines.append(f"Unverified sources (not in the library): {shown}")
    return "\n".join(lines)


def _pop_tool_options(options: dict[str, Any]) -> dict[str, Any]:
    """Split the tool's own settings from those meant for the backend."""
    return {k: options.pop(k) for k in ("name", "description", "temperature") if k in options}


class MemoryTool(BaseTool):
    """Asks the MEMORY: a small model fine-tuned on a document collection that answers from its
    weights alone. All questions of one call go to the backend together.

    Returns the answers as text (one ``Q:``/``A:`` block per question) and, as the tool
    message's artifact, one ``{question, answer, reasoning, confident, sources,
    unverified_sources}`` dict per question (see :class:`MemoryReply`).

    Example:
        .. code-block:: python

            from memo_graph import MemoryTool

            memory = MemoryTool.from_artifact("memory/")
            memory.invoke({"questions": ["Where was Talves Kormindra born?"]})
    """

    name: str = "ask_memory"
    description: str = (
        "Ask the memory, a model that has memorised a private document collection, one or "
        "more factual questions about it. It answers each question on its own, from memory, "
        "and says 'I do not know' when it does not remember. Ask short questions that name "
        "what they are about; ask several phrasings of an important question."
    )
    args_schema: type[BaseModel] = MemoryQuestions
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    backend: MemoryBackend
    temperature: float | None = None
    """Sampling temperature of the MEMORY for this tool's calls; None keeps the model's own."""

    @classmethod
    def from_artifact(cls, path: str | Path, **options: Any) -> MemoryTool:
        """A memory artifact (adapter or full weights) answering in this process.

        Args:
            path: the artifact's directory (``memo train --out``).
            **options: the tool's fields (``name``, ``description``, ``temperature``) and
                :meth:`MemoryBackend.from_artifact`'s settings.

        Returns:
            The tool, its model loaded once per process and shared.
        """
        tool_options = _pop_tool_options(options)
        return cls(backend=MemoryBackend.from_artifact(path, **options), **tool_options)

    @classmethod
    def from_library(cls, path: str | Path, **options: Any) -> MemoryTool:
        """A memory library's current memory (``memo library init``, ``memo add``) answering in
        this process. It keeps the memory that was current when it was made: make a new tool
        after the library changes. A cited title the library does not hold (or has forgotten)
        is reported under ``unverified_sources``, not ``sources``.

        Args:
            path: the library's directory.
            **options: as :meth:`from_artifact`.

        Returns:
            The tool over the library's current memory.
        """
        return cls.from_artifact(current_memory(path), **options)

    @classmethod
    def from_endpoint(cls, base_url: str, model: str = "memo", **options: Any) -> MemoryTool:
        """An OpenAI-compatible server (vLLM serving the adapter as ``model``).

        Args:
            base_url: the server's URL, ending in ``/v1``.
            model: the name the server gives the MEMORY (``--lora-modules memo=DIR``).
            **options: the tool's fields and :meth:`MemoryBackend.from_endpoint`'s settings.

        Returns:
            The tool; every call has the backend's timeout and total deadline.
        """
        tool_options = _pop_tool_options(options)
        return cls(backend=MemoryBackend.from_endpoint(base_url, model, **options), **tool_options)

    def _run(
        self,
        questions: list[str] | str,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> tuple[str, list[dict[str, Any]]]:
        asked = [questions] if isinstance(questions, str) else list(questions)
        replies = self.backend.answer(asked, temperature=self.temperature)
        return _as_text(replies), [r.model_dump() for r in replies]

    async def _arun(
        self,
        questions: list[str] | str,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> tuple[str, list[dict[str, Any]]]:
        asked = [questions] if isinstance(questions, str) else list(questions)
        replies = await self.backend.aanswer(asked, temperature=self.temperature)
        return _as_text(replies), [r.model_dump() for r in replies]
