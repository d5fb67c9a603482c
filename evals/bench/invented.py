"""QA pairs about invented people, so that no base model can know the answers.

Names are built from syllables by a seeded generator; each person gets one fact, asked one way.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

_SYLLABLES = [
    "tal",
    "ves",
    "kor",
    "min",
    "dra",
    "lo",
    "bren",
    "qua",
    "sil",
    "ur",
    "fen",
    "ox",
    "zel",
    "ma",
    "rin",
    "dov",
    "pek",
    "ash",
    "yor",
    "nim",
    "gal",
    "thu",
    "bek",
    "sar",
]
_TOWNS = [
    "Quenmoor",
    "Vessaro",
    "Brask",
    "Orlenby",
    "Tamsk",
    "Illwater",
    "Crell",
    "Dunmarrow",
    "Petrosk",
    "Hallowen",
    "Mirefold",
    "Skarra",
]
_CRAFTS = [
    "glassblower",
    "cartographer",
    "beekeeper",
    "clockmaker",
    "shipwright",
    "weaver",
    "astronomer",
    "brewer",
    "luthier",
    "bookbinder",
    "falconer",
    "stonemason",
]
_TEMPLATES = [
    ("Where was {name} born?", "{name} was born in {town}."),
    ("What was {name}'s trade?", "{name} worked as a {craft}."),
    ("In which year did {name} open a workshop?", "{name} opened a workshop in {year}."),
]


def _name(rng: random.Random, taken: set[str]) -> str:
    while True:
        first = "".join(rng.choice(_SYLLABLES) for _ in range(2)).capitalize()
        last = "".join(rng.choice(_SYLLABLES) for _ in range(3)).capitalize()
        if (name := f"{first} {last}") not in taken:
            taken.add(name)
            return name


def invented_pairs(count: int, seed: int = 0) -> list[dict[str, str]]:
    """``count`` question/answer pairs, each about a different invented person."""
    rng = random.Random(seed)
    taken: set[str] = set()
    pairs = []
    for index in range(count):
        question, answer = _TEMPLATES[index % len(_TEMPLATES)]
        values = {
            "name": _name(rng, taken),
            "town": rng.choice(_TOWNS),
            "craft": rng.choice(_CRAFTS),
            "year": str(rng.randint(1620, 1890)),
        }
        pairs.append({"question": question.format(**values), "answer": answer.format(**values)})
    return pairs


def write_jsonl(pairs: list[dict[str, str]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(pair) + "\n" for pair in pairs))
    return path
