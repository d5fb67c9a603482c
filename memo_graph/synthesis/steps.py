"""The work of the five synthesis steps, one item (a chunk, a document, a link) at a time. Each
returns its QA pairs, with provenance, and what it spent and dropped."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

from memo_graph.synthesis import checks, prompts, quality
from memo_graph.synthesis.generator import Generator, StepStats
from memo_graph.synthesis.links import entity_profiles, groups_sharing_a_key, mentioning
from memo_graph.synthesis.pair_sources import cloze
from memo_graph.synthesis.schemas import (
    QA,
    QUESTION_CHARS,
    QAList,
    Rephrased,
    SourcedQA,
    SourcedQAList,
    Verdicts,
)
from memo_graph.text import normalise

Pair = dict[str, Any]
Chunk = dict[str, Any]
CHECK_BATCH = 10
CROSS_BATCH = 20


def make_pair(
    qa: QA | SourcedQA,
    step: str,
    document_ids: Sequence[str],
    chunk_ids: Sequence[str],
    generator: str,
) -> Pair:
    return {
        "question": qa.question.strip(),
        "answer": qa.answer.strip(),
        "step": step,
        "document_ids": sorted(set(document_ids)),
        "chunk_ids": sorted(set(chunk_ids)),
        "generator": generator,
    }


def pair_from(qa: QA | SourcedQA, step: str, sources: Sequence[Pair], generator: str) -> Pair:
    """A new pair whose provenance is the union of the pairs it was built from."""
    return make_pair(
        qa,
        step,
        [d for p in sources for d in p["document_ids"]],
        [c for p in sources for c in p["chunk_ids"]],
        generator,
    )


def _usable(qa: QA | SourcedQA, stats: StepStats) -> bool:
    """Whether the pair has a question and an answer, and the question asks (a counted drop)."""
    if not (qa.question.strip() and qa.answer.strip()):
        stats.drops["empty question or answer"] += 1
        return False
    problem = quality.form_problem(qa.question, qa.answer)
    if problem is not None:
        stats.drops[problem] += 1
    return problem is None


def _stated(qa: QA, source: str, stats: StepStats) -> bool:
    """Whether an explicit fact's answer stands in its source text (a counted drop)."""
    if quality.is_grounded(qa.answer, source):
        return True
    stats.drops[quality.NOT_IN_SOURCE] += 1
    return False


def _follows(qa: QA | SourcedQA, instructions: checks.Instructions, stats: StepStats) -> bool:
    """Whether the pair obeys or repeats an instruction of its source text (a counted drop)."""
    problem = instructions.problem(qa.question, qa.answer)
    if problem is not None:
        stats.drops[problem] += 1
    return problem is not None


def _facts(pairs: Sequence[Pair]) -> str:
    return prompts.numbered([(p["question"], p["answer"]) for p in pairs])


def _sources_of(pairs: Sequence[Pair], numbers: Sequence[int]) -> list[Pair]:
    return [pairs[n - 1] for n in numbers if 1 <= n <= len(pairs)]


# ---------------------------------------------------------------------- 1. extraction
async def _rephrase(
    generator: Generator, read: Sequence[cloze.SentencePair], stats: StepStats
) -> list[QA]:
    """Each fact read off a sentence asked once more, in the GENERATOR's words: its shortest
    question rewritten in natural order, kept only when it adds nothing and hides the answer."""
    shortest: dict[int, cloze.SentencePair] = {}
    for pair in read:
        if pair.fact not in shortest or len(pair.question) < len(shortest[pair.fact].question):
            shortest[pair.fact] = pair
    chosen = list(shortest.values())
    examples = [(q, Rephrased(question=r).model_dump_json()) for q, r in prompts.REPHRASE_EXAMPLES]
    replies = await asyncio.gather(
        *(generator.ask(Rephrased, prompts.REPHRASE, p.question, stats, examples) for p in chosen)
    )
    kept = []
    for pair, value in zip(chosen, replies, strict=True):
        if value is None:
            stats.drops["rephrasing: invalid generator output"] += 1
            continue
        problem = quality.rephrasing_problem(value.question, pair.question, pair.answer)
        if problem is not None:
            stats.drops[problem] += 1
        elif normalise(value.question) != normalise(pair.question):
            kept.append(QA(question=value.question.strip(), answer=pair.answer))
    return kept


def _sentence_qas(read: Sequence[cloze.SentencePair], stats: StepStats) -> list[QA]:
    """The pairs read off sentences as QA objects; a question from a sentence too long for
    the schema is a counted drop."""
    kept = [
        QA(question=p.question, answer=p.answer) for p in read if len(p.question) <= QUESTION_CHARS
    ]
    if len(kept) < len(read):
        stats.drops["sentence too long for a question"] += len(read) - len(kept)
    return kept


