"""Writing files and directories atomically: a reader sees the old version or the new one,
never half of one, whatever moment the writer dies at."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from memo_graph.errors import MemoError, causes

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


class OutputWriteError(MemoError, OSError):
    """An output could not be written: its disk is full, read-only or not ours to write."""


_WRITE_FAILURES = {
    errno.ENOSPC: "no space is left on the disk holding it",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the disk holding it is read-only",
    errno.EACCES: "permission is denied",
    errno.EPERM: "permission is denied",
}
_FORBIDDEN = frozenset({_WRITE_FAILURES[errno.EACCES], "it cannot be opened for writing"})
_FAILURE_WORDS = {  # for clients that report the system's words, not an errno
    "no space left on device": _WRITE_FAILURES[errno.ENOSPC],
    "database or disk is full": _WRITE_FAILURES[errno.ENOSPC],
    "read-only file system": _WRITE_FAILURES[errno.EROFS],
    "readonly database": "it is read-only",
    "permission denied": _WRITE_FAILURES[errno.EACCES],
    "unable to open database file": "it cannot be opened for writing",
}


def write_failure(exc: BaseException, disk_only: bool = False) -> str | None:
    """Why writing failed, in words, when ``exc`` (or what caused it) is a full, read-only or
    (unless ``disk_only``: a read can be forbidden too) forbidden disk: an ``OSError``,
    safetensors' ``SafetensorError``, sqlite's ``OperationalError``. None for any other
    error."""
    for error in causes(exc):
        reason = _failure_of(error)
        if reason is not None and not (disk_only and reason in _FORBIDDEN):
            return reason
    return None


def _failure_of(error: BaseException) -> str | None:
    if isinstance(error, OSError) and error.errno in _WRITE_FAILURES:
        return _WRITE_FAILURES[error.errno]
    said = str(error).lower()
    return next((reason for words, reason in _FAILURE_WORDS.items() if words in said), None)


def _disk_state(path: Path) -> str | None:
    """What the disk holding ``path`` (or its nearest existing parent) says of itself."""
    existing = next((p for p in (path, *path.parents) if os.path.exists(p)), None)
    if existing is None:
        return None
    try:
        disk = os.statvfs(existing)
    except OSError:
        return None
    if disk.f_flag & os.ST_RDONLY:
        return _WRITE_FAILURES[errno.EROFS]
    if disk.f_bavail == 0:
        return _WRITE_FAILURES[errno.ENOSPC]
    return None


@contextlib.contextmanager
def writing_to(path: Path, what: str) -> Iterator[None]:
    """Turn a failure to write ``what`` under ``path`` (full disk, read-only, forbidden) into
    an :class:`OutputWriteError` that names the path and the fix."""
    try:
        yield
    except OutputWriteError:
        raise
    except Exception as exc:
        reason = write_failure(exc)
        if reason is None:
            raise
        reason = _disk_state(path) or reason
        raise OutputWriteError(
            f"cannot write {what} in {path}: {reason}. Nothing half-written was kept; free space "
            "or make it writable, then run the same command again (it resumes)."
        ) from exc


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
