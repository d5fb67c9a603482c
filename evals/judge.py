"""Binary LLM-judge correctness with the paper's criteria; the judge is any model spec."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field, StringConstraints

from evals.prompts import JUDGE_SYSTEM, JUDGE_USER
from memo_graph.models.structured import StructuredCaller


class Verdict(BaseModel):
    correct: bool = Field(description="True when the answer matches a reference.")
    reason: Annotated[str, StringConstraints(max_length=240)] = Field(
        description="One sentence on why."
    )


@dataclass
class Grade:
    correct: bool | None
    """None when the judge gave no usable verdict."""
    reason: str
    input_tokens: int = 0
    output_tokens: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Judge:
    def __init__(self, model: BaseChatModel, retries: int = 2) -> None:
        self.caller = StructuredCaller(model, Verdict, retries=retries)

    async def grade(self, question: str, references: list[str], answer: str) -> Grade:
        if not answer.strip():
            return Grade(False, "no answer was given")
        user = JUDGE_USER.format(
            question=question, references=" | ".join(references), answer=answer
        )
        reply = await self.caller.ainvoke([SystemMessage(JUDGE_SYSTEM), HumanMessage(user)])
        if reply.value is None:
            return Grade(
                None,
                f"the judge gave no usable verdict: {reply.error}",
                reply.input_tokens,
                reply.output_tokens,
            )
        return Grade(
            reply.value.correct, reply.value.reason, reply.input_tokens, reply.output_tokens
        )