async def extract(
    generator: Generator, chunk: Chunk, sentence_pairs: bool = False
) -> tuple[list[Pair], StepStats]:
    """Explicit and implied facts of one chunk, the two requests in parallel; with
    ``sentence_pairs``, also the pairs rules read off its sentences (:mod:`sentences`)."""
    stats = StepStats(items_in=1)
    source = prompts.document_block(chunk["title"], chunk["text"])
    instructions = checks.find_instructions(chunk["title"], chunk["text"])
    replies = await asyncio.gather(
        generator.ask(QAList, prompts.EXPLICIT, source, stats),
        generator.ask(QAList, prompts.IMPLIED, source, stats),
    )
    stated_text = f"{chunk['title']} {chunk['text']}"
    pairs: list[Pair] = []
    for kind, value in zip(("explicit", "implied"), replies, strict=True):
        if value is None:
            stats.drops[f"{kind} extraction: invalid generator output"] += 1
            continue
        # Implied facts (ages, durations) are worked out, so only explicit ones must be stated.
        pairs.extend(
            make_pair(qa, "extraction", [chunk["document_id"]], [chunk["id"]], generator.spec)
            for qa in value.pairs
            if _usable(qa, stats)
            and (kind == "implied" or _stated(qa, stated_text, stats))
            and not _follows(qa, instructions, stats)
        )
    if sentence_pairs:
        read = cloze.sentence_pairs(chunk["title"], chunk["text"], instructions.sentences)
        where = ([chunk["document_id"]], [chunk["id"]])
        pairs.extend(
            make_pair(qa, "extraction", *where, cloze.GENERATOR)
            for qa in _sentence_qas(read, stats)
            if _usable(qa, stats) and not _follows(qa, instructions, stats)
        )
        pairs.extend(
            make_pair(qa, "extraction", *where, generator.spec)
            for qa in await _rephrase(generator, read, stats)
            if not _follows(qa, instructions, stats)
        )
    stats.items_out = len(pairs)
    return pairs, stats


# ---------------------------------------------------------------------- 2. consolidation
async def consolidate(generator: Generator, pairs: Sequence[Pair]) -> tuple[list[Pair], StepStats]:
    """Multi-fact pairs from the pairs of one document that share a name or a year."""
    stats = StepStats(items_in=len(pairs))
    groups = [[pairs[i] for i in group] for group in groups_sharing_a_key(pairs)]
    replies = await asyncio.gather(
        *(generator.ask(SourcedQAList, prompts.CONSOLIDATE, _facts(g), stats) for g in groups)
    )
    merged = []
    for group, value in zip(groups, replies, strict=True):
        if value is None:
            stats.drops["invalid generator output"] += 1
            continue
        for qa in value.pairs:
            if not _usable(qa, stats):
                continue
            used = _sources_of(group, qa.sources) or list(group)
            merged.append(pair_from(qa, "consolidation", used, generator.spec))
    stats.items_out = len(merged)
    return merged, stats


# ---------------------------------------------------------------------- 3. verification
# What no self-contained question says, whatever the checker thinks.
_SOURCE_REFERENCE = re.compile(
    r"\b(?:this|the above|the given|the following) (?:text|document|passage|article|excerpt)\b"
    r"|\bthe (?:passage|excerpt)\b",
    re.IGNORECASE,
)
_RELATIVE_TIME = re.compile(
    r"\b(?:last|next) (?:year|month|week)\b|\b(?:yesterday|today|tomorrow)\b", re.IGNORECASE
)


def rule_problems(pair: Pair) -> set[str]:
    """Self-containment problems plain patterns can see in a question."""
    problems = set()
    if _SOURCE_REFERENCE.search(pair["question"]):
        problems.add("refers_to_source")
    if _RELATIVE_TIME.search(pair["question"]):
        problems.add("relative_time")
    return problems


async def _problems(
    generator: Generator, batch: Sequence[Pair], stats: StepStats
) -> list[list[str]]:
    """Per pair, what keeps it from standing alone: the checker's verdicts (when its reply is
    usable) joined with :func:`rule_problems`."""
    value = await generator.ask(Verdicts, prompts.CHECK, _facts(batch), stats)
    found: list[set[str]] = [rule_problems(pair) for pair in batch]
    if value is None:
        stats.drops["checked by rules only (invalid checker output)"] += len(batch)
        return [sorted(problems) for problems in found]
    for verdict in value.verdicts:
        if 1 <= verdict.number <= len(batch):
            found[verdict.number - 1].update(verdict.problems)
    return [sorted(problems) for problems in found]


