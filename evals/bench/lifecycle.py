"""A memory kept current. The invented corpus with its reference pairs goes into a library in
shards of two documents; then one document is forgotten and one fact of another is updated.
MEMORY-alone answer containment (probes: the benchmark's questions about a document and a sample
of its reference pairs) shows whether the forgotten document is gone (against the base model
closed book) while the others stay, and whether the updated fact gives its new value, not the
old one. The forgotten document's probes are all its reference pairs and questions, split in
two: those whose answer no other document states (``forgotten``: what must go) and those whose
answer's content words are all in another document too (``forgotten_shared``: "Who designed
the observatory in the city where the Kelvary Survey Society has its headquarters?" is still
answered by Brisca Holloway's own document, and should be). Some answers no single other
document states, the others still state together ("a port city on the Varrow Sea": one says
port city, another the Varrow Sea). So the bench also trains the exact-unlearning reference, one
memory on every pair but those that draw on the forgotten document (``never_taught``: its
containment on the ``forgotten`` probes): ``forgotten_exact`` is the library's containment
after the forget on the probes that memory cannot answer either, what a forget must remove.

Training tokens of forget and update are set against retraining every shard each time; the
library's memory (merged, then consolidated by default) against one memory trained on all the
pairs. Citations, on the memory after the add: of the reference pairs answered right (answer
phrase contained), the share whose cited titles are all among their documents
(``citation_precision``, as ALCE counts precision) and the share that cite exactly their
documents (``citation_exact``: a cross-document answer citing one of its two documents is
precise, not exact); of all titles cited, the share the memory's catalog verifies
(``citation_in_ledger``; the others are flagged unverified, never shown as sources); and of the
titles shown as sources, the share the ledger holds, after the add and again after the forget
(``shown_in_ledger``, ``shown_in_ledger_after_forget``: must be 1.0).

    python -m evals.bench.lifecycle [--base local] [--method full] [--epochs 6] [--forget lornhaven]
        [--consolidation-epochs 2] [--skip-single] [--skip-never-taught]
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.bench.common import print_result
from evals.metrics import answer_contained
from memo_graph import LocalChatModel
from memo_graph.memory import MemoryBackend
from memo_graph.memory.sources import source_key, with_sources, without_sources
from memo_graph.text import content_words, core
from memo_training import library
from memo_training.artifact import load_artifact
from memo_training.config import TrainConfig
from memo_training.trainer import train_memory

DATA = Path(__file__).parents[1] / "data" / "invented"
# One fact of one document changes: the Drennic Islands number 17, not 14.
UPDATED_DOCUMENT = "drennic-islands"
OLD_VALUES = {"14": "17", "fourteen": "seventeen"}

CITATION_MAX_TOKENS = 64
"""Room for the answer and its source marker."""

Probe = dict[str, Any]
"""A question and the answers that count (``answers``)."""


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _write(rows: list[dict[str, Any]], path: Path) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def document_probes(document: str, pairs_per_document: int, *, about: bool) -> list[Probe]:
    """The benchmark's questions and the first reference pairs that draw on ``document``
    (``about``) or on no document but others (not ``about``)."""

    def chosen(ids: list[str]) -> bool:
        return (document in ids) == about

    questions = [
        {"question": q["question"], "answers": q["answers"]}
        for q in _rows(DATA / "questions.jsonl")
        if chosen(q["evidence_ids"])
    ]
    counts: dict[str, int] = {}
    pairs = []
    for pair in _rows(DATA / "reference_qa.jsonl"):
        ids = pair["document_ids"]
        if len(ids) == 1 and chosen(ids) and counts.get(ids[0], 0) < pairs_per_document:
            counts[ids[0]] = counts.get(ids[0], 0) + 1
            # Its answer phrase, as the learning check reads it: a reference answer goes on
            # with a confirming clause no reply needs to repeat word for word.
            pairs.append({"question": pair["question"], "answers": [core(pair["answer"])]})
    return questions + pairs


def only_there(document: str, probes: list[Probe]) -> tuple[list[Probe], list[Probe]]:
    """``probes`` about ``document`` split: those whose answer no other document of the corpus
    states (not every content word of it in one other document), and the others."""
    corpus = json.loads((DATA / "corpus.json").read_text())
    others = [content_words(d["text"]) for d in corpus if d["id"] != document]

    def stated_elsewhere(probe: Probe) -> bool:
        # A possessive's "s" and "there" ("was born there") name nothing.
        answers = [content_words(a) - {"s", "there"} for a in probe["answers"]]
        return any(words <= text for words in answers for text in others)

    return (
        [p for p in probes if not stated_elsewhere(p)],
        [p for p in probes if stated_elsewhere(p)],
    )


def _hits(model_dir: str | None, probes: list[Probe], max_tokens: int) -> list[bool]:
    """Per probe, whether the model's reply contains one of its answers."""
    model = LocalChatModel(model=model_dir, max_tokens=max_tokens)
    replies = model.batch([p["question"] for p in probes], config={"max_concurrency": 32})
    return [
        bool(answer_contained(without_sources(str(r.content)), p["answers"]))
        for r, p in zip(replies, probes, strict=True)
    ]


