"""Links between QA pairs found from the pairs themselves: the names and years they mention.
Consolidation groups pairs of one document that share a key; entity surfacing profiles the
names of a document; cross-document synthesis joins documents that mention the same name."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from memo_graph.text import FUNCTION_WORDS

_NAME = re.compile(r"\b[A-Z][\w'\-]*(?:\s+(?:of|de|von|van|the|da|del|al)?\s*[A-Z][\w'\-]*)*")
_YEAR = re.compile(r"\b1[0-9]{3}\b|\b20[0-9]{2}\b")
# Capitalised words that open questions and sentences rather than name anything.
_NOT_NAMES = {word.capitalize() for word in FUNCTION_WORDS} | {"Yes", "No", "Q", "A."}

Pair = dict[str, Any]


def names_in(text: str) -> set[str]:
    """Capitalised spans that look like names, with a leading question word stripped."""
    found = set()
    for match in _NAME.finditer(text):
        words = match.group(0).split()
        while words and words[0] in _NOT_NAMES:
            words = words[1:]
        if words and not (len(words) == 1 and len(words[0]) < 3):
            found.add(" ".join(words))
    return found


def keys_of(pair: Pair) -> set[str]:
    """Names and years a pair mentions."""
    text = f"{pair['question']} {pair['answer']}"
    return names_in(text) | set(_YEAR.findall(text))


def groups_sharing_a_key(
    pairs: Sequence[Pair], min_size: int = 2, max_size: int = 4
) -> list[list[int]]:
    """Disjoint groups (indices into ``pairs``) of pairs that share a name or a year, the keys
    shared by most pairs first; deterministic."""
    by_key: dict[str, list[int]] = defaultdict(list)
    for index, pair in enumerate(pairs):
        for key in keys_of(pair):
            by_key[key].append(index)
    used: set[int] = set()
    groups = []
    for _, members in sorted(by_key.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        free = [i for i in members if i not in used]
        for start in range(0, len(free), max_size):
            group = free[start : start + max_size]
            if len(group) >= min_size:
                groups.append(group)
                used.update(group)
    return groups


def entity_profiles(
    pairs: Sequence[Pair], min_facts: int = 2, limit: int = 5
) -> list[tuple[str, list[int]]]:
    """The names of one document that at least ``min_facts`` pairs mention, with those pairs,
    the most mentioned first."""
    by_name: dict[str, list[int]] = defaultdict(list)
    for index, pair in enumerate(pairs):
        for name in names_in(f"{pair['question']} {pair['answer']}"):
            by_name[name].append(index)
    ranked = sorted(by_name.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [(name, members) for name, members in ranked if len(members) >= min_facts][:limit]


def shared_keys(pairs_by_document: Mapping[str, Sequence[Pair]]) -> dict[str, list[str]]:
    """Names and years mentioned in two or more documents, with those documents (sorted)."""
    documents_of: dict[str, set[str]] = defaultdict(set)
    for document_id, pairs in pairs_by_document.items():
        for pair in pairs:
            for key in keys_of(pair):
                documents_of[key].add(document_id)
    return {name: sorted(docs) for name, docs in sorted(documents_of.items()) if len(docs) >= 2}


def mentioning(pairs: Iterable[Pair], key: str) -> list[Pair]:
    return [p for p in pairs if key in keys_of(p)]
