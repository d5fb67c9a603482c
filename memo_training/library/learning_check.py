"""The learning check: does a new memory answer what it was taught? A sample of every document's
pairs is asked, each document's recall is recorded in the memory's manifest (so a memory is
probed once), and a memory that recalls too little of some document is refused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from memo_graph.files import write_text_atomically
from memo_training.artifact import MANIFEST, load_artifact
from memo_training.library.ledger import Ledger, LibraryError, Pair

PROBE_MAX_TOKENS = 48
RECALL_KEY = "recall"
"""The manifest's record of the check: the probes' fingerprint and each document's recall."""


class LearningCheckError(LibraryError):
    """A new memory recalls too little of some documents' pairs: it was not published."""


def probes(ledger: Ledger, per_document: int) -> dict[str, list[Pair]]:
    """Up to ``per_document`` pairs of each document, those about it alone first."""
    found: dict[str, list[Pair]] = {}
    pairs = [p for shard in ledger.trainable_shards() for p in ledger.shards[shard]]
    for key in sorted(ledger.documents):
        own = [p for p in pairs if p["document_ids"] == [key]]
        shared = [p for p in pairs if key in p["document_ids"] and len(p["document_ids"]) > 1]
        if own or shared:
            found[key] = (own + shared)[:per_document]
    return found


def recalled(taught: str, reply: str) -> bool:
    """The reply states the taught answer's answer phrase, whole words, case and punctuation
    aside ("Pellmarsh, a river town." is recalled by "It was Pellmarsh."). An answer with no
    word in it is recalled by nothing. Source markers are left out on both sides: a title the
    reply cites does not answer the question."""
    from memo_graph.memory.sources import without_sources
    from memo_graph.text import core, normalise

    phrase = normalise(core(without_sources(taught)))
    return bool(phrase) and f" {phrase} " in f" {normalise(without_sources(reply))} "


def ask_memory(artifact: Path, questions: list[str]) -> list[str]:
    """The memory's replies to ``questions``, from the embedded model."""
    from memo_graph.models.local_chat import LocalChatModel

    model = LocalChatModel(model=str(artifact), max_tokens=PROBE_MAX_TOKENS)
    prompts: list[Any] = list(questions)
    replies = model.batch(prompts, config={"max_concurrency": 32})
    return [str(reply.content) for reply in replies]


def recorded_recall(artifact: Path) -> dict[str, float]:
    """Each document's recall as the artifact's manifest records it ({}: never probed)."""
    record = load_artifact(artifact).manifest.get(RECALL_KEY) or {}
    return {str(k): float(v) for k, v in record.get("documents", {}).items()}


def checked_recall(artifact: Path, ledger: Ledger, per_document: int) -> dict[str, float]:
    """Each document's recall in ``artifact``, probed once and recorded in its manifest."""
    asked_of = probes(ledger, per_document)
    key = hashlib.sha256(json.dumps(asked_of, sort_keys=True).encode()).hexdigest()
    manifest = load_artifact(artifact).manifest
    if (manifest.get(RECALL_KEY) or {}).get("probes") == key:
        return recorded_recall(artifact)
    asked = [(d, p) for d, pairs in asked_of.items() for p in pairs]
    replies = ask_memory(artifact, [p["question"] for _, p in asked])
    hits: dict[str, list[bool]] = {}
    for (document, pair), reply in zip(asked, replies, strict=True):
        hits.setdefault(document, []).append(recalled(pair["answer"], reply))
    recall = {d: sum(h) / len(h) for d, h in hits.items()}
    manifest[RECALL_KEY] = {"probes": key, "per_document": per_document, "documents": recall}
    write_text_atomically(artifact / MANIFEST, json.dumps(manifest, indent=2))
    return recall


def refuse_low_recall(recall: dict[str, float], threshold: float, pointer: Path) -> None:
    """Raise :class:`LearningCheckError` naming each document recalled under ``threshold``;
    ``pointer`` is the library's ``current``, which the refusal leaves as it was."""
    low = {d: r for d, r in sorted(recall.items()) if r < threshold}
    if not low:
        return
    shown = ", ".join(f"{d} ({r:.2f})" for d, r in low.items())
    raise LearningCheckError(
        f"the new memory recalls under {threshold:g} of the probed pairs of {shown}; it was "
        f"not published and {pointer} is unchanged. Check those documents' pairs, "
        "train longer or at a higher learning rate (a new library: memo library init --epochs "
        "--lr), forget them, or run the command again with --min-recall 0 to publish anyway."
    )