def _contained(model_dir: str | None, probes: list[Probe], max_tokens: int) -> float:
    return _share(_hits(model_dir, probes, max_tokens))


def _share(hits: list[bool]) -> float:
    return sum(hits) / max(len(hits), 1)


def forgotten_exact(after: list[bool], never_taught: list[bool] | None) -> float | str:
    """Of the probes a memory never taught the document cannot answer either, the share the
    library still answers after forgetting it ("na" without that memory)."""
    if never_taught is None:
        return "na"
    kept = [hit for hit, reference in zip(after, never_taught, strict=True) if not reference]
    return round(_share(kept), 3) if kept else "na"


def _consolidated_from(memory: str) -> str:
    return str(load_artifact(memory).manifest["base"]["spec"]).removeprefix("local:")


def citation_pairs(per_source_set: int) -> list[dict[str, Any]]:
    """The first ``per_source_set`` reference pairs of each set of documents pairs draw on."""
    counts: dict[tuple[str, ...], int] = {}
    chosen = []
    for pair in _rows(DATA / "reference_qa.jsonl"):
        key = tuple(sorted(pair["document_ids"]))
        if counts.get(key, 0) < per_source_set:
            counts[key] = counts.get(key, 0) + 1
            chosen.append(pair)
    return chosen


@dataclass(frozen=True)
class CitationScores:
    """Of the answers that are right: the share whose cited titles are all among their
    documents (at least one, none unverified: precision, as ALCE counts it) and the share
    whose cited titles are exactly their documents; of all titles cited, the share the memory's
    catalog verifies; and the answers that are right."""

    precision: float
    exact: float
    in_ledger: float
    right: int
    shown_in_ledger: float
    """Of the titles given as sources (not flagged unverified), the share the ledger holds:
    what a user is shown as a citation must be a document the library holds now."""


def citation_scores(lib: Path, pairs: list[dict[str, Any]]) -> CitationScores:
    """The citations of the library's current memory on ``pairs``' questions (their
    ``document_ids`` are library ids)."""
    titles = {d["id"]: d["title"] for d in json.loads((DATA / "corpus.json").read_text())}
    held = {source_key(d.title) for d in library.show(lib).documents}
    # The published memory carries the library's titles: cited titles it lacks are unverified.
    memory = MemoryBackend.from_artifact(
        library.current_memory(lib), max_tokens=CITATION_MAX_TOKENS
    )
    replies = memory.answer([p["question"] for p in pairs], temperature=0.0)
    right, precise, exact, cited, shown, shown_held = 0, 0, 0, 0, 0, 0
    for pair, reply in zip(pairs, replies, strict=True):
        cited += len(reply.sources) + len(reply.unverified_sources)
        shown += len(reply.sources)
        shown_held += sum(source_key(t) in held for t in reply.sources)
        if not answer_contained(reply.answer, [core(pair["answer"])]):
            continue
        right += 1
        wanted = {source_key(titles[i]) for i in pair["document_ids"]}
        given = {source_key(t) for t in reply.sources}
        verified = not reply.unverified_sources
        precise += verified and bool(given) and given <= wanted
        exact += verified and given == wanted
    return CitationScores(
        precise / max(right, 1),
        exact / max(right, 1),
        shown / max(cited, 1),
        right,
        shown_held / max(shown, 1),
    )


def cited_pairs(work: Path, without: str | None = None) -> Path:
    """The reference pairs as a library trains them: each answer ends with its documents'
    titles (memo_graph.memory.sources), so that one memory on all pairs learns what the
    library's shards learn. ``without``: leave out every pair that draws on that document."""
    titles = {d["id"]: d["title"] for d in json.loads((DATA / "corpus.json").read_text())}
    pairs = [
        {**p, "answer": with_sources(p["answer"], [titles[i] for i in p["document_ids"]])}
        for p in _rows(DATA / "reference_qa.jsonl")
        if without not in p["document_ids"]
    ]
    return _write(pairs, work / f"pairs-cited{'-without-' + without if without else ''}.jsonl")


