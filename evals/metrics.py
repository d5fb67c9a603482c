"""Answer metrics, best over the aliases: SQuAD-style normalised exact match and token F1, and
answer containment (a normalised gold answer appears in the normalised prediction: the accuracy
of PopQA and ALCE, which does not punish an answer for its confirming clause)."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalise_answer(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces."""
    text = _ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION))
    return " ".join(text.split())


def exact_match(prediction: str, references: str | Iterable[str]) -> float:
    golds = [references] if isinstance(references, str) else list(references)
    guess = normalise_answer(prediction)
    return float(any(guess == normalise_answer(gold) for gold in golds))


def _f1(prediction: str, reference: str) -> float:
    guess, gold = normalise_answer(prediction).split(), normalise_answer(reference).split()
    common = sum((Counter(guess) & Counter(gold)).values())
    if not guess or not gold:
        return float(guess == gold)
    if common == 0:
        return 0.0
    precision, recall = common / len(guess), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, references: str | Iterable[str]) -> float:
    golds = [references] if isinstance(references, str) else list(references)
    return max(_f1(prediction, gold) for gold in golds)


def answer_contained(prediction: str, references: str | Iterable[str]) -> float:
    golds = [references] if isinstance(references, str) else list(references)
    guess = f" {normalise_answer(prediction)} "
    return float(any(normalise_answer(g) and f" {normalise_answer(g)} " in guess for g in golds))