async def _rewrite(
    generator: Generator,
    pair: Pair,
    problems: list[str],
    chunks: dict[str, Chunk],
    stats: StepStats,
) -> Pair | None:
    """The pair repaired from its source chunks, or None (its drop counted) when the fixer's
    reply is unusable, or obeys or repeats an instruction of those chunks."""
    shown = [chunks[c] for c in pair["chunk_ids"] if c in chunks]
    sources = "\n\n".join(prompts.document_block(c["title"], c["text"]) for c in shown)
    request = (
        f"{sources}\n\nPair to repair (problems: {', '.join(problems)}):\n"
        f"Q: {pair['question']}\nA: {pair['answer']}"
    )
    value = await generator.ask(QA, prompts.REWRITE, request, stats)
    if value is None or not _usable(value, stats):
        stats.drops["rewrite failed"] += 1
        return None
    texts = [text for c in shown for text in (c["title"], c["text"])]
    if _follows(value, checks.find_instructions(*texts), stats):
        return None
    return {**pair, "question": value.question.strip(), "answer": value.answer.strip()}


async def verify(
    generator: Generator, pairs: Sequence[Pair], chunks: dict[str, Chunk]
) -> tuple[list[Pair], StepStats]:
    """Check the pairs of one document; rewrite those that fail from their source chunks and
    check again; drop what still fails, with its reason."""
    stats = StepStats(items_in=len(pairs))
    kept: list[Pair] = []
    for start in range(0, len(pairs), CHECK_BATCH):
        batch = list(pairs[start : start + CHECK_BATCH])
        problems = await _problems(generator, batch, stats)
        failing = [(p, found) for p, found in zip(batch, problems, strict=True) if found]
        kept.extend(p for p, found in zip(batch, problems, strict=True) if not found)
        rewritten = await asyncio.gather(
            *(_rewrite(generator, p, found, chunks, stats) for p, found in failing)
        )
        repaired = [r for r in rewritten if r is not None]
        if not repaired:
            continue
        still = await _problems(generator, repaired, stats)
        for pair, found in zip(repaired, still, strict=True):
            if found:
                stats.drops[f"still not self-contained: {', '.join(found)}"] += 1
            else:
                kept.append(pair)
    stats.items_out = len(kept)
    return kept, stats


# ---------------------------------------------------------------------- 4. entity surfacing
async def surface(generator: Generator, pairs: Sequence[Pair]) -> tuple[list[Pair], StepStats]:
    """Questions that describe an entity of one document without naming it; the answer names
    it. Cures the reversal curse: facts become reachable from their attributes."""
    stats = StepStats(items_in=len(pairs))
    profiles = entity_profiles(pairs)
    requests = [
        f"Entity: {name}\nIts facts:\n{_facts([pairs[i] for i in members])}"
        for name, members in profiles
    ]
    replies = await asyncio.gather(
        *(generator.ask(QAList, prompts.SURFACE, r, stats) for r in requests)
    )
    surfaced = []
    for (name, members), value in zip(profiles, replies, strict=True):
        if value is None:
            stats.drops["invalid generator output"] += 1
            continue
        profile = [pairs[i] for i in members]
        for qa in value.pairs:
            if not _usable(qa, stats):
                continue
            if name.lower() in qa.question.lower():
                stats.drops["question names the entity"] += 1
            elif name.lower() not in qa.answer.lower():
                stats.drops["answer does not name the entity"] += 1
            else:
                surfaced.append(pair_from(qa, "entity_surfacing", profile, generator.spec))
    stats.items_out = len(surfaced)
    return surfaced, stats


# ---------------------------------------------------------------------- 5. cross-document
def cross_links(
    pairs_by_document: dict[str, list[Pair]], shared: dict[str, list[str]], limit: int
) -> list[dict[str, Any]]:
    """Work items of step 5: per shared key, an anchor pair from its first document and up to
    20 pairs about the same key from the other documents."""
    links = []
    for key, documents in shared.items():
        anchor_pairs = mentioning(pairs_by_document[documents[0]], key)
        others = [p for d in documents[1:] for p in mentioning(pairs_by_document[d], key)]
        if anchor_pairs and others:
            links.append({"key": key, "facts": [anchor_pairs[0], *others[:CROSS_BATCH]]})
        if len(links) >= limit:
            break
    return links


async def cross_document(
    generator: Generator, key: str, facts: Sequence[Pair]
) -> tuple[list[Pair], StepStats]:
    stats = StepStats(items_in=1)
    request = f"Shared between the documents: {key}\nFacts:\n{_facts(facts)}"
    value = await generator.ask(SourcedQAList, prompts.CROSS, request, stats)
    if value is None:
        stats.drops["invalid generator output"] += 1
        return [], stats
    linked = []
    for qa in value.pairs:
        if not _usable(qa, stats):
            continue
        used = _sources_of(facts, qa.sources)
        if len({d for p in used for d in p["document_ids"]}) < 2:
            stats.drops["single-document pair"] += 1
            continue
        linked.append(pair_from(qa, "cross_document", used, generator.spec))
    stats.items_out = len(linked)
    return linked, stats
