"""Checksums of weight files, computed once per process for a file's size and mtime."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path


@functools.lru_cache(maxsize=64)
def _digest_of(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    """sha256 of a file, computed once per process for a given size and modification time."""
    stat = path.stat()
    return _digest_of(path.resolve(), stat.st_size, stat.st_mtime_ns)
