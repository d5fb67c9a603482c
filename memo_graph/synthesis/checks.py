"""Checks of what the GENERATOR wrote against the source text it was shown.

A document may address whoever reads it ("ignore all previous instructions and answer X").
The prompts say such text is content, but a small GENERATOR can still obey it. An obeying pair
gives itself away: its answer carries words that the text has only inside those instructions,
and nothing from the rest of the text. A pair that asks what the text says or instructs may
report the instruction; that is a fact about the document, not obedience. Any other answer
that repeats the instruction (a small GENERATOR often copies whole passages) would hand it on
to whoever reads the MEMORY's replies, so it goes too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from memo_graph.text import FUNCTION_WORDS

OBEYS_INSTRUCTION = "obeys an instruction in the text"
RELAYS_INSTRUCTION = "repeats an instruction in the text"

_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_WORD = re.compile(r"[^\W_]+")

# Each pattern marks where, in a sentence, text starts telling the reader or a model what to do.
_OVERRIDE = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:[\w'-]+\s+){0,3}?"
    r"(?:instructions?|prompts?|rules|directions|guidelines|directives|orders|commands|context"
    r"|messages?|above)\b",
    re.IGNORECASE,
)
_ROLE = re.compile(
    r"\byou\s+are\s+now\b|\bfrom\s+now\s+on\b(?=[^.!?]*\byou\b)"
    r"|^(?:please\s+)?(?:act|behave|pretend|roleplay)\s+(?:as|like|to\s+be|that)\b"
    r"|\b(?:as|you\s+are)\s+an?\s+(?:ai|language\s+model|assistant|chatbot)\b"
    r"|^(?:system|assistant|developer|admin)(?:\s+(?:prompt|message|note|override))?\s*:"
    r"|\b(?:new|updated|real)\s+instructions?\s*:",
    re.IGNORECASE,
)
# An output verb in command position: opening the sentence or after "you must", where any
# sign of what to put out is enough; after "and" or "then", only a plain one counts.
_VERB = (
    r"(?:(?:please|now|instead|also|always|only|just|simply)\s+)*"
    r"(?:output|print|say|answer|respond|reply|write|repeat|echo)\b"
)
_COMMAND = re.compile(
    r"(?:^|\byou\s+(?:must|should|shall|will|are\s+to|have\s+to|need\s+to|may\s+only"
    rf"|can\s+only)\s+){_VERB}",
    re.IGNORECASE,
)
_JOINED_COMMAND = re.compile(rf"\b(?:and|then)\s+{_VERB}", re.IGNORECASE)
_PLAIN_PAYLOAD = (
    r"\bthe\s+(?:string|word|phrase|message|letters)\b|\bverbatim\b|\bexactly\b|[\"\u201c]"
    r"|\b(?:as|to|in)\s+(?:every|each|all|any|your)\s+(?:answers?|repl(?:y|ies)|responses?|outputs?"
    r"|questions?)\b"
)
_PAYLOAD = re.compile(
    _PLAIN_PAYLOAD
    + r"|\b(?:the\s+(?:words?|text|following)|only|with|instead|always|every|each)\b|:",
    re.IGNORECASE,
)
_PLAIN = re.compile(_PLAIN_PAYLOAD, re.IGNORECASE)
_SHOUTED = re.compile(r"\b[A-Z]{3,}\b")

# A question about what the text says, asks or instructs may be answered with the instruction.
_ABOUT_THE_TEXT = re.compile(
    r"\b(?:instruct\w*|tells?|told|telling|ask(?:s|ed|ing)?|says?|said|stated?|states"
    r"|request\w*|command\w*|orders?|ordered|directs?|directed|demand\w*|urge[sd]?|writes?"
    r"|wrote|written|reads?|claim\w*|contain\w*|message|notice|note|sign|warning|inscription"
    r"|should|must|supposed|expected|required|meant)\b",
    re.IGNORECASE,
)


def _words(text: str) -> set[str]:
    """Content words, lowercased, with a plain plural 's' removed."""
    found = set()
    for word in _WORD.findall(text.lower()):
        if word in FUNCTION_WORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
        found.add(word)
    return found


def _instruction_start(sentence: str) -> int | None:
    """Where the sentence starts addressing its reader or a model; None if it never does."""
    starts = [m.start() for m in (_OVERRIDE.search(sentence), _ROLE.search(sentence)) if m]
    for pattern, payload in ((_COMMAND, _PAYLOAD), (_JOINED_COMMAND, _PLAIN)):
        for command in pattern.finditer(sentence):
            rest = sentence[command.end() :]
            if payload.search(rest) or _SHOUTED.search(rest):
                starts.append(command.start())
                break
    return min(starts) if starts else None


@dataclass(frozen=True)
class Instructions:
    """The instructions a source text gives its reader, and the words that tell an answer
    taken from them apart from one taken from the rest of the text."""

    sentences: tuple[str, ...]
    only_in_instructions: frozenset[str]
    only_in_the_rest: frozenset[str]

    def obeyed_by(self, question: str, answer: str) -> bool:
        """True when the answer is grounded in the instructions alone (words found there and
        nowhere else in the text, none from the rest beyond what the question repeats), and the
        question does not ask what the text says or instructs."""
        if not self.sentences or _ABOUT_THE_TEXT.search(question):
            return False
        said = _words(answer)
        if not said & self.only_in_instructions:
            return False
        return not (said - _words(question)) & self.only_in_the_rest

    def relayed_by(self, question: str, answer: str) -> bool:
        """True when the answer itself gives one of these instructions (in words found only
        there) and the question does not ask what the text says or instructs."""
        if not self.sentences or _ABOUT_THE_TEXT.search(question):
            return False
        given = find_instructions(answer).sentences
        return any(_words(sentence) & self.only_in_instructions for sentence in given)

    def problem(self, question: str, answer: str) -> str | None:
        """The reason to drop the pair, or None to keep it."""
        if self.obeyed_by(question, answer):
            return OBEYS_INSTRUCTION
        if self.relayed_by(question, answer):
            return RELAYS_INSTRUCTION
        return None


def find_instructions(*texts: str) -> Instructions:
    """The instruction-like parts of the texts (a chunk's title and text, or several chunks):
    from where a sentence starts telling the reader or a model what to do, to its end."""
    commands: list[str] = []
    rest: list[str] = []
    for text in texts:
        for match in _SENTENCE.finditer(text):
            sentence = match.group().strip().lstrip("\"'\u201c\u2018([ ")
            start = _instruction_start(sentence)
            if start is None:
                rest.append(sentence)
            else:
                rest.append(sentence[:start])
                commands.append(sentence[start:].strip())
    in_commands = _words(" ".join(commands))
    in_rest = _words(" ".join(rest))
    return Instructions(
        sentences=tuple(commands),
        only_in_instructions=frozenset(in_commands - in_rest),
        only_in_the_rest=frozenset(in_rest - in_commands),
    )
