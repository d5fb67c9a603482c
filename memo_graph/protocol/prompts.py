"""What the EXECUTIVE is told at each stage of the protocol."""

from __future__ import annotations

from collections.abc import Sequence

from memo_graph.protocol.state import Candidate, Exchange

ROLE = (
    "You answer a query by questioning a MEMORY: a small model that memorised a document "
    "collection you cannot see. The MEMORY answers one question at a time, from memory, with no "
    "context: every question must stand alone and name what it is about. It may say it does "
    "not know. Only trust what it says; do not add knowledge of your own."
)

GROUNDING = (
    ROLE + "\n\nStage 1, grounding. Split the query into at most {limit} short questions for the "
    "MEMORY. Each question isolates one clue of the query that could identify the person, "
    "place or thing the query is about (or that carries the answer). Ask a strong clue in two "
    "different ways. Do not answer the query yourself."
)

IDENTIFICATION = (
    ROLE
    + "\n\nStage 2, entity identification. From the replies so far, keep the list of candidate "
    "entities (most likely first) and the facts that support them. Then either ask one more "
    "question that tells the candidates apart or tests the first one (set target to the "
    "candidate it tests), confirm the first candidate when the replies agree with the query's "
    "clues, or give up when nothing more can be learnt. When a question got 'I don't know', ask "
    "a simpler one with fewer facts in it. Dropped candidates and dead questions are listed: do "
    "not use them again."
)

SEEKING = (
    ROLE + "\n\nStage 3, answer seeking. The query is about {entity}. Ask the MEMORY for the facts "
    "about {entity} that the query wants; every question names {entity}. If the replies show "
    "that another candidate fits better, pivot to it. Decide 'answer' as soon as the replies "
    "answer the query."
)

SEEKING_NO_ENTITY = (
    ROLE + "\n\nStage 3, answer seeking. No entity was identified. Ask the MEMORY direct questions "
    "that could answer the query, or decide 'answer' if nothing more can be learnt."
)

FINAL = (
    ROLE + "\n\nLast step. Answer the query from the MEMORY's replies below, briefly. Justify the "
    "answer with the replies that support it. If the replies do not answer the query, give your "
    "best guess from them and say that it is a guess."
)


# The stage prompts above stay the same from turn to turn and the notebook below only grows at
# its start (query, then replies in order), with what changes every turn at its end: a model
# server that caches prompt prefixes (the local engine, vLLM, OpenAI) reads each turn's new part
# only.


def render_turns_left(turns_left: int) -> str:
    return f"Turns left: {turns_left}."


def render_query(query: str) -> str:
    return f"Query:\n<query>\n{query}\n</query>"


def render_exchanges(exchanges: Sequence[Exchange], *, confident_only: bool = False) -> str:
    shown = [e for e in exchanges if e["sent"] and (e["confident"] or not confident_only)]
    if not shown:
        return "MEMORY replies so far: none."
    lines = ["MEMORY replies so far:"]
    for number, exchange in enumerate(shown, 1):
        answer = exchange["answer"] if exchange["confident"] else "I don't know."
        lines.append(f"{number}. Q: {exchange['question']}\n   A: {answer}")
    return "\n".join(lines)


def render_candidates(candidates: Sequence[Candidate], known_facts: Sequence[str]) -> str:
    lines = []
    if candidates:
        lines.append("Candidates:")
        lines.extend(
            f"- {c['name']} ({c['status']}, {c['unknown_replies']} 'I don't know' about it)"
            for c in candidates
        )
    if known_facts:
        lines.append("Known facts:")
        lines.extend(f"- {fact}" for fact in known_facts)
    return "\n".join(lines) if lines else "Candidates: none yet."


def render_dead_questions(dead: Sequence[str]) -> str:
    if not dead:
        return ""
    return "Dead questions (the MEMORY does not know; do not ask again):\n" + "\n".join(
        f"- {q}" for q in dead
    )
