"""The rules the graph enforces whatever the EXECUTIVE says: dead-end questions, the demote /
drop rule for candidates, and which reply a final answer must rest on (:data:`DECISIONS`).
Pure functions of the trail, so they are easy to test."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from memo_graph.memory.sources import distinct_titles
from memo_graph.protocol.state import Candidate, CandidateStatus, Exchange
from memo_graph.text import content_words, core, is_question, normalise, support

DECISIONS: dict[str, str] = {
    "memory_confirmed_direct": "memory: its direct reply, confirmed by another reply (run "
    "ended early)",
    "executive_unchecked": "executive: support not checked",
    "executive_no_memory_reply": "executive: no confident MEMORY reply to check it against",
    "no_answer": "nothing: no confident MEMORY reply",
    "memory_direct_reread": "memory: its direct reply (the executive's answer re-read it)",
    "executive_supported": "executive: supported by a confident MEMORY reply",
    "executive_chain_over_direct": "executive: supported by a follow-up reply over the direct "
    "reply",
    "memory_direct_unsupported": "memory: its direct reply (the executive's answer was "
    "unsupported)",
    "memory_direct_outweighs": "memory: its direct reply (the executive's answer was outweighed "
    "by the direct reply)",
    "memory_best_supported": "memory: the best-supported reply (the executive's was unsupported)",
}
"""Which rule chose a run's answer: the id its output's ``decided_by`` holds, and the rule in
words (the justification's when the EXECUTIVE gave none)."""


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


# ---------------------------------------------------------------------- what the answer may be
SUPPORT_THRESHOLD = 0.5
"""Share of an answer's content words that a confident MEMORY reply must state to support it."""


def _confident(trail: Sequence[Exchange]) -> list[Exchange]:
    return [e for e in trail if e["sent"] and e["confident"] and e["answer"].strip()]


def grounding_questions(query: str, proposed: Sequence[str], limit: int) -> list[str]:
    """The query itself first (what the MEMORY alone would be asked), then the distinct
    sub-questions the EXECUTIVE proposed that are questions at all, ``limit`` in all."""
    kept: dict[str, str] = {normalise(query): query}
    for question in proposed:
        if question.strip() and is_question(question):
            kept.setdefault(normalise(question), question.strip())
    return list(kept.values())[:limit]


def direct_reply(query: str, trail: Sequence[Exchange]) -> Exchange | None:
    """The MEMORY's confident reply to the query as asked, if it gave one."""
    key = normalise(query)
    return next((e for e in _confident(trail) if normalise(e["question"]) == key), None)


def confirmed_direct_reply(query: str, trail: Sequence[Exchange]) -> Exchange | None:
    """The direct reply when another confident reply (to another question) states its answer
    phrase."""
    direct = direct_reply(query, trail)
    if direct is None:
        return None
    answer = core(direct["answer"])
    others = [e for e in _confident(trail) if e is not direct]
    confirmed = any(support(answer, e["answer"]) >= SUPPORT_THRESHOLD for e in others)
    return direct if confirmed else None


def _supports(proposed: str, reply: Exchange, stated: set[str]) -> bool:
    """Whether ``reply`` supports the EXECUTIVE's answer: it states enough of its content
    words, and the answer does not put a word of its own in place of the reply's answer
    phrase ("The North Sea" is not supported by "The Varrow Sea.", nor "Calth, the largest
    of the Drennic Islands" by "Cault, the largest of the Drennic Islands": a small EXECUTIVE
    copies a reply wrongly). Numbers may be new: an EXECUTIVE computes ages and spans."""
    if support(proposed, reply["answer"]) < SUPPORT_THRESHOLD:
        return False
    said = content_words(proposed)
    invented = {word for word in said - stated if not word.isdigit()}
    return not invented or content_words(core(reply["answer"])) <= said


def _rereads_clause(proposed: str, reply: Exchange) -> bool:
    """Whether the EXECUTIVE's answer is made only of ``reply``'s words, some of them from its
    confirming clause rather than its answer phrase: it re-reads the reply, and takes the
    wrong part of it ("The Lornhaven Observatory" for "Brisca Holloway, architect of the
    Lornhaven Observatory.", or a name from the clause fused to the answer's)."""
    said = content_words(proposed)
    return said <= content_words(reply["answer"]) and bool(
        said - content_words(core(reply["answer"]))
    )


def _stated(confident: Sequence[Exchange]) -> set[str]:
    """Every content word the confident MEMORY replies say."""
    return set().union(*(content_words(e["answer"]) for e in confident))


def _in_memory_words(proposed: str, supporting: Sequence[Exchange], stated: set[str]) -> str:
    """The EXECUTIVE's answer, said in the fewest words: a supporting reply that states all
    it says in fewer (a small EXECUTIVE repeats itself: "1895.1895.1895..." for the reply
    "1895."); and where it says a word no confident reply says ("1911.9"), the supporting
    reply that says nothing beyond it, if there is one."""
    said = content_words(proposed)
    if said - stated:
        # Only a reply that says nothing beyond the answer may stand in for it: one that
        # says more ("In 1901, three years after") answers something else.
        within = [e for e in supporting if content_words(e["answer"]) <= said]
        if not within:
            return proposed
        return max(within, key=lambda e: support(proposed, e["answer"]))["answer"].strip()
    same = [e["answer"].strip() for e in supporting if said <= content_words(e["answer"])]
    return min([proposed, *same], key=len)


def about(entity: str, question: str) -> str:
    """A follow-up question to the MEMORY about ``entity``, named in it."""
    if question and entity and normalise(entity) not in normalise(question):
        return f"About {entity}: {question}"
    return question


def _outweighs_direct(query: str, reply: Exchange, confident: Sequence[Exchange]) -> bool:
    """Whether a reply that supports another answer than the MEMORY's direct reply weighs
    more than it: a reply to a follow-up about an entity that another confident reply
    states, the last hop of a chain ("Who founded it?" -> "Orvane Tessaly"; "About Orvane
    Tessaly: where was he born?" -> "Pellmarsh"). Replies to grounding sub-questions do not:
    a small MEMORY gives the same stock reply to many questions; nor a follow-up that asks the
    query again about an entity ("About Amlet: on which river does Pellmarsh stand?"): it is
    no further hop, only the same question answered otherwise."""
    entity = reply["target"]
    asked_again = normalise(reply["question"]) in {
        normalise(query),
        normalise(about(entity, query)),
    }
    return (
        reply["stage"] != "grounding"
        and bool(entity)
        and not asked_again
        and any(
            other is not reply and support(entity, other["answer"]) >= SUPPORT_THRESHOLD
            for other in confident
        )
    )


def decide_answer(query: str, proposed: str, trail: Sequence[Exchange]) -> tuple[str, str]:
    """(the answer, the id in :data:`DECISIONS` of the rule that chose it). The EXECUTIVE's
    answer (said in its fewest words) stands only when a confident MEMORY reply supports it;
    where it differs from the MEMORY's confident direct reply to the query, only when that
    reply is confirmed by no other and a follow-up reply at the end of a chain supports the
    answer. An answer read off the direct reply, partly from its confirming clause, is that
    reply. Else the direct reply; else the confident reply the other replies support most;
    with no confident reply at all, the EXECUTIVE's answer (or an admission)."""
    confident = _confident(trail)
    proposed = proposed.strip()
    if not confident:
        if proposed:
            return proposed, "executive_no_memory_reply"
        return "I could not find the answer.", "no_answer"
    direct = direct_reply(query, trail)
    stated = _stated(confident)
    supporting = [e for e in confident if proposed and _supports(proposed, e, stated)]
    answer = _in_memory_words(proposed, supporting, stated) if supporting else ""
    if direct is not None and direct in supporting and _rereads_clause(proposed, direct):
        return direct["answer"], "memory_direct_reread"
    if supporting and (direct is None or direct in supporting):
        return answer, "executive_supported"
    chained = any(_outweighs_direct(query, e, confident) for e in supporting)
    if chained and confirmed_direct_reply(query, trail) is None:
        return answer, "executive_chain_over_direct"
    if direct is not None:
        return direct["answer"], (
            "memory_direct_unsupported" if not supporting else "memory_direct_outweighs"
        )
    best = max(
        confident,
        key=lambda e: sum(support(e["answer"], o["answer"]) for o in confident if o is not e),
    )
    return best["answer"], "memory_best_supported"


def answer_phrase(answer: str, trail: Sequence[Exchange]) -> tuple[str, str]:
    """(what the final answer says, the MEMORY reply it was taken from or ''): a MEMORY
    reply is given as its answer phrase ("Pellmarsh, birthplace of Orvane Tessaly." ->
    "Pellmarsh"), its confirming clause left to the justification."""
    said = answer.strip()
    if any(e["answer"].strip() == said for e in _confident(trail)):
        return core(said), said
    return said, ""


def answer_sources(
    answer: str, reply: str, trail: Sequence[Exchange]
) -> tuple[list[str], list[str]]:
    """(the sources, the unverified sources) of the MEMORY replies the final answer rests on:
    the reply it was taken from (``reply``, as :func:`answer_phrase` gives it), else the
    confident replies that support it."""
    confident = _confident(trail)
    if reply:
        resting = [e for e in confident if e["answer"].strip() == reply]
    else:
        resting = [
            e for e in confident if answer and support(answer, e["answer"]) >= SUPPORT_THRESHOLD
        ]
    sources = distinct_titles(t for e in resting for t in e.get("sources", []))
    unverified = distinct_titles(t for e in resting for t in e.get("unverified_sources", []))
    return sources, unverified
