"""What a library operation did (:class:`LibraryReport`) and what a library holds
(:class:`LibraryView`), each with the plain sentences the command line prints."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from memo_training.library.settings import LibrarySettings


@dataclass
class LibraryReport:
    """What one operation did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    pairs_added: int = 0
    pairs_dropped: int = 0
    skipped_pairs: Counter[str] = field(default_factory=Counter)
    """Pairs offered but not taken, by reason."""
    refused_pairs: list[str] = field(default_factory=list)
    """Each pair left out for its question or answer (empty, or not text): its place, reason."""
    conflicts: list[str] = field(default_factory=list)
    """Each question taken twice with different answers: both places and both answers."""
    not_added: list[str] = field(default_factory=list)
    """New documents that no pair draws on: not recorded, so an add with pairs adds them."""
    not_updated: list[str] = field(default_factory=list)
    """Changed documents that no pair draws on: the library keeps the version it holds."""
    trained: list[str] = field(default_factory=list)
    """Shards trained by this operation."""
    kept: list[str] = field(default_factory=list)
    """Shards whose finished artifact was used as it was."""
    removed: list[str] = field(default_factory=list)
    """Shards left with no document and no pair, and removed."""
    tokens_trained: int = 0
    """Tokens of the shards' training and of the consolidation."""
    consolidated: bool = False
    """The memory is the shards' merge trained on all their pairs (LibrarySettings)."""
    recall: dict[str, float] = field(default_factory=dict)
    """Per document, the share of its probed pairs the current memory answers."""
    current: Path | None = None

    @property
    def left_out(self) -> list[str]:
        """Documents given to add or update and not taken, for want of pairs."""
        return [*self.not_added, *self.not_updated]

    def lines(self) -> list[str]:
        """The report in plain sentences, for the command line."""
        found = [
            f"{label}: {', '.join(ids)}"
            for label, ids in (
                ("added", self.added),
                ("updated", self.updated),
                ("forgotten", self.forgotten),
            )
            if ids
        ]
        if self.unchanged:
            found.append(f"unchanged: {len(self.unchanged)} documents")
        if not (self.added or self.updated or self.forgotten or self.left_out):
            found.append("no document to add, update or forget")
        found.append(f"pairs: {self.pairs_added} added, {self.pairs_dropped} dropped")
        found += [f"skipped {n} pairs: {why}" for why, n in sorted(self.skipped_pairs.items())]
        found += _first(self.refused_pairs, "left out {}", "pairs left out")
        found += _first(self.conflicts, "conflict: {}", "conflicts")
        found += _left_out(self.not_added, "added", "")
        found += _left_out(self.not_updated, "updated", " (the library keeps the version it holds)")
        found.append(
            f"shards trained: {', '.join(self.trained) or 'none'} ({self.tokens_trained} tokens);"
            f" kept: {', '.join(self.kept) or 'none'}"
        )
        if self.consolidated:
            found.append("the merge of the shards trained on all their pairs (consolidated)")
        if self.removed:
            found.append(f"shards removed: {', '.join(self.removed)}")
        if self.recall:
            low = sorted(self.recall.items(), key=lambda item: item[1])[:5]
            shown = ", ".join(f"{d} {r:.2f}" for d, r in low)
            found.append(f"recall of probed pairs, lowest first: {shown}")
        found.append(f"current memory: {self.current or 'none (no pairs)'}")
        return found


def _first(items: list[str], template: str, what: str, shown: int = 10) -> list[str]:
    lines = [template.format(item) for item in items[:shown]]
    return lines + ([f"and {len(items) - shown} more {what}"] if len(items) > shown else [])


def _left_out(ids: list[str], done: str, note: str) -> list[str]:
    """The documents an operation could not take for want of pairs, and what to do."""
    if not ids:
        return []
    one = len(ids) == 1
    count, was, them = (
        ("1 document", "was", "it") if one else (f"{len(ids)} documents", "were", "them")
    )
    return [
        f"{count} had no pairs and {was} not {done}{note}: {', '.join(ids)}; give pairs for {them} "
        "(a pair names its documents by id or title in its document_ids) and run memo add again"
    ]


@dataclass(frozen=True)
class DocumentRow:
    id: str
    title: str
    sha256: str
    shard: str
    pairs: int
    recall: float | None
    """Share of its probed pairs the current memory answers (None: not probed)."""


@dataclass(frozen=True)
class ShardRow:
    id: str
    documents: list[str]
    pairs: int
    artifact: Path | None
    """Its finished artifact, when it matches its pairs."""


@dataclass(frozen=True)
class LibraryView:
    path: Path
    base: str
    settings: LibrarySettings
    documents: list[DocumentRow]
    shards: list[ShardRow]
    forgotten: list[str]
    current: Path | None
    """The artifact ``LIB/current`` points to."""
    published: bool
    """False when an operation was interrupted: run it (or any other) again to finish."""

    def lines(self) -> list[str]:
        found = [f"library {self.path} (base {self.base})"]
        found += [
            f"  {d.id}: {d.title!r}, {d.pairs} pairs, {d.shard}, sha256 {d.sha256[:12]}"
            + (f", recall {d.recall:.2f}" if d.recall is not None else "")
            for d in self.documents
        ]
        found += [
            f"  {s.id}: {len(s.documents)} documents, {s.pairs} pairs, "
            + ("trained" if s.artifact else "not trained")
            for s in self.shards
        ]
        if self.forgotten:
            found.append(f"  forgotten: {', '.join(self.forgotten)}")
        found.append(f"current memory: {self.current or 'none'}")
        if not self.published:
            found.append(
                "the last change is not published (interrupted, or refused by the learning "
                "check): run the command again"
            )
        return found
