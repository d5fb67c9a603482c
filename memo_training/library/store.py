"""A memory library's directory: where its ledger, shards and memories lie, the lock that gives
one process the library at a time, the ``current`` pointer and its switch, and the tidying that
removes what the ledger no longer uses.

::

    ledger.json                 documents, pairs and shards (memo_training.library.ledger)
    shards/<shard>/pairs.jsonl  a shard's pairs as the trainer reads them
    shards/<shard>/memory-<fp>  its artifact, named by its pairs' fingerprint
    memories/merged-<key>       the merge of the shards, when there are several
    memories/consolidated-<key> the merge trained on all the shards' pairs (and its .jsonl)
    current                     a symbolic link to the current memory: local:LIB/current
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from memo_graph.memory.library import LEDGER_FILE, POINTER, not_a_library
from memo_graph.memory.library import current_target as current_target_of
from memo_training.library.ledger import Ledger

PAIRS_FILE = "pairs.jsonl"


@dataclass(frozen=True)
class LibraryLayout:
    root: Path

    @classmethod
    def at(cls, library: str | Path) -> LibraryLayout:
        return cls(Path(library).expanduser().resolve())

    @property
    def ledger(self) -> Path:
        return self.root / LEDGER_FILE

    @property
    def shards(self) -> Path:
        return self.root / "shards"

    @property
    def memories(self) -> Path:
        return self.root / "memories"

    @property
    def work(self) -> Path:
        """Synthesis runs: kept until an operation finishes, so a killed one replays them."""
        return self.root / "work"

    @property
    def pointer(self) -> Path:
        return self.root / POINTER

    def shard(self, shard: str) -> Path:
        return self.shards / shard

    def shard_pairs(self, shard: str) -> Path:
        return self.shard(shard) / PAIRS_FILE

    def shard_artifact(self, shard: str, fingerprint: str) -> Path:
        return self.shard(shard) / f"memory-{fingerprint[:16]}"


def read_ledger(layout: LibraryLayout) -> Ledger:
    if not layout.ledger.is_file():
        raise not_a_library(layout.root)
    return Ledger.from_json(layout.ledger.read_text(encoding="utf-8"))


@contextlib.contextmanager
def locked(layout: LibraryLayout) -> Iterator[Ledger]:
    """The ledger, with the library to ourselves: a second process waits."""
    read_ledger(layout)  # a clear error before a lock file is made anywhere
    with FileLock(str(layout.root / ".lock")):
        yield read_ledger(layout)


# The current memory.


def current_target(layout: LibraryLayout) -> Path | None:
    """The complete artifact ``LIB/current`` points to, if any."""
    return current_target_of(layout.root)


def publish(layout: LibraryLayout, target: Path | None) -> None:
    """Point ``LIB/current`` at ``target`` in one rename: a reader sees the old memory or the
    new one. None removes the pointer (the library has no pairs)."""
    if target is None:
        layout.pointer.unlink(missing_ok=True)
        return
    relative = os.path.relpath(target, layout.root)
    if layout.pointer.is_symlink() and os.readlink(layout.pointer) == relative:
        return
    staging = layout.root / f".{POINTER}.{os.getpid()}"
    staging.unlink(missing_ok=True)
    os.symlink(relative, staging)
    os.replace(staging, layout.pointer)


def tidy(layout: LibraryLayout, ledger: Ledger, used: Iterable[Path]) -> None:
    """Remove what no shard or memory of the ledger uses: old artifacts and the pairs files of
    shards left without pairs (a forgotten document's pairs must not stay on disk), unfinished
    runs of pairs since changed, merges of other shards, synthesis work, staging left by a
    crash."""
    keep = {p.resolve() for p in used}
    trainable = set(ledger.trainable_shards())
    shards = set(ledger.shard_ids())
    for folder in _children(layout.shards):
        if folder.name not in shards:
            _remove(folder)
            continue
        for entry in _children(folder):
            wanted = entry.name == PAIRS_FILE and folder.name in trainable
            if not wanted and entry.resolve() not in keep:
                _remove(entry)
    for entry in _children(layout.memories):
        if entry.resolve() not in keep:
            _remove(entry)
    _remove(layout.work)
    for entry in _children(layout.root):
        if entry.name.startswith((f".{POINTER}.", f".{LEDGER_FILE}.")):
            _remove(entry)


def _children(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()
