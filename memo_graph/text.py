"""Words of answers and replies: the identity of a question or a name, content words, and how
much of an answer a text states. Shared by the protocol's rules and the synthesis checks."""

from __future__ import annotations

import re

_NOT_WORD = re.compile(r"[^a-z0-9]+")


def normalise(text: str) -> str:
    """Lower case, punctuation and spacing folded: the identity of a question or a name."""
    return _NOT_WORD.sub(" ", text.lower()).strip()


# Words that carry no content of an answer: a reply that shares only these supports nothing.
_FILLER = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "by",
        "with",
        "from",
        "and",
        "or",
        "is",
        "was",
        "were",
        "be",
        "been",
        "are",
        "it",
        "its",
        "this",
        "that",
        "as",
        "who",
        "what",
        "which",
        "when",
        "where",
        "why",
        "how",
        "he",
        "she",
        "they",
        "his",
        "her",
        "their",
        "i",
        "do",
        "does",
        "did",
        "not",
        "know",
    ]
)


def content_words(text: str) -> set[str]:
    return {word for word in normalise(text).split() if word not in _FILLER}


def support(answer: str, reply: str) -> float:
    """Share of ``answer``'s content words that ``reply`` states (0 for an empty answer)."""
    words = content_words(answer)
    return len(words & content_words(reply)) / len(words) if words else 0.0


_CLAUSE_END = re.compile(r"[,;:]|\.(?:\s|$)| - ")


def core(answer: str) -> str:
    """The answer phrase of a reply, without its confirming clause ("Pellmarsh, a river town."
    -> "Pellmarsh"): MEMORY replies lead with the answer."""
    return _CLAUSE_END.split(answer.strip(), maxsplit=1)[0].strip() or answer.strip()
