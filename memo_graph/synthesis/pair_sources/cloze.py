"""Question-answer pairs read off each sentence of a chunk by rules: a name, a year or a count
in the sentence becomes the answer, and the sentence with a question phrase in its place
becomes the question ("Orvane Tessaly drew the first chart in 1898." -> "Orvane Tessaly drew
the first chart in what year?" => "1898").

A small GENERATOR rarely writes a question whose answer is the fact it was shown; these pairs
are grounded by construction, ask every name of a sentence (the subject too, so facts are
reachable from their attributes), and cost no GENERATOR call. This is the cloze form of
unsupervised question answering (Lewis et al., ACL 2019), with references to the document's
subject ("He", "Its", "the town") resolved to its title first so that each question stands
alone. ``SynthesisContext.sentence_pairs`` adds them to the extraction step.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from memo_graph.synthesis.pair_sources.references import (
    DEFINITION,
    POSSESSIVE_NAME,
    is_person,
    resolve,
    subject_nouns,
)
from memo_graph.synthesis.pair_sources.spans import (
    BORN,
    COUNT,
    LIFE,
    YEAR,
    names_in_sentence,
    split_sentences,
)
from memo_graph.text import FUNCTION_WORDS, normalise

GENERATOR = "rules:sentences"
"""The provenance of these pairs, in place of a GENERATOR spec."""
MIN_WORDS = 6
"""Shorter sentences (headings, list items) carry no fact worth a question."""
MAX_NAME_WORDS = 8
"""Longest name a lifespan "Name (1871-1934)" may follow."""
_ROLE_BEFORE = re.compile(r"\b[Tt]he ((?:[a-z-]+ ){0,2}[a-z-]+)(?: of)? $")
# Words that make "the <words> <name>" something other than a role or kind of the name.
_FUNCTION_ROLES = FUNCTION_WORDS | frozenset(("said", "says", "told", "across", "behind", "beside"))


@dataclass(frozen=True)
class SentencePair:
    question: str
    answer: str
    fact: int
    """Pairs that ask the same fact of the same sentence share this number."""


_CLAUSE_END = re.compile(r",(?!\d)|[;(]| (?:and|but|which|who|whose|where|while|when) ")
_CLAUSE_START = re.compile(r", (?:and|but|so) |; ")
"""Where a main clause begins inside a sentence: "..., and in 1898 he drew ..."."""

Resolver = Callable[[str], str]
"""Gives a clause its subject's name back ("in what year he drew" -> "in what year Orvane
Tessaly drew"): :func:`resolve` bound to the document."""


def _says_what_it_asks_about(text: str) -> bool:
    """A question must name what it asks about: a name or a number."""
    return bool(re.search(r"\d", text) or names_in_sentence(text, ""))


def _questions(before: str, phrase: str, after: str, focus: Resolver) -> list[str]:
    """The sentence asked in place, then (when shorter) only its clause that asks: up to the
    clause's end ("Pellmarsh is a small town on which river, known for ...?" and "Pellmarsh
    is a small town on which river?"), and from the clause's start, its subject named ("As a
    young man he sailed ..., and in what year he drew the chart of the Drennic Islands?" and
    "In what year Orvane Tessaly drew the chart of the Drennic Islands?")."""
    full = _question(before, phrase, after)
    end = _CLAUSE_END.search(after)
    kept_after = after if end is None else after[: end.start()]
    starts = list(_CLAUSE_START.finditer(before))
    if starts:
        clause = focus(before[starts[-1].end() :] + phrase + kept_after)
        if _says_what_it_asks_about(clause.replace(phrase, " ")):
            return [full, _question("", clause, "")]
    if end is None or not _says_what_it_asks_about(before + kept_after):
        return [full]
    return [full, _question(before, phrase, kept_after)]


def _question(before: str, phrase: str, after: str) -> str:
    text = f"{before}{phrase}{after}".strip()
    text = re.sub(r"\s+([,.;:])", r"\1", text)
    text = re.sub(r"[.;:!]+$", "", text).rstrip(", ")
    return text[:1].upper() + text[1:] + "?"


def _name_phrase(before: str, person: bool) -> tuple[str, str]:
    """The question phrase that replaces a name and the text left before it: "which
    cartographer" for "the cartographer <name>", else "who" (or "whom" after "by") for a
    person, "what" for anything else."""
    role = _ROLE_BEFORE.search(before)
    if role and not set(role[1].split()) & _FUNCTION_ROLES:
        return f"which {role[1]}", before[: role.start()]
    stripped = re.sub(r"\b[Tt]he $", "", before)
    if person:
        return ("whom" if re.search(r"\b(?:by|to|with) $", stripped) else "who"), stripped
    return ("whom" if stripped.endswith("by ") else "what"), stripped


Asked = tuple[list[str], str]
"""The questions that ask one fact, and its answer."""


