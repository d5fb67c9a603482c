"""A document's references to its own subject ("He", "Its", "the town") given back its title,
so that a sentence read alone still says what it is about."""

from __future__ import annotations

import re

from memo_graph.synthesis.pair_sources.spans import BORN, LIFE, NOT_NAMES, names_in_sentence
from memo_graph.text import normalise

DEFINITION = re.compile(r"^(?P<subject>.+?) (?:is|was|are|were) (?:a|an|the) (?P<predicate>.+)$")
_HEAD_END = re.compile(
    r",| that | which | who | whose | where | in | on | of | born | for | with | from | near "
    r"| founded | known | and | by |\.$"
)
# Subject pronouns and possessives, for a person and for anything else.
_PRONOUNS = {True: ("he|she", "his"), False: ("it|they", "its")}
POSSESSIVE_NAME = re.compile(r"^(.+?)['\u2019]s$")


def is_person(title: str, text: str) -> bool:
    """A document about a person opens with their years: "Name (1871-1934) was ...", "Name
    (born 13 April 1998)"."""
    name = rf"\s*{re.escape(title)}"
    return bool(re.match(name + LIFE.pattern, text) or re.match(name + BORN.pattern, text))


def subject_nouns(title: str, first_sentence: str) -> set[str]:
    """What the text calls its subject once named: the head noun of the defining sentence
    ("Pellmarsh is a small town on ..." -> "town") and the title's last word ("islands")."""
    nouns = {title.split()[-1].lower()} if title.split() else set()
    match = DEFINITION.match(BORN.sub("", LIFE.sub("", first_sentence)))
    if match and normalise(match["subject"]).endswith(normalise(title)):
        head = _HEAD_END.split(match["predicate"], maxsplit=1)[0].split()
        if head and head[-1].isalpha() and head[-1].islower():
            nouns.add(head[-1])
    return nouns - NOT_NAMES


_OPENING = re.compile(
    r"(?i)^(?:in|as|on|at|after|before|during|from|by|with|for|until|since|when) "
)


def _opens(text: str) -> bool:
    """Whether ``text`` (what comes before a pronoun) only opens the sentence: no name in it,
    and no noun phrase unless inside an opening phrase ("In 1921 she", "As a young man he";
    not "His wife said she", "The mayor said he", "The river burst its")."""
    if names_in_sentence(text, ""):
        return False
    return bool(_OPENING.match(text)) or not re.search(r"(?i)\b(?:the|a|an|his|her|its)\s", text)


def resolve(sentence: str, title: str, nouns: set[str], person: bool) -> str:
    """The sentence with references to the document's subject replaced by its title: its
    first subject pronoun ("he" for a person, "it" otherwise) and possessives ("his", "its")
    when nothing before them could be what they stand for, "Her" opening it, and "the
    <noun>" for the nouns the text calls its subject by."""
    if not title or title.lower() in sentence.lower():
        return sentence
    subject, possessive = _PRONOUNS[person]
    owner = f"{title}'s"
    first = re.search(rf"(?i)\b(?:{subject})\b(?= [a-z])", sentence)
    if first and _opens(sentence[: first.start()]):
        sentence = sentence[: first.start()] + title + sentence[first.end() :]
    found = re.search(rf"(?i)\b(?:{possessive})\b(?= [a-z])", sentence)
    if found and _opens(sentence[: found.start()]):
        sentence = sentence[: found.start()] + owner + sentence[found.end() :]
    if person:
        sentence = re.sub(r"^Her\b", lambda _: owner, sentence)
    # "the islands" -> "the Drennic Islands", but "the town" -> "Pellmarsh".
    named = f"the {title}" if title.endswith("s") and not title.startswith("The ") else title
    for noun in sorted(nouns, key=len, reverse=True):
        sentence = re.sub(rf"\b[Tt]he {re.escape(noun)}\b(?! of)", lambda _: named, sentence)
    return sentence[:1].upper() + sentence[1:]