def _replace_values(text: str) -> str:
    for old, new in OLD_VALUES.items():
        text = re.sub(rf"\b{old}\b", new, text)
    return text


def _updated_inputs(work: Path, forgotten: str) -> tuple[Path, Path]:
    """The corpus as it is after the change (the forgotten document gone, one fact changed)
    and the reference pairs with the changed fact."""
    documents = []
    for document in json.loads((DATA / "corpus.json").read_text()):
        if document["id"] == forgotten:
            continue
        if document["id"] == UPDATED_DOCUMENT:
            document = {**document, "text": _replace_values(document["text"])}
        documents.append(document)
    pairs = [
        {**p, "question": _replace_values(p["question"]), "answer": _replace_values(p["answer"])}
        if UPDATED_DOCUMENT in p["document_ids"]
        else p
        for p in _rows(DATA / "reference_qa.jsonl")
    ]
    corpus = work / "corpus-updated.json"
    corpus.write_text(json.dumps(documents))
    return corpus, _write(pairs, work / "pairs-updated.jsonl")


def _update_probes() -> tuple[list[Probe], list[Probe]]:
    """Questions whose answer is the changed fact: with the new values, and with the old."""
    questions = [
        q for q in _rows(DATA / "questions.jsonl") if q["evidence_ids"] == [UPDATED_DOCUMENT]
    ]
    old = [q for q in questions if set(q["answers"]) & set(OLD_VALUES)]
    new = [{**q, "answers": [_replace_values(a) for a in q["answers"]]} for q in old]
    return new, old


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="local")
    parser.add_argument("--epochs", type=int, default=6)
    # Full-weight shards merge with less loss than LoRA ones here (README, lifecycle).
    parser.add_argument("--method", choices=("full", "lora"), default="full")
    parser.add_argument(
        "--lr", type=float, default=None, help="Default: 1e-4 for full shards, 1e-3 for LoRA."
    )
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--shard-size", type=int, default=2)
    # Its pairs are all in its own shard; an early document's cross-document pairs lie in the
    # later shards too (pellmarsh's in all four), and forgetting it retrains every one.
    parser.add_argument("--forget", default="lornhaven")
    parser.add_argument("--probe-pairs", type=int, default=5, help="Reference pairs per document.")
    parser.add_argument(
        "--forgotten-pairs", type=int, default=100, help="Reference pairs of the forgotten one."
    )
    parser.add_argument(
        "--consolidation-epochs",
        type=int,
        default=None,
        help="Epochs on all pairs after each merge (default: the library's, 2).",
    )
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument(
        "--citation-pairs", type=int, default=4, help="Reference pairs per set of documents."
    )
    parser.add_argument("--skip-single", action="store_true", help="No all-pairs memory.")
    parser.add_argument(
        "--skip-never-taught",
        action="store_true",
        help="No memory trained on every pair but the forgotten document's.",
    )
    parser.add_argument(
        "--min-recall", type=float, default=0.0, help="The learning check's threshold."
    )
    args = parser.parse_args()
    lr = args.lr or {"full": 1e-4, "lora": 1e-3}[args.method]
    config = TrainConfig(
        method=args.method, epochs=args.epochs, learning_rate=lr, max_length=args.max_length
    )
    settings = library.LibrarySettings(
        shard_size=args.shard_size,
        training=config,
        min_recall=args.min_recall,
        consolidation_epochs=args.consolidation_epochs,
    )
    about = document_probes(args.forget, args.forgotten_pairs, about=True)
    exclusive, shared = only_there(args.forget, about)
    others = document_probes(args.forget, args.probe_pairs, about=False)
    groups = {"about": exclusive, "shared": shared, "others": others}
    new_fact, old_fact = _update_probes()
    base_dir = None if args.base == "local" else args.base.removeprefix("local:")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        lib = library.init(work / "lib", base=args.base, settings=settings)
        started = time.perf_counter()
        added = library.add(lib, DATA / "corpus.json", pairs=DATA / "reference_qa.jsonl")
        add_s = time.perf_counter() - started
        memory = str(library.current_memory(lib))
        before = {k: _share(_hits(memory, v, args.max_tokens)) for k, v in groups.items()}
        before["closed_book"] = _contained(base_dir, exclusive, args.max_tokens)
        citations = citation_scores(lib, citation_pairs(args.citation_pairs))
        single: float | None = None
        if not args.skip_single:
            train_memory(cited_pairs(work), work / "single", base=args.base, config=config,
                         progress=False)  # fmt: skip
            single = _contained(str(work / "single"), about + others, args.max_tokens)
        never_taught: list[bool] | None = None
        if not args.skip_never_taught:
            train_memory(cited_pairs(work, without=args.forget), work / "never-taught",
                         base=args.base, config=config, progress=False)  # fmt: skip
            never_taught = _hits(str(work / "never-taught"), exclusive, args.max_tokens)
        merged = _contained(memory, about + others, args.max_tokens)
        # The merge the consolidation started from: what merging alone keeps.
        merge_alone = (
            _contained(_consolidated_from(memory), about + others, args.max_tokens)
            if added.consolidated
            else merged
        )

        started = time.perf_counter()
        forgot = library.forget(lib, [args.forget])
        forget_s = time.perf_counter() - started
        cited_after_forget = citation_scores(lib, citation_pairs(args.citation_pairs))
        memory = str(library.current_memory(lib))
        after_hits = {k: _hits(memory, v, args.max_tokens) for k, v in groups.items()}
        after = {k: _share(v) for k, v in after_hits.items()}
        corpus, pairs = _updated_inputs(work, args.forget)
        started = time.perf_counter()
        updated = library.update(lib, corpus, pairs=pairs)
        update_s = time.perf_counter() - started
        memory = str(library.current_memory(lib))
        updated_new = _contained(memory, new_fact, args.max_tokens)
        updated_old = _contained(memory, old_fact, args.max_tokens)

    full = max(added.tokens_trained, 1)
    print(f"shards: {len(added.trained)}; add {add_s:.0f} s, {added.tokens_trained:,} tokens")
    recall = ", ".join(f"{d} {r:.2f}" for d, r in sorted(added.recall.items()))
    print(f"learning check, recall of probed pairs per document: {recall}")
    print(f"forget {args.forget}: retrained {', '.join(forgot.trained)} in {forget_s:.0f} s, "
          f"{forgot.tokens_trained:,} tokens")  # fmt: skip
    print(f"update {UPDATED_DOCUMENT}: retrained {', '.join(updated.trained)} in {update_s:.0f} s, "
          f"{updated.tokens_trained:,} tokens")  # fmt: skip
    print(f"containment on what only {args.forget} states ({len(exclusive)} probes): before "
          f"{before['about']:.2f}, after {after['about']:.2f}, closed book "
          f"{before['closed_book']:.2f}; on what others state too ({len(shared)}): before "
          f"{before['shared']:.2f}, after {after['shared']:.2f}; on the other documents "
          f"({len(others)}): before {before['others']:.2f}, after "
          f"{after['others']:.2f}")  # fmt: skip
    references = never_taught or [False] * len(exclusive)
    for probe, hit, reference in zip(exclusive, after_hits["about"], references, strict=True):
        if hit or reference:
            named = (("after the forget", hit), ("never taught", reference))
            who = " and ".join(name for name, yes in named if yes)
            print(f"  answered {who}: {probe['question']}")
    versus = f" vs one memory on all pairs {single:.2f}" if single is not None else ""
    print(f"the library's memory {merged:.2f} (its merge alone {merge_alone:.2f}){versus}")
    print_result(
        "lifecycle",
        {
            "forgotten": round(after["about"], 3),
            "forgotten_before": round(before["about"], 3),
            "forgotten_exact": forgotten_exact(after_hits["about"], never_taught),
            "never_taught": round(_share(never_taught), 3) if never_taught is not None else "na",
            "forgotten_shared": round(after["shared"], 3),
            "forgotten_shared_before": round(before["shared"], 3),
            "closed_book": round(before["closed_book"], 3),
            "retained_drop": round(before["others"] - after["others"], 3),
            "updated_new": round(updated_new, 3),
            "updated_old": round(updated_old, 3),
            "cost_ratio": round((forgot.tokens_trained + updated.tokens_trained) / (2 * full), 3),
            "forget_s": round(forget_s),
            "update_s": round(update_s),
            "merged": round(merged, 3),
            "merge_alone": round(merge_alone, 3),
            "min_document_recall": round(min(added.recall.values(), default=0.0), 3),
            "single": round(single, 3) if single is not None else "na",
            "citation_precision": round(citations.precision, 3),
            "citation_exact": round(citations.exact, 3),
            "citation_in_ledger": round(citations.in_ledger, 3),
            "shown_in_ledger": round(citations.shown_in_ledger, 3),
            "shown_in_ledger_after_forget": round(cited_after_forget.shown_in_ledger, 3),
        },
    )


if __name__ == "__main__":
    main()
