"""What the EXECUTIVE is asked to return at each stage. Lengths are bounded so that a
constrained decoder (and a rambling model) cannot run away."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, create_model

Question = Annotated[str, StringConstraints(max_length=240)]
Name = Annotated[str, StringConstraints(max_length=100)]
Fact = Annotated[str, StringConstraints(max_length=240)]


class GroundingPlan(BaseModel):
    sub_questions: list[Question] = Field(
        description="Short self-contained questions for the memory, each about one clue.",
        min_length=1,
    )


@cache
def grounding_plan(max_subquestions: int) -> type[GroundingPlan]:
    """:class:`GroundingPlan` allowing at most ``max_subquestions`` questions."""
    return create_model(  # type: ignore[no-any-return]
        "GroundingPlan",
        __base__=GroundingPlan,
        sub_questions=(
            list[Question],
            Field(
                description=GroundingPlan.model_fields["sub_questions"].description,
                min_length=1,
                max_length=max_subquestions,
            ),
        ),
    )


class IdentificationStep(BaseModel):
    known_facts: list[Fact] = Field(
        description="Facts the memory confirmed so far that help identify the entity.",
        max_length=8,
    )
    candidates: list[Name] = Field(
        description="Entities that may be the one the query is about, most likely first.",
        max_length=5,
    )
    decision: Literal["ask", "confirm", "give_up"] = Field(
        description="ask: one more question; confirm: the first candidate is the entity; "
        "give_up: no question can help any more."
    )
    target: Name = Field(description="The candidate the next question tests, or an empty string.")
    question: Question = Field(
        description="The next question for the memory when deciding ask, else empty."
    )


class SeekingStep(BaseModel):
    decision: Literal["ask", "pivot", "answer"] = Field(
        description="ask: one more question about the entity; pivot: switch to another "
        "candidate and ask about it; answer: enough is known to answer the query."
    )
    entity: Name = Field(description="The entity the question is about.")
    question: Question = Field(
        description="The next question for the memory, naming the entity; empty when answering."
    )


class FinalAnswer(BaseModel):
    answer: Annotated[str, StringConstraints(max_length=300)] = Field(
        description="The answer to the query, short."
    )
    justification: Annotated[str, StringConstraints(max_length=800)] = Field(
        description="Why: the memory's replies that support the answer."
    )
