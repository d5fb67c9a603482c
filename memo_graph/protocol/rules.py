"""The rules the graph enforces whatever the EXECUTIVE says: dead-end questions and the
demote / drop rule for candidates. Pure functions of the trail, so they are easy to test."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from memo_graph.protocol.state import Candidate, CandidateStatus, Exchange

_NOT_WORD = re.compile(r"[^a-z0-9]+")


def normalise(text: str) -> str:
    """Lower case, punctuation and spacing folded: the identity of a question or a name."""
    return _NOT_WORD.sub(" ", text.lower()).strip()


def unknown_counts(trail: Sequence[Exchange]) -> Counter[str]:
    """'I don't know' replies per (normalised) question."""
    return Counter(normalise(e["question"]) for e in trail if e["sent"] and not e["confident"])


def dead_questions(trail: Sequence[Exchange], after: int) -> list[str]:
    """Questions that got ``after`` or more 'I don't know' replies, as first asked."""
    counts = unknown_counts(trail)
    seen: dict[str, str] = {}
    for exchange in trail:
        key = normalise(exchange["question"])
        if counts[key] >= after:
            seen.setdefault(key, exchange["question"])
    return list(seen.values())


def is_dead(question: str, trail: Sequence[Exchange], after: int) -> bool:
    return unknown_counts(trail)[normalise(question)] >= after


def rank_candidates(
    previous: Sequence[Candidate],
    proposed: Sequence[str],
    trail: Sequence[Exchange],
    *,
    demote_after: int,
    drop_after: int,
    confirmed: str = "",
) -> list[Candidate]:
    """Every candidate seen so far with its status. The EXECUTIVE's order ranks the active
    ones; demoted follow, then dropped. A dropped candidate stays dropped even when the
    EXECUTIVE proposes it again."""
    targeted_unknowns = Counter(
        normalise(e["target"]) for e in trail if e["sent"] and e["target"] and not e["confident"]
    )
    names: dict[str, str] = {}
    for name in [*proposed, *(c["name"] for c in previous)]:
        if name.strip():
            names.setdefault(normalise(name), name.strip())
    records: list[Candidate] = []
    for key, name in names.items():
        unknowns = targeted_unknowns[key]
        status: CandidateStatus
        if unknowns >= drop_after:
            status = "dropped"
        elif unknowns >= demote_after:
            status = "demoted"
        elif confirmed and key == normalise(confirmed):
            status = "confirmed"
        else:
            status = "active"
        records.append(Candidate(name=name, status=status, unknown_replies=unknowns))
    order = {"confirmed": 0, "active": 1, "demoted": 2, "dropped": 3}
    return sorted(records, key=lambda c: order[c["status"]])  # stable: keeps proposed order


def best_candidate(candidates: Sequence[Candidate]) -> str:
    """The first candidate that is not dropped, or an empty string."""
    return next((c["name"] for c in candidates if c["status"] != "dropped"), "")


def is_dropped(name: str, candidates: Sequence[Candidate]) -> bool:
    key = normalise(name)
    return any(normalise(c["name"]) == key and c["status"] == "dropped" for c in candidates)
