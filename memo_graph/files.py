"""Writing files and directories atomically: a reader sees the old version or the new one,
never half of one, whatever moment the writer dies at."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Read once, at import: os.umask can only be read by setting it, which races with threads.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _default_mode(directory: bool) -> int:
    """The mode a plain mkdir or open gives (mkdtemp and mkstemp make private entries)."""
    return (0o777 if directory else 0o666) & ~_UMASK


@contextlib.contextmanager
def staged_directory(final: Path) -> Iterator[Path]:
    """Yield an empty staging directory beside ``final``; on success rename it to ``final``."""
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        yield staging
        os.chmod(staging, _default_mode(directory=True))
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def write_text_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(staging, _default_mode(directory=False))
        os.replace(staging, path)
    finally:
        if os.path.exists(staging):
            os.unlink(staging)
