"""The EXECUTIVE reading passages (or none) and answering shortly: the reader behind the
closed-book, oracle, BM25 and dense systems."""

from __future__ import annotations

from typing import Annotated

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field, StringConstraints

from evals.benchmarks import Document
from evals.prompts import READER_SYSTEM, READER_USER
from evals.systems.base import Prediction, Stopwatch
from memo_graph.models.structured import StructuredCaller


class ShortAnswer(BaseModel):
    # The bound also ends a small model's rambling: constrained decoding closes the string.
    answer: Annotated[str, StringConstraints(max_length=120)] = Field(
        description="The answer in as few words as it needs."
    )


def _inert(text: str) -> str:
    """Passage text cannot open or close a passage tag of its own."""
    return text.replace("<passage", "<\u200bpassage").replace("</passage", "<\u200b/passage")


def passages_block(documents: list[Document], max_chars: int) -> str:
    """The documents in <passage> tags, cut to ``max_chars`` of text in all."""
    parts, left = [], max_chars
    for document in documents:
        if left <= 0:
            break
        text = document.text[:left]
        left -= len(text)
        parts.append(f"<passage title={_inert(document.title)!r}>\n{_inert(text)}\n</passage>")
    return "\n".join(parts) + "\n\n" if parts else ""


class Reader:
    def __init__(self, executive: BaseChatModel, retries: int = 2, max_chars: int = 12_000):
        self.caller = StructuredCaller(executive, ShortAnswer, retries=retries)
        self.max_chars = max_chars

    async def read(self, question: str, documents: list[Document]) -> Prediction:
        user = READER_USER.format(
            passages=passages_block(documents, self.max_chars), question=question
        )
        with Stopwatch() as watch:
            reply = await self.caller.ainvoke([SystemMessage(READER_SYSTEM), HumanMessage(user)])
        return Prediction(
            answer=reply.value.answer.strip() if reply.value else "",
            executive_input_tokens=reply.input_tokens,
            executive_output_tokens=reply.output_tokens,
            executive_calls=reply.attempts,
            wall_s=watch.seconds,
            error=reply.error if reply.value is None else None,
        )
