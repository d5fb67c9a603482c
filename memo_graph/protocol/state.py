"""The protocol graph's state: what goes in, what comes out, and the running record."""

from __future__ import annotations

from typing import Literal

from typing_extensions import NotRequired, TypedDict

Stage = Literal["grounding", "identification", "seeking"]
CandidateStatus = Literal["active", "demoted", "dropped", "confirmed"]


class Exchange(TypedDict):
    """One question put to the MEMORY and its reply."""

    stage: Stage
    question: str
    answer: str
    reasoning: str
    confident: bool
    target: str
    """The candidate entity the question tests; empty when it tests none."""
    sent: bool
    """False when the graph refused to send it (a dead-end question)."""
    sources: NotRequired[list[str]]
    """Titles of the documents the reply cites (see memo_graph/memory/sources.py)."""
    unverified_sources: NotRequired[list[str]]
    """Titles it cites that the MEMORY's library does not hold: not citations."""


class Candidate(TypedDict):
    name: str
    status: CandidateStatus
    unknown_replies: int
    """'I don't know' replies to questions that targeted this candidate."""


class Cost(TypedDict, total=False):
    executive_calls: int
    executive_input_tokens: int
    executive_output_tokens: int
    memory_calls: int
    wall_s: float
    stage_seconds: dict[str, float]
    """Seconds spent waiting on the MEMORY, per stage."""


def add_cost(left: Cost | None, right: Cost | None) -> Cost:
    """Sum two cost records; ``wall_s`` is a reading, not a sum: the newer one wins."""
    merged: Cost = dict(left or {})  # type: ignore[assignment]
    for key, value in (right or {}).items():
        if key == "wall_s":
            merged["wall_s"] = value  # type: ignore[typeddict-item]
        elif key == "stage_seconds":
            seconds = dict(merged.get("stage_seconds", {}))
            for stage, spent in value.items():  # type: ignore[attr-defined]
                seconds[stage] = round(seconds.get(stage, 0.0) + spent, 4)
            merged["stage_seconds"] = seconds
        else:
            merged[key] = merged.get(key, 0) + value  # type: ignore[literal-required, operator]
    return merged


class ProtocolInput(TypedDict):
    query: str


# The record keys (trail, cost, errors) carry no reducers: every node writes their whole new
# value. A reducer would add the seeking subgraph's copy of them to the parent's a second time.
class ProtocolOutput(TypedDict, total=False):
    query: str
    answer: str
    justification: str
    entity: str
    """The entity the answer is about: confirmed, or the best remaining candidate."""
    identified: bool
    """True when the EXECUTIVE confirmed the entity within budget."""
    decided_by: str
    """The rule that chose the answer: the EXECUTIVE's answer when a confident MEMORY reply
    supports it, else a MEMORY reply (see protocol/rules.py ``decide_answer``)."""
    executive_answer: str
    """The EXECUTIVE's final answer as it gave it, before the graph's support check."""
    sources: list[str]
    """The documents cited by the MEMORY replies the answer rests on: the reply it was taken
    from, else the confident replies that support it (protocol/rules.py ``answer_sources``)."""
    unverified_sources: list[str]
    """Titles those replies cite that the MEMORY's library does not hold: not citations."""
    candidates: list[Candidate]
    known_facts: list[str]
    trail: list[Exchange]
    cost: Cost
    errors: list[str]


class ProtocolState(ProtocolOutput, total=False):
    sub_questions: list[str]
    identification_turn: int
    seeking_turn: int
    started_at: float
