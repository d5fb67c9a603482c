"""Where the facts of a sentence stand: sentence ends, names, years, lifespans and counts."""

from __future__ import annotations

import re

from memo_graph.text import FUNCTION_WORDS

# A sentence ends at . ! or ?, but not after a title or an abbreviation ("Dr. Marrow").
_TITLES = ("Dr", "Mr", "Ms", "St", "Jr", "Sr", "Mt", "Mrs")
_ABBREVIATIONS = "".join(rf"(?<!\b{a}\.)" for a in _TITLES)
_SENTENCE_END = re.compile(rf"(?<=[.!?]){_ABBREVIATIONS}\s+(?=[A-Z0-9\"'(])")
YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
# "(1871-1934)", "( 24 May 1900 - 31 October 1984)", "(born 13 April 1998)": bounded, so an
# unclosed parenthesis costs little.
LIFE = re.compile(
    r"\s*\((?:born\s+)?[^()]{0,40}?\b(\d{3,4})\s*[-\u2013\u2014]\s*[^()]{0,40}?\b(\d{3,4})\)"
)
BORN = re.compile(r"\s*\(\s*born\s+[^()]{0,40}?\b(\d{4})\)")
_NUMBER_WORDS = (  # noqa: SIM905
    "two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty "
    "ninety hundred"
).split()
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_UNITS = "one|two|three|four|five|six|seven|eight|nine"
_NUMBER = rf"\d+(?:,\d{{3}})*|(?:{_TENS})-(?:{_UNITS})|{'|'.join(_NUMBER_WORDS)}"
COUNT = re.compile(
    r"\b(?P<approx>(?:about|around|over|nearly|some) )?"
    rf"(?P<number>{_NUMBER}) (?P<things>(?:[a-z-]+ )?(?:[a-z-]+s|people|men|women|children|feet))\b"
)
_CAPITAL = "A-Z\u00c0-\u00d6\u00d8-\u00de"  # Latin-1 capitals too: "\u00c9mile", "\u00d8rsted"
_NAME_WORD = rf"[{_CAPITAL}][\w'\u2019-]*"
NAME = re.compile(
    rf"(?:(?:{'|'.join(_TITLES)})\. )?{_NAME_WORD}"
    rf"(?:(?: (?:of|the|de|del|von|van|la|le|and))* {_NAME_WORD})*"
)
# Capitalised only because they open a sentence, or not names at all.
NOT_NAMES = FUNCTION_WORDS | frozenset(
    "january february march april may june july august september october november december "  # noqa: SIM905
    "monday tuesday wednesday thursday friday saturday sunday".split()
)
# A lone word that opens a sentence with one of these endings is a verb or an adverb there.
_OPENING_NOT_NAME = re.compile(r"^[A-Z][a-z]+(?:ed|ing|ly)$")


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(" ".join(text.split())) if s.strip()]


def names_in_sentence(sentence: str, title: str) -> list[tuple[int, int]]:
    """Where the names of the sentence stand: runs of capitalised words, and the title
    wherever it occurs ("Fennia glaucora" is one name)."""
    # The title inside a longer name ("Lornhaven Observatory") is not a name of its own.
    inside = rf"(?<![A-Z][\w'-] )(?<![A-Z][\w'-]{{2}} ){re.escape(title)}(?! [A-Z])"
    titled = [m.span() for m in re.finditer(inside, sentence)] if title else []
    spans = list(titled)
    for match in NAME.finditer(sentence):
        if any(a < match.end() and match.start() < b for a, b in titled):
            continue
        start, words = match.start(), match.group().split()
        while words and words[0].lower() in NOT_NAMES:
            start += len(words[0]) + 1
            words = words[1:]
        if start == 0 and len(words) == 1 and _OPENING_NOT_NAME.match(words[0]):
            continue
        if words and not YEAR.fullmatch(words[0]):
            spans.append((start, start + len(" ".join(words))))
    return sorted(spans)
