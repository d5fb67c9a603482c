"""Writing files and directories atomically: a reader sees the old version or the new one,
never half of one, whatever moment the writer dies at."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from memo_graph.errors import MemoError

OWNER_FILE = ".memo-graph.json"
"""Marks a directory that a memo-graph command made for its output, with the command's kind."""

# Read once, at import: os.umask can only be read by setting it, which races with threads.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _default_mode(directory: bool) -> int:
    """The mode a plain mkdir or open gives (mkdtemp and mkstemp make private entries)."""
    return (0o777 if directory else 0o666) & ~_UMASK


class OutputPathError(MemoError, ValueError):
    """An output path would overwrite something that memo-graph did not write."""


def _is_empty_directory(path: Path) -> bool:
    return path.is_dir() and next(path.iterdir(), None) is None


def check_replaceable(final: Path, is_ours: Callable[[Path], bool], what: str) -> None:
    """Refuse ``final`` unless it is absent, an empty directory, or ``is_ours`` says it is a
    ``what`` that a memo-graph command wrote (and may therefore replace)."""
    if not final.exists() and not final.is_symlink():
        return
    if final.is_symlink() or not final.is_dir():
        raise OutputPathError(
            f"{final} exists and is not a directory; nothing was changed. Give a new path, or "
            f"the directory of a {what}."
        )
    if _is_empty_directory(final) or is_ours(final):
        return
    raise OutputPathError(
        f"{final} is a directory that memo-graph did not write (it is not a {what}); nothing "
        "was changed. Give a new or empty directory, or remove it yourself."
    )


def _owner_kind(path: Path) -> str | None:
    try:
        return str(json.loads((path / OWNER_FILE).read_text(encoding="utf-8"))["kind"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def check_output_directory(path: Path, kind: str, signatures: Sequence[str] = ()) -> None:
    """Refuse ``path`` as the output directory of a ``kind`` command unless it is absent, empty,
    or was made by a ``kind`` command before (its owner file, or one of ``signatures``: files
    that only such a command writes, for directories made before owner files existed)."""
    path = path.expanduser()
    if path.exists() and not path.is_dir():
        raise OutputPathError(
            f"{path} is a file; --out takes a directory (a new one, or one that memo {kind} "
            "wrote before). Nothing was changed."
        )
    if not path.is_dir() or _is_empty_directory(path):
        return
    owner = _owner_kind(path)
    if owner == kind or (owner is None and any((path / s).exists() for s in signatures)):
        return
    made_by = f"memo {owner} output" if owner else "files that memo-graph did not write"
    raise OutputPathError(
        f"{path} holds {made_by}; memo {kind} writes only into a new or empty directory or "
        "into its own earlier output. Nothing was changed: give another --out."
    )


def claim_output_directory(path: Path, kind: str, signatures: Sequence[str] = ()) -> Path:
    """Check ``path`` (see :func:`check_output_directory`), create it and mark it as ours."""
    path = path.expanduser()
    check_output_directory(path, kind, signatures)
    path.mkdir(parents=True, exist_ok=True)
    if _owner_kind(path) is None:
        write_text_atomically(path / OWNER_FILE, json.dumps({"kind": kind}) + "\n")
    return path


@contextlib.contextmanager
def staged_directory(final: Path, is_ours: Callable[[Path], bool], what: str) -> Iterator[Path]:
    """Yield an empty staging directory beside ``final``; on success rename it to ``final``,
    which may only replace an empty directory or one that ``is_ours``
    (:func:`check_replaceable`)."""
    check_replaceable(final, is_ours, what)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        yield staging
        os.chmod(staging, _default_mode(directory=True))
        if final.exists():
            check_replaceable(final, is_ours, what)  # it may have changed meanwhile
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
