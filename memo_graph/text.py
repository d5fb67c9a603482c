"""Words of answers and replies: the identity of a question or a name, content words, and how
much of an answer a text states. Shared by the protocol's rules and the synthesis checks."""

from __future__ import annotations

import re

_NOT_WORD = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """Case, punctuation and spacing folded, letters and digits of every script kept: the
    identity of a question or a name."""
    return _NOT_WORD.sub(" ", text.casefold()).strip()


FUNCTION_WORDS = frozenset(
    "a an the this that these those "  # noqa: SIM905
    "of in on at to for by with from into onto over under about after before during since "
    "until while near as "
    "and or but if then "
    "i you your he she it its his her they their them we our who whom whose "
    "what which when where why how there here "
    "is was were are be been am do does did has had have not "
    "all any each every both some many most one".split()
)
"""The words of one list for every rule that reads text: they say how a sentence is built,
not what it is about, and a capitalised one opening a sentence names nothing."""

_NOT_CONTENT = FUNCTION_WORDS | {"know", "answer"}
"""What a reply that states nothing ("I do not know the answer") is made of."""


def content_words(text: str) -> set[str]:
    return {word for word in normalise(text).split() if word not in _NOT_CONTENT}


def support(answer: str, reply: str) -> float:
    """Share of ``answer``'s content words that ``reply`` states (0 for an empty answer)."""
    words = content_words(answer)
    return len(words & content_words(reply)) / len(words) if words else 0.0


# First words of a question without its question mark ("Name the founder of ...").
_ASKING = frozenset(
    "who whom whose what which when where why how name list give state describe summarise "  # noqa: SIM905
    "summarize explain complete compare identify define outline tell put is was are were do does "
    "did can could has have had in on at for from by during after before between".split()
)


def is_question(text: str) -> bool:
    """Whether ``text`` asks something: it ends with a question mark or opens as a request
    does. Fragments ("1871-1934"), paths and lists of numbers do not."""
    if text.rstrip().endswith(("?", "\uff1f")):  # any script: a question mark asks
        return bool(text.strip(" ?\uff1f"))
    words = normalise(text).split()
    return bool(words) and words[0] in _ASKING


# Where a reply's answer phrase ends: a comma (not one inside "1,200"), a semicolon, a colon
# (not one inside "10:30"), a full stop (not one after "Dr" or "St"), or a dash.
_CLAUSE_END = re.compile(r",(?!\d{3}\b)|;|:(?!\d)|(?<!\b[A-Z][a-z])(?<!\b[A-Z])\.(?:\s|$)| - ")


# "Orvane Tessaly, Ilsabet Marrow and Brisca Holloway.": a list is one answer phrase.
_LIST = re.compile(r"^[^,;:.]+(?:, [^,;:.]+)*,? (?:and|or) [^,;:.]+\.?$")
_LIST_ITEM_WORDS = 5


def core(answer: str) -> str:
    """The answer phrase of a reply, without its confirming clause ("Pellmarsh, a river town."
    -> "Pellmarsh"): MEMORY replies lead with the answer. A list of short items stays whole."""
    text = answer.strip()
    if _LIST.match(text):
        items = re.split(r",? (?:and|or) |, ", text.rstrip("."))
        if all(len(item.split()) <= _LIST_ITEM_WORDS for item in items):
            return text.rstrip(".").strip()
    return _CLAUSE_END.split(text, maxsplit=1)[0].strip() or text
