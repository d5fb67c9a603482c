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

from memo_graph.text import normalise

GENERATOR = "rules:sentences"
"""The provenance of these pairs, in place of a GENERATOR spec."""
MIN_WORDS = 6
"""Shorter sentences (headings, list items) carry no fact worth a question."""
MAX_NAME_WORDS = 8
"""Longest name a lifespan "Name (1871-1934)" may follow."""

# A sentence ends at . ! or ?, but not after a title or an abbreviation ("Dr. Marrow").
_TITLES = ("Dr", "Mr", "Ms", "St", "Jr", "Sr", "Mt", "Mrs")
_ABBREVIATIONS = "".join(rf"(?<!\b{a}\.)" for a in _TITLES)
_SENTENCE_END = re.compile(rf"(?<=[.!?]){_ABBREVIATIONS}\s+(?=[A-Z0-9\"'(])")
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
# "(1871-1934)", "( 24 May 1900 - 31 October 1984)", "(born 13 April 1998)": bounded, so an
# unclosed parenthesis costs little.
_LIFE = re.compile(
    r"\s*\((?:born\s+)?[^()]{0,40}?\b(\d{3,4})\s*[-\u2013\u2014]\s*[^()]{0,40}?\b(\d{3,4})\)"
)
_BORN = re.compile(r"\s*\(\s*born\s+[^()]{0,40}?\b(\d{4})\)")
_NUMBER_WORDS = (  # noqa: SIM905
    "two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty "
    "ninety hundred"
).split()
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_UNITS = "one|two|three|four|five|six|seven|eight|nine"
_NUMBER = rf"\d+(?:,\d{{3}})*|(?:{_TENS})-(?:{_UNITS})|{'|'.join(_NUMBER_WORDS)}"
_COUNT = re.compile(
    r"\b(?P<approx>(?:about|around|over|nearly|some) )?"
    rf"(?P<number>{_NUMBER}) (?P<things>(?:[a-z-]+ )?(?:[a-z-]+s|people|men|women|children|feet))\b"
)
_CAPITAL = "A-Z\u00c0-\u00d6\u00d8-\u00de"  # Latin-1 capitals too: "\u00c9mile", "\u00d8rsted"
_NAME_WORD = rf"[{_CAPITAL}][\w'\u2019-]*"
_NAME = re.compile(
    rf"(?:(?:{'|'.join(_TITLES)})\. )?{_NAME_WORD}"
    rf"(?:(?: (?:of|the|de|del|von|van|la|le|and))* {_NAME_WORD})*"
)
# Capitalised only because they open a sentence, or not names at all.
_NOT_NAMES = frozenset(
    "a an the in on at as by for from of to after before during since until while with he "  # noqa: SIM905
    "she it its his her they their them this that these those there here when where which "
    "who what how one some many most all each both january february march april may june "
    "july august september october november december monday tuesday wednesday thursday "
    "friday saturday sunday".split()
)
# A lone word that opens a sentence with one of these endings is a verb or an adverb there.
_OPENING_NOT_NAME = re.compile(r"^[A-Z][a-z]+(?:ed|ing|ly)$")
_ROLE_BEFORE = re.compile(r"\b[Tt]he ((?:[a-z-]+ ){0,2}[a-z-]+)(?: of)? $")
# Words that make "the <words> <name>" something other than a role or kind of the name.
_FUNCTION_ROLES = frozenset(
    "of the a an and or in on at to by for from with is was are were has had have near over "  # noqa: SIM905
    "into under onto across about after before said says told near behind beside".split()
)
_DEFINITION = re.compile(r"^(?P<subject>.+?) (?:is|was|are|were) (?:a|an|the) (?P<predicate>.+)$")
_HEAD_END = re.compile(
    r",| that | which | who | whose | where | in | on | of | born | for | with | from | near "
    r"| founded | known | and | by |\.$"
)
# Subject pronouns and possessives, for a person and for anything else.
_PRONOUNS = {True: ("he|she", "his"), False: ("it|they", "its")}
_POSSESSIVE_NAME = re.compile(r"^(.+?)['\u2019]s$")


@dataclass(frozen=True)
class SentencePair:
    question: str
    answer: str
    fact: int
    """Pairs that ask the same fact of the same sentence share this number."""


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(" ".join(text.split())) if s.strip()]


def _is_person(title: str, text: str) -> bool:
    """A document about a person opens with their years: "Name (1871-1934) was ...", "Name
    (born 13 April 1998)"."""
    name = rf"\s*{re.escape(title)}"
    return bool(re.match(name + _LIFE.pattern, text) or re.match(name + _BORN.pattern, text))


def subject_nouns(title: str, first_sentence: str) -> set[str]:
    """What the text calls its subject once named: the head noun of the defining sentence
    ("Pellmarsh is a small town on ..." -> "town") and the title's last word ("islands")."""
    nouns = {title.split()[-1].lower()} if title.split() else set()
    match = _DEFINITION.match(_BORN.sub("", _LIFE.sub("", first_sentence)))
    if match and normalise(match["subject"]).endswith(normalise(title)):
        head = _HEAD_END.split(match["predicate"], maxsplit=1)[0].split()
        if head and head[-1].isalpha() and head[-1].islower():
            nouns.add(head[-1])
    return nouns - _NOT_NAMES