def _is_name(text: str) -> bool:
    """A short name that opens the sentence, not a clause ("The war", "In 1914 the mill")."""
    return 0 < len(text.split()) <= MAX_NAME_WORDS and text[:1].isupper()


def _years_of_life(sentence: str) -> tuple[list[Asked], str]:
    """Birth and death years of "Name (1871-1934) ..." or "Name (born 13 April 1998)", and
    the sentence without them."""
    life = LIFE.search(sentence)
    named = sentence[: life.start()].strip() if life else ""
    if life and _is_name(named) and YEAR.fullmatch(life[1]) and YEAR.fullmatch(life[2]):
        verb = "was" if " was " in sentence or " is " not in sentence else "is"
        asked = [([f"In what year {verb} {named} born?"], life[1])]
        asked.append(([f"In what year did {named} die?"], life[2]))
        return asked, sentence[: life.start()] + sentence[life.end() :]
    born = BORN.search(sentence)
    named = sentence[: born.start()].strip() if born else ""
    if born and _is_name(named):
        asked = [([f"In what year was {named} born?"], born[1])]
        return asked, sentence[: born.start()] + sentence[born.end() :]
    return [], sentence


def _definition(sentence: str, title: str, person: bool) -> list[Asked]:
    """ "Who was Orvane Tessaly?" => "a cartographer born in ..." from the defining sentence."""
    definition = DEFINITION.match(sentence)
    if not (definition and normalise(definition["subject"]).endswith(normalise(title))):
        return []
    verb, article = sentence[len(definition["subject"]) :].split()[:2]
    subject = re.sub(r"^The ", "the ", definition["subject"])
    asked = "Who" if person else "What"
    return [([f"{asked} {verb} {subject}?"], f"{article} {definition['predicate']}")]


def _years(sentence: str, focus: Resolver) -> list[Asked]:
    return [
        (_questions(sentence[: y.start()], "what year", sentence[y.end() :], focus), y[1])
        for y in YEAR.finditer(sentence)
    ]


def _counts(sentence: str, focus: Resolver) -> list[Asked]:
    asked = []
    for count in COUNT.finditer(sentence):
        if not YEAR.fullmatch(count["number"]):
            phrase = f"{count['approx'] or ''}how many {count['things']}"
            before, after = sentence[: count.start()], sentence[count.end() :]
            # The count with what it counts: "14 islands", "nineteen miles".
            answer = f"{count['number']} {count['things']}"
            asked.append((_questions(before, phrase, after, focus), answer))
    return asked


def _names_asked(sentence: str, title: str, person: bool, focus: Resolver) -> list[Asked]:
    """Each name asked in place: "whose" for an owner ("Pellmarsh's clock tower"), "which
    <role>" for "the <role> <name>", else "who" or "what"."""
    asked = []
    for start, end in names_in_sentence(sentence, title):
        name = sentence[start:end]
        owner = POSSESSIVE_NAME.match(name)
        if owner or re.match(r"['\u2019]s\b", sentence[end:]):
            before = re.sub(r"\b[Tt]he $", "", sentence[:start])
            after = sentence[end:] if owner else sentence[end + 2 :]
            asked.append((_questions(before, "whose", after, focus), owner[1] if owner else name))
            continue
        phrase, before = _name_phrase(sentence[:start], person and name == title)
        asked.append((_questions(before, phrase, sentence[end:], focus), name))
    return asked


def sentence_pairs(title: str, text: str, exclude: Sequence[str] = ()) -> list[SentencePair]:
    """Pairs from every sentence of ``text`` (a chunk of the document ``title``), except those
    that hold one of ``exclude`` (instructions the text gives its reader: a rule cannot tell
    a fact about them from obeying them)."""
    excluded = [normalise(part) for part in exclude if normalise(part)]
    sentences = split_sentences(text)
    if not sentences:
        return []
    nouns = subject_nouns(title, sentences[0])
    person = is_person(title, text)

    def focus(clause: str) -> str:
        return resolve(clause, title, nouns, person)

    pairs: dict[tuple[str, str], SentencePair] = {}
    facts = 0
    for number, raw in enumerate(sentences):
        sentence = raw if number == 0 else resolve(raw, title, nouns, person)
        if len(sentence.split()) < MIN_WORDS or sentence.endswith(":"):
            continue
        if any(part in normalise(raw) for part in excluded):
            continue
        asked: list[Asked] = []
        if number == 0:  # "Name (1871-1934) was ...": the document opens with its subject
            asked, sentence = _years_of_life(sentence)
            asked += _definition(sentence, title, person)
        asked += _years(sentence, focus) + _counts(sentence, focus)
        asked += _names_asked(sentence, title, person, focus)
        for questions, answer in asked:
            answer = answer.strip(" ,.")
            facts += 1
            for question in questions:
                if answer and normalise(answer) not in normalise(question):
                    key = (normalise(question), normalise(answer))
                    pairs.setdefault(key, SentencePair(question, answer, facts))
    return list(pairs.values())
