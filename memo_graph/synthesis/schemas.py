"""What the GENERATOR is asked to return at each synthesis step."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

QUESTION_CHARS = 300
Question = Annotated[str, StringConstraints(max_length=QUESTION_CHARS)]
Answer = Annotated[str, StringConstraints(max_length=1000)]

Problem = Literal[
    "unresolved_pronoun",
    "relative_time",
    "refers_to_source",
    "vague_reference",
    "missing_context",
    "incomplete_answer",
]


class QA(BaseModel):
    question: Question
    answer: Answer


class Rephrased(BaseModel):
    question: Question


class QAList(BaseModel):
    pairs: list[QA] = Field(max_length=12)


class SourcedQA(BaseModel):
    question: Question
    answer: Answer
    sources: list[int] = Field(
        description="Numbers of the listed facts this pair is built from.", max_length=20
    )


class SourcedQAList(BaseModel):
    pairs: list[SourcedQA] = Field(max_length=6)


class Verdict(BaseModel):
    number: int = Field(description="The number of the pair judged.")
    problems: list[Problem] = Field(
        description="What stops the pair from standing alone; empty when it does.", max_length=6
    )


class Verdicts(BaseModel):
    verdicts: list[Verdict] = Field(max_length=20)