_OPENING = re.compile(
    r"(?i)^(?:in|as|on|at|after|before|during|from|by|with|for|until|since|when) "
)


def _opens(text: str) -> bool:
    """Whether ``text`` (what comes before a pronoun) only opens the sentence: no name in it,
    and no noun phrase unless inside an opening phrase ("In 1921 she", "As a young man he";
    not "His wife said she", "The mayor said he", "The river burst its")."""
    if _names(text, ""):
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


_CLAUSE_END = re.compile(r",(?!\d)|[;(]| (?:and|but|which|who|whose|where|while|when) ")
_CLAUSE_START = re.compile(r", (?:and|but|so) |; ")
"""Where a main clause begins inside a sentence: "..., and in 1898 he drew ..."."""

Resolver = Callable[[str], str]
"""Gives a clause its subject's name back ("in what year he drew" -> "in what year Orvane
Tessaly drew"): :func:`resolve` bound to the document."""


def _says_what_it_asks_about(text: str) -> bool:
    """A question must name what it asks about: a name or a number."""
    return bool(re.search(r"\d", text) or _names(text, ""))


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


def _names(sentence: str, title: str) -> list[tuple[int, int]]:
    """Where the names of the sentence stand: runs of capitalised words, and the title
    wherever it occurs ("Fennia glaucora" is one name)."""
    # The title inside a longer name ("Lornhaven Observatory") is not a name of its own.
    inside = rf"(?<![A-Z][\w'-] )(?<![A-Z][\w'-]{{2}} ){re.escape(title)}(?! [A-Z])"
    titled = [m.span() for m in re.finditer(inside, sentence)] if title else []
    spans = list(titled)
    for match in _NAME.finditer(sentence):
        if any(a < match.end() and match.start() < b for a, b in titled):
            continue
        start, words = match.start(), match.group().split()
        while words and words[0].lower() in _NOT_NAMES:
            start += len(words[0]) + 1
            words = words[1:]
        if start == 0 and len(words) == 1 and _OPENING_NOT_NAME.match(words[0]):
            continue
        if words and not _YEAR.fullmatch(words[0]):
            spans.append((start, start + len(" ".join(words))))
    return sorted(spans)


Asked = tuple[list[str], str]
"""The questions that ask one fact, and its answer."""


def _is_name(text: str) -> bool:
    """A short name that opens the sentence, not a clause ("The war", "In 1914 the mill")."""
    return 0 < len(text.split()) <= MAX_NAME_WORDS and text[:1].isupper()


def _years_of_life(sentence: str) -> tuple[list[Asked], str]:
    """Birth and death years of "Name (1871-1934) ..." or "Name (born 13 April 1998)", and
    the sentence without them."""
    life = _LIFE.search(sentence)
    named = sentence[: life.start()].strip() if life else ""
    if life and _is_name(named) and _YEAR.fullmatch(life[1]) and _YEAR.fullmatch(life[2]):
        verb = "was" if " was " in sentence or " is " not in sentence else "is"
        asked = [([f"In what year {verb} {named} born?"], life[1])]
        asked.append(([f"In what year did {named} die?"], life[2]))
        return asked, sentence[: life.start()] + sentence[life.end() :]
    born = _BORN.search(sentence)
    named = sentence[: born.start()].strip() if born else ""
    if born and _is_name(named):
        asked = [([f"In what year was {named} born?"], born[1])]
        return asked, sentence[: born.start()] + sentence[born.end() :]
    return [], sentence


def _definition(sentence: str, title: str, person: bool) -> list[Asked]:
    """ "Who was Orvane Tessaly?" => "a cartographer born in ..." from the defining sentence."""
    definition = _DEFINITION.match(sentence)
    if not (definition and normalise(definition["subject"]).endswith(normalise(title))):
        return []
    verb, article = sentence[len(definition["subject"]) :].split()[:2]
    subject = re.sub(r"^The ", "the ", definition["subject"])
    asked = "Who" if person else "What"
    return [([f"{asked} {verb} {subject}?"], f"{article} {definition['predicate']}")]


def _years(sentence: str, focus: Resolver) -> list[Asked]:
    return [
        (_questions(sentence[: y.start()], "what year", sentence[y.end() :], focus), y[1])
        for y in _YEAR.finditer(sentence)
    ]


def _counts(sentence: str, focus: Resolver) -> list[Asked]:
    asked = []
    for count in _COUNT.finditer(sentence):
        if not _YEAR.fullmatch(count["number"]):
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
    for start, end in _names(sentence, title):
        name = sentence[start:end]
        owner = _POSSESSIVE_NAME.match(name)
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
    person = _is_person(title, text)

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
