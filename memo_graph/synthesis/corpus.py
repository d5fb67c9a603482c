"""Reading a corpus: text files, JSON(L) lists of ``{title, text}``, or a Hugging Face dataset on
disk. Files that cannot be documents (empty, binary, undecodable, oversized) are skipped and
counted, never fatal; a corpus with no document at all is an error."""

from __future__ import annotations

import glob
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memo_graph.errors import MemoError

TEXT_SUFFIXES = (".txt", ".md")
RECORD_SUFFIXES = (".json", ".jsonl")
MAX_DOCUMENT_BYTES = 20_000_000


class CorpusError(MemoError, ValueError):
    """The corpus cannot be read or holds no document."""


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    text: str
    date: str | None = None


@dataclass
class Corpus:
    documents: list[Document]
    skipped: Counter[str] = field(default_factory=Counter)
    """Files or records left out, by reason."""
    source: str = ""


def _document_id(title: str, text: str) -> str:
    """Stable across runs and machines: the same document gets the same id."""
    return "doc-" + hashlib.sha256(f"{title}\x00{text}".encode()).hexdigest()[:12]


def _make(title: str, text: str, date: Any = None) -> Document:
    return Document(
        id=_document_id(title, text),
        title=title.strip(),
        text=text.strip(),
        date=str(date) if date not in (None, "") else None,
    )


def _records(rows: Iterable[Any], where: str, skipped: Counter[str]) -> Iterator[Document]:
    for row in rows:
        if not isinstance(row, Mapping):
            skipped["record is not an object"] += 1
            continue
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            skipped["record without text"] += 1
            continue
        title = row.get("title")
        yield _make(str(title) if title else where, text, row.get("date"))


def _read_text(path: Path, skipped: Counter[str]) -> str | None:
    size = path.stat().st_size
    if size == 0:
        skipped["empty file"] += 1
        return None
    if size > MAX_DOCUMENT_BYTES:
        skipped["oversized file"] += 1
        return None
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        skipped["binary file"] += 1
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        skipped["undecodable file"] += 1
        return None


def _from_file(path: Path, skipped: Counter[str]) -> Iterator[Document]:
    suffix = path.suffix.lower()
    if suffix not in TEXT_SUFFIXES + RECORD_SUFFIXES:
        skipped[f"unsupported file type {suffix or '(none)'}"] += 1
        return
    content = _read_text(path, skipped)
    if content is None:
        return
    if suffix in TEXT_SUFFIXES:
        if not content.strip():
            skipped["empty file"] += 1
            return
        yield _make(path.stem, content)
        return
    try:
        if suffix == ".jsonl":
            rows: Any = [json.loads(line) for line in content.splitlines() if line.strip()]
        else:
            rows = json.loads(content)
    except json.JSONDecodeError:
        skipped["invalid JSON file"] += 1
        return
    if isinstance(rows, Mapping):
        rows = [rows]
    if not isinstance(rows, list):
        skipped["JSON file is not a list of {title, text}"] += 1
        return
    yield from _records(rows, path.stem, skipped)


def _from_dataset(path: Path, skipped: Counter[str]) -> Iterator[Document]:
    from datasets import DatasetDict, load_from_disk

    loaded = load_from_disk(str(path))
    splits = loaded.values() if isinstance(loaded, DatasetDict) else [loaded]
    for split in splits:
        if "text" not in split.column_names:
            raise CorpusError(
                f"the dataset at {path} has no 'text' column; it needs title and text."
            )
        yield from _records(split, path.name, skipped)


def _files(source: str) -> list[Path]:
    path = Path(source).expanduser()
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    if path.is_file():
        return [path]
    return sorted(Path(p) for p in glob.glob(source, recursive=True) if Path(p).is_file())


def load_corpus(source: str | Path, *, limit: int | None = None) -> Corpus:
    """Every document under ``source``: a directory (searched recursively), a file, a glob, or a
    Hugging Face dataset saved with ``save_to_disk``. Duplicate documents are kept once."""
    source = str(source)
    skipped: Counter[str] = Counter()
    root = Path(source).expanduser()
    saved_dataset = (root / "dataset_dict.json").exists() or (root / "state.json").exists()
    if root.is_dir() and saved_dataset:
        documents: Iterable[Document] = _from_dataset(root, skipped)
    else:
        files = _files(source)
        if not files:
            raise CorpusError(
                f"no corpus at {source!r}: give a directory or glob of .txt/.md files, a .json or "
                ".jsonl list of {title, text} records, or a Hugging Face dataset on disk."
            )
        documents = (doc for path in files for doc in _from_file(path, skipped))
    unique: dict[str, Document] = {}
    for document in documents:
        if document.id in unique:
            skipped["duplicate document"] += 1
            continue
        unique[document.id] = document
        if limit is not None and len(unique) >= limit:
            break
    if not unique:
        reasons = ", ".join(f"{n} {why}" for why, n in skipped.items()) or "nothing readable"
        raise CorpusError(
            f"the corpus at {source!r} holds no document ({reasons}); it needs UTF-8 .txt or .md "
            "files with text, or .json/.jsonl records with a 'text' field."
        )
    return Corpus(list(unique.values()), skipped, source)
