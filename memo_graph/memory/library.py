"""Reading a memory library: which memory artifact is its current one. A library is kept by
``memo_training.library`` (``memo library init``, ``memo add``); asking its memory needs only
this."""

from __future__ import annotations

from pathlib import Path

from memo_graph.errors import MemoError
from memo_graph.files import OutputPathError, check_output_directory
from memo_graph.models.artifact import is_complete

LEDGER_FILE = "ledger.json"
POINTER = "current"
"""A symbolic link to the current memory, switched in one rename: ``local:LIB/current``."""
KIND = "library"
"""The owner kind of a library's directory (memo_graph.files)."""


class LibraryError(MemoError, ValueError):
    """A memory library is missing, or an operation on it cannot be done as asked."""


def not_a_library(root: Path) -> LibraryError:
    """The error for a directory without a ledger, with the ``memo library init`` that would
    make one: on this directory where init would take it (absent, empty or a library's),
    elsewhere on a new one."""
    try:
        check_output_directory(root, KIND)
        how = f"make one with `memo library init {root} --base SPEC`."
    except OutputPathError:
        how = (
            "make one in a new directory with `memo library init NEW_DIRECTORY --base SPEC` "
            "(init would refuse this one: it is not empty, and not a library's)."
        )
    return LibraryError(f"{root} is not a memory library (no {LEDGER_FILE}); {how}")


def current_target(root: Path) -> Path | None:
    """The complete artifact ``root/current`` points to, if any."""
    pointer = root / POINTER
    if not pointer.is_symlink():
        return None
    target = pointer.resolve()
    return target if is_complete(target) else None


def current_memory(library: str | Path) -> Path:
    """The artifact the library's memory is now (``LIB/current`` resolved)."""
    root = Path(library).expanduser().resolve()
    if not (root / LEDGER_FILE).is_file():
        raise not_a_library(root)
    target = current_target(root)
    if target is None:
        raise LibraryError(f"{root} has no memory yet: add documents with pairs first (memo add).")
    return target
