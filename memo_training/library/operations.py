"""The library's operations: init, add, update, forget and show, and the commit that brings
the memory in line with the ledger (see the package's docstring)."""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from memo_graph.files import claim_output_directory
from memo_graph.memory.library import KIND
from memo_graph.memory.sources import CATALOG_FILE, SourceCatalog
from memo_graph.synthesis.corpus import load_corpus
from memo_training.data import ConflictingAnswersWarning, PairRow, answer_conflicts
from memo_training.library.learning_check import (
    checked_recall,
    recorded_recall,
    refuse_low_recall,
)
from memo_training.library.ledger import (
    Ledger,
    LibraryError,
    UnknownDocumentError,
    compare,
    identify,
    select_pairs,
    with_documents,
    without_documents,
)
from memo_training.library.pair_sources import PairSource, document_aliases
from memo_training.library.report import DocumentRow, LibraryReport, LibraryView, ShardRow
from memo_training.library.settings import LibrarySettings
from memo_training.library.shards import (
    consolidated_memory,
    finished_artifact,
    merged_memory,
    train_shard,
)
from memo_training.library.store import (
    LibraryLayout,
    current_target,
    locked,
    publish,
    read_ledger,
    tidy,
)

if TYPE_CHECKING:
    from memo_graph.synthesis.state import SynthesisContext
    from memo_training.library.pair_sources import GeneratorSpec


