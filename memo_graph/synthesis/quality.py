"""Whether a pair is worth learning: its question asks something, and an answer that reports a
stated fact stands in the text it came from.

A small GENERATOR writes fragments as questions ("1871-1934" => "1934") and answers from
nowhere ("What is the history of Pellmarsh?" => "a long and winding one"). A MEMORY trained on
them learns nothing it can be asked about, so such pairs are dropped with their reason.
"""

from __future__ import annotations

from memo_graph.text import content_words, is_question, normalise, support

GROUNDED_SHARE = 0.8
"""Share of an answer's content words that must stand in its source text."""
NOT_A_QUESTION = "not a question"
REPEATS_QUESTION = "answer repeats the question"
NOT_IN_SOURCE = "answer not in the source text"
GIVES_ANSWER = "rephrased question gives the answer away"
ADDS_WORDS = "rephrased question adds words"
DROPS_WORDS = "rephrased question drops words"
ASKS_OTHER = "rephrased question asks for something else"
KEPT_SHARE = 0.6
"""Share of the original question's content words a rephrasing must keep."""
# Words a rephrasing may bring that state no fact ("In which year did ...").
_QUESTION_WORDS = frozenset("year many much number name there did does do whom whose".split())  # noqa: SIM905


def form_problem(question: str, answer: str) -> str | None:
    """Why ``question`` => ``answer`` is not a question and its answer, or None."""
    if not is_question(question):
        return NOT_A_QUESTION
    if normalise(answer) == normalise(question):
        return REPEATS_QUESTION
    return None


def is_grounded(answer: str, source: str) -> bool:
    """Whether most of ``answer``'s content words stand in ``source``."""
    return support(answer, source) >= GROUNDED_SHARE


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _asks_for(question: str) -> str:
    text = f" {normalise(question)} "
    if " how many " in text or " how much " in text:
        return "a count"
    if " year " in text or text.startswith(" when "):
        return "a time"
    return "a name"


def rephrasing_problem(rephrased: str, original: str, answer: str) -> str | None:
    """Why ``rephrased`` is not ``original`` asked another way, or None: it must be a question
    that asks for the same kind of thing, keeps the answer out, keeps most of the original's
    content words and brings none of its own ("What was their mission?")."""
    problem = form_problem(rephrased, answer)
    if problem is not None:
        return problem
    if normalise(answer) in normalise(rephrased):
        return GIVES_ANSWER
    if _asks_for(rephrased) != _asks_for(original):
        return ASKS_OTHER
    known = {_stem(w) for w in content_words(original)}
    said = {_stem(w) for w in content_words(rephrased)}
    if (said - known) - _QUESTION_WORDS:
        return ADDS_WORDS
    if len(said & known) < KEPT_SHARE * len(known):
        return DROPS_WORDS
    return None
