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
    without_pairs: list[str] = field(default_factory=list)
    """Documents that no pair draws on: the memory knows nothing of them."""
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
        if not (self.added or self.updated or self.forgotten):
            found.append("no document to add, update or forget")
        found.append(f"pairs: {self.pairs_added} added, {self.pairs_dropped} dropped")
        found += [f"skipped {n} pairs: {why}" for why, n in sorted(self.skipped_pairs.items())]
        if self.without_pairs:
            found.append(f"no pair draws on: {', '.join(self.without_pairs)}")
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
