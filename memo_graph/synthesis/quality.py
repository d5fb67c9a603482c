"""Whether a pair is worth learning: its question asks something, and an answer that reports a
stated fact stands in the text it came from.

A small GENERATOR writes fragments as questions ("1871-1934" => "1934") and answers from
nowhere ("What is the history of Pellmarsh?" => "a long and winding one"). A MEMORY trained on
them learns nothing it can be asked about, so such pairs are dropped with their reason.
"""

from __future__ import annotations

from memo_graph.text import normalise, support

GROUNDED_SHARE = 0.8
"""Share of an answer's content words that must stand in its source text."""
NOT_A_QUESTION = "not a question"
REPEATS_QUESTION = "answer repeats the question"
NOT_IN_SOURCE = "answer not in the source text"

# First words of a question without its question mark ("Name the founder of ...").
_ASKING = frozenset(
    "who whom whose what which when where why how name list give state describe summarise "  # noqa: SIM905
    "summarize explain complete compare identify define outline tell put is was are were do does "
    "did can could has have had in on at for from by during after before between".split()
)


def form_problem(question: str, answer: str) -> str | None:
    """Why ``question`` => ``answer`` is not a question and its answer, or None."""
    words = normalise(question).split()
    if not words or not (question.rstrip().endswith("?") or words[0] in _ASKING):
        return NOT_A_QUESTION
    if normalise(answer) == normalise(question):
        return REPEATS_QUESTION
    return None


def is_grounded(answer: str, source: str) -> bool:
    """Whether most of ``answer``'s content words stand in ``source``."""
    return support(answer, source) >= GROUNDED_SHARE