@contextlib.contextmanager
def _shard_conflicts_unsaid() -> Iterator[None]:
    """Reading a shard's pairs file warns of a question with two answers. An add has said so
    already, naming the lines of the pairs it was given (LibraryReport.conflicts); and a shard
    that cites sources gives a question drawn from two documents two answers on purpose."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConflictingAnswersWarning)
        yield


def init(library: str | Path, base: str = "local", settings: LibrarySettings | None = None) -> Path:
    """Make an empty library whose shards train from ``base``. Doing it again with the same
    base and settings does nothing; others are an error.

    Args:
        library: a new or empty directory (or this library's own).
        base: the base model spec every shard trains from.
        settings: how shards train and merge; None: the defaults.

    Returns:
        The library's directory.
    """
    from memo_training.trainer import normalise_base_spec

    settings = settings or LibrarySettings()
    settings.validate()
    layout = LibraryLayout.at(library)
    spec, _ = normalise_base_spec(base)
    if layout.ledger.is_file():
        held = read_ledger(layout)
        wanted = json.loads(json.dumps(settings.to_dict()))
        differs = [f"base {held.base}"] if held.base != spec else []
        differs += [f"{k} {v!r}" for k, v in held.settings.items() if wanted.get(k) != v]
        if differs:
            raise LibraryError(
                f"{layout.root} is a library already, with {'; '.join(differs)}; nothing was "
                "changed. Make the new library elsewhere."
            )
        return layout.root
    claim_output_directory(layout.root, KIND)
    Ledger(base=spec, settings=settings.to_dict()).save(layout.root)
    return layout.root


def add(
    library: str | Path,
    corpus: str | Path,
    *,
    pairs: str | Path | None = None,
    generator: GeneratorSpec = None,
    synthesis: SynthesisContext | None = None,
    min_recall: float | None = None,
    progress: bool = False,
) -> LibraryReport:
    """Add the corpus's new documents, and the new versions of changed ones, to the library.

    Their pairs come from ``pairs`` (a .jsonl of pairs with ``document_ids`` in their provenance:
    a document's library id, title or corpus id) or from the synthesis graph run on these
    documents only (``generator``: a spec or a chat model; ``synthesis``: a
    ``SynthesisContext``). Documents already held as they are change nothing. A document no
    pair draws on is not taken (the report's ``not_added`` and ``not_updated``): an add with
    pairs for it takes it later.

    The new memory is published only when every document's probed pairs are recalled at
    ``min_recall`` at least (the library's setting unless given); otherwise
    :class:`LearningCheckError` names the documents and the old memory stays current.

    Args:
        library: a library made by :func:`init`.
        corpus: a directory, file or glob of documents (see ``load_corpus``).
        pairs: QA pairs whose provenance names the documents; None: synthesize them.
        generator: the GENERATOR of the synthesized pairs (a spec or a chat model).
        synthesis: the synthesis settings of the synthesized pairs.
        min_recall: the learning check's threshold; None: the library's.
        progress: draw progress bars.

    Returns:
        What was added, updated, left out and dropped, and the memory now current.
    """
    source = PairSource(pairs, generator, synthesis)
    return _apply_corpus(library, corpus, source, min_recall, progress, vanish=False)


def update(
    library: str | Path,
    corpus: str | Path,
    *,
    pairs: str | Path | None = None,
    generator: GeneratorSpec = None,
    synthesis: SynthesisContext | None = None,
    min_recall: float | None = None,
    progress: bool = False,
) -> LibraryReport:
    """Make the library hold the corpus as it is now: forget the documents it no longer has,
    replace the changed ones, add the new ones.

    Args and returns: as :func:`add`.
    """
    source = PairSource(pairs, generator, synthesis)
    return _apply_corpus(library, corpus, source, min_recall, progress, vanish=True)


def forget(
    library: str | Path,
    ids: Sequence[str],
    *,
    min_recall: float | None = None,
    progress: bool = False,
) -> LibraryReport:
    """Remove documents: every shard with a pair that draws on one of them is trained again
    without those pairs (cross-document ones included), and the shards are merged again. An id
    the library does not hold is an error, and nothing changes; one it has forgotten already
    is done.

    Args:
        library: a library made by :func:`init`.
        ids: document ids (``memo library show``).
        min_recall: the learning check's threshold; None: the library's.
        progress: draw progress bars.

    Returns:
        What was forgotten and how many pairs went with it, and the memory now current.
    """
    layout = LibraryLayout.at(library)
    asked = list(dict.fromkeys(ids))
    with locked(layout) as ledger:
        unknown = [i for i in asked if i not in ledger.documents and i not in ledger.forgotten]
        if unknown:
            raise UnknownDocumentError(layout.root, unknown, ledger.documents)
        # An id forgotten already (by this same command, killed before it finished) is done.
        held = [i for i in asked if i in ledger.documents]
        report = LibraryReport(forgotten=held)
        changed, report.pairs_dropped = without_documents(ledger, held, forgotten=True)
        return _commit(layout, ledger, changed, report, min_recall, progress)


@_shard_conflicts_unsaid()
def show(library: str | Path) -> LibraryView:
    """What the library holds.

    Args:
        library: a library made by :func:`init`.

    Returns:
        Its documents (with their pairs and recall), shards, forgotten ids and current memory.
    """
    layout = LibraryLayout.at(library)
    ledger = read_ledger(layout)
    counts = ledger.pair_counts()
    current = current_target(layout)
    recall = recorded_recall(current) if current else {}
    documents = [
        DocumentRow(i, d.title, d.sha256, d.shard, counts[i], recall.get(i))
        for i, d in sorted(ledger.documents.items())
    ]
    shards = [
        ShardRow(
            s,
            ledger.documents_in(s),
            len(ledger.shards.get(s, [])),
            finished_artifact(layout, ledger, s),
        )
        for s in ledger.shard_ids()
    ]
    return LibraryView(
        layout.root,
        ledger.base,
        LibrarySettings.from_dict(ledger.settings),
        documents,
        shards,
        sorted(ledger.forgotten),
        current,
        ledger.published,
    )


def _place_catalog(ledger: Ledger, artifacts: list[Path], current: Path | None) -> None:
    """The titles the memory may cite, written into it (memo_graph.memory.sources): those of
    the documents its pairs draw on. A shard that was the memory once, and is one of several
    now, keeps no catalog: its titles are not the library's any more."""
    for artifact in artifacts:
        if artifact != current:
            (artifact / CATALOG_FILE).unlink(missing_ok=True)
    if current is not None:
        drawn = ledger.pair_counts()
        titles = (d.title for i, d in ledger.documents.items() if drawn[i])
        SourceCatalog(held=tuple(titles)).save(current)


def _apply_corpus(
    library: str | Path,
    corpus: str | Path,
    source: PairSource,
    min_recall: float | None,
    progress: bool,
    vanish: bool,
) -> LibraryReport:
    """Add the corpus's new and changed documents that pairs draw on; with ``vanish``, forget
    those it lacks. A document no pair draws on is left as it was (absent, or its old version),
    and named in the report, so that an add with pairs for it takes it later."""
    layout = LibraryLayout.at(library)
    documents = identify(load_corpus(corpus).documents)
    with locked(layout) as ledger:
        change = compare(ledger, documents)
        gone = change.vanished if vanish else []
        report = LibraryReport(forgotten=gone, unchanged=change.unchanged)
        kept, report.pairs_dropped = without_documents(ledger, gone, forgotten=True)
        chosen: list[PairRow] = []
        if change.incoming:
            offered = source.read(layout, change, progress)
            aliases = document_aliases(documents, kept)
            held = set(kept.documents) | set(change.incoming)
            chosen, report.skipped_pairs = select_pairs(
                offered, aliases, set(change.incoming), held
            )
            report.refused_pairs = [f"{r.place}: {r.why_refused()}" for r in offered if r.refused]
            report.conflicts = answer_conflicts(chosen)
        drawn = {i for row in chosen for i in row.columns["document_ids"]}
        report.added = sorted(set(change.new) & drawn)
        report.updated = sorted(set(change.changed) & drawn)
        report.not_added = sorted(set(change.new) - drawn)
        report.not_updated = sorted(set(change.changed) - drawn)
        kept, replaced = without_documents(kept, report.updated, forgotten=False)
        report.pairs_dropped += replaced
        taken = {k: d for k, d in change.incoming.items() if k in drawn}
        settings = LibrarySettings.from_dict(ledger.settings)
        pairs = [row.columns for row in chosen]
        kept = with_documents(kept, taken, pairs, settings.shard_size)
        report.pairs_added = len(pairs)
        return _commit(layout, ledger, kept, report, min_recall, progress)


# Bringing the memory in line with the ledger.


@_shard_conflicts_unsaid()
def _commit(
    layout: LibraryLayout,
    before: Ledger,
    ledger: Ledger,
    report: LibraryReport,
    min_recall: float | None,
    progress: bool,
) -> LibraryReport:
    """Write ``ledger``, then train, merge, check, publish and tidy until the memory matches
    it."""
    report.removed = [s for s in before.shard_ids() if s not in ledger.shard_ids()]
    ledger.published = False
    ledger.save(layout.root)
    settings = LibrarySettings.from_dict(ledger.settings)
    artifacts = []
    for shard in ledger.trainable_shards():
        artifact, tokens = train_shard(layout, ledger, shard, settings.training, progress)
        (report.trained if tokens is not None else report.kept).append(shard)
        report.tokens_trained += tokens or 0
        artifacts.append(artifact)
    current = merged_memory(layout, artifacts, settings)
    used = [*artifacts]  # what tidying keeps
    if current is not None and len(artifacts) > 1 and settings.consolidation:
        used.append(current)  # the merge the consolidated memory starts from
        current, pairs_file, tokens = consolidated_memory(
            layout, ledger, current, settings, progress
        )
        used.append(pairs_file)
        report.consolidated = True
        report.tokens_trained += tokens or 0
    used += [current] if current else []
    if current is not None and settings.probe_pairs:
        report.recall = checked_recall(current, ledger, settings.probe_pairs)
        threshold = settings.min_recall if min_recall is None else min_recall
        # A memory that removes documents is published whatever it recalls: the old one
        # still holds them.
        if set(before.documents) <= set(ledger.documents):
            refuse_low_recall(report.recall, threshold, layout.pointer)
    _place_catalog(ledger, artifacts, current)
    publish(layout, current)
    ledger.published = True
    ledger.save(layout.root)
    tidy(layout, ledger, used)
    report.current = current
    return report
