"""Reading a corpus: text files, JSON(L) lists of ``{title, text}``, or a Hugging Face dataset on
disk. Files, lines and records that cannot be documents (empty, binary, undecodable, oversized,
unreadable, invalid JSON) are skipped and reported by reason and by place, never fatal; a corpus
with no document at all is an error."""

from __future__ import annotations

import glob
import hashlib
import itertools
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memo_graph.errors import MemoError
from memo_graph.files import OWNER_FILE
from memo_graph.models.artifact import names_our_format

TEXT_SUFFIXES = (".txt", ".md")
RECORD_SUFFIXES = (".json", ".jsonl")
MAX_DOCUMENT_BYTES = 20_000_000
OUR_OUTPUT = "memo-graph output, not a document"


class CorpusError(MemoError, ValueError):
    """The corpus cannot be read or holds no document."""


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    text: str
    date: str | None = None


@dataclass(frozen=True)
class SkippedItem:
    """One file, line or record left out of the corpus."""

    reason: str
    where: str
    """``path`` for a whole file, ``path:line`` for a JSONL line, ``path[index]`` for a record of
    a JSON list or a dataset split."""
    detail: str = ""
    """What the reader said (a JSON error), or which document a duplicate repeats."""


@dataclass
class Corpus:
    documents: list[Document]
    skipped: Counter[str] = field(default_factory=Counter)
    """Files or records left out, by reason."""
    source: str = ""
    skipped_items: list[SkippedItem] = field(default_factory=list)
    """Each file or record left out, in the order met; ``skipped`` counts them by reason."""


@dataclass
class _Skips:
    counts: Counter[str] = field(default_factory=Counter)
    items: list[SkippedItem] = field(default_factory=list)

    def add(self, reason: str, where: str, detail: str = "") -> None:
        self.counts[reason] += 1
        self.items.append(SkippedItem(reason, where, detail))


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


Located = tuple[str, Document]
"""A document and where it was read: a file, a JSONL line or a record."""


def _records(
    rows: Iterable[tuple[str, Any]], default_title: str, skips: _Skips
) -> Iterator[Located]:
    for where, row in rows:
        if not isinstance(row, Mapping):
            skips.add("record is not an object", where)
            continue
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            skips.add("record without text", where)
            continue
        title = row.get("title")
        yield where, _make(str(title) if title else default_title, text, row.get("date"))


def _read_text(path: Path, skips: _Skips) -> str | None:
    where = str(path)
    try:
        size = path.stat().st_size
        if size == 0:
            skips.add("empty file", where)
            return None
        if size > MAX_DOCUMENT_BYTES:
            skips.add("oversized file", where)
            return None
        raw = path.read_bytes()
    except OSError as exc:
        skips.add("unreadable file", where, exc.strerror or type(exc).__name__)
        return None
    if b"\x00" in raw[:8192]:
        skips.add("binary file", where)
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        skips.add("undecodable file", where, f"not UTF-8 at byte {exc.start}")
        return None


def _jsonl_rows(path: Path, content: str, skips: _Skips) -> Iterator[tuple[str, Any]]:
    # Split on "\n" only: str.splitlines also breaks at U+2028 and other separators that a JSON
    # string may hold, which would cut a good record and misnumber the lines after it.
    for number, line in enumerate(content.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            yield where, json.loads(line)
        except json.JSONDecodeError as exc:
            skips.add("invalid JSON line", where, f"{exc.msg} at column {exc.colno}")


def _from_file(path: Path, skips: _Skips) -> Iterator[Located]:
    where = str(path)
    suffix = path.suffix.lower()
    if suffix not in TEXT_SUFFIXES + RECORD_SUFFIXES:
        skips.add(f"unsupported file type {suffix or '(none)'}", where)
        return
    content = _read_text(path, skips)
    if content is None:
        return
    if suffix in TEXT_SUFFIXES:
        if not content.strip():
            skips.add("empty file", where)
            return
        yield where, _make(path.stem, content)
        return
    if suffix == ".jsonl":
        yield from _records(_jsonl_rows(path, content, skips), path.stem, skips)
        return
    try:
        rows = json.loads(content)
    except json.JSONDecodeError as exc:
        skips.add("invalid JSON file", where, f"{exc.msg} at line {exc.lineno} column {exc.colno}")
        return
    if isinstance(rows, Mapping):
        yield from _records([(where, rows)], path.stem, skips)
    elif isinstance(rows, list):
        yield from _records(((f"{path}[{i}]", r) for i, r in enumerate(rows)), path.stem, skips)
    else:
        skips.add("JSON file is not a list of {title, text}", where)


def _from_dataset(path: Path, skips: _Skips) -> Iterator[Located]:
    from datasets import DatasetDict, load_from_disk

    loaded = load_from_disk(str(path))
    splits = loaded.items() if isinstance(loaded, DatasetDict) else [(None, loaded)]
    for name, split in splits:
        if "text" not in split.column_names:
            raise CorpusError(
                f"the dataset at {path} has no 'text' column; it needs title and text."
            )
        prefix = f"{path}/{name}" if name is not None else str(path)
        rows = ((f"{prefix}[{i}]", row) for i, row in enumerate(split))
        yield from _records(rows, path.name, skips)


def _made_by_us(folder: Path) -> bool:
    """A folder that a memo-graph command wrote (an output, a library, a memory artifact): its
    files are our own products, never documents."""
    return (folder / OWNER_FILE).is_file() or names_our_format(folder)


def _walk(root: Path, skips: _Skips) -> list[Path]:
    """Every file under ``root`` but hidden ones, those in hidden folders and those in folders
    below it that memo-graph wrote; a directory that cannot be listed is reported, where
    ``Path.rglob`` would pass over it without a word."""

    def unreadable(exc: OSError) -> None:
        skips.add("unreadable directory", str(exc.filename), exc.strerror or type(exc).__name__)

    found: list[Path] = []
    for folder, subfolders, names in os.walk(root, onerror=unreadable):
        for name in list(subfolders):
            if name.startswith("."):  # hidden, as hidden files are: .git, a run's .NAME.work
                subfolders.remove(name)
            elif _made_by_us(Path(folder, name)):
                skips.add(OUR_OUTPUT, str(Path(folder, name)))
                subfolders.remove(name)
        for name in names:
            path = Path(folder, name)
            if not name.startswith(".") and path.is_file():
                found.append(path)
    return sorted(found)


def _fixed_prefix(pattern: str) -> Path:
    """The folder a glob pattern names before its first wildcard."""
    parts = Path(pattern).expanduser().parts
    fixed = list(itertools.takewhile(lambda part: not glob.has_magic(part), parts))
    return Path(*fixed) if fixed else Path(".")


def _glob_files(pattern: str, skips: _Skips) -> list[Path]:
    """The files a glob matches, but those inside folders that memo-graph wrote below the
    folder the pattern names."""
    prefix = _fixed_prefix(pattern).resolve()
    kept = []
    for match in sorted(Path(p) for p in glob.glob(pattern, recursive=True)):
        if not match.is_file():
            continue
        between = [p for p in match.resolve().parents if prefix in p.parents]
        ours = next((p for p in between if _made_by_us(p)), None)
        if ours is None:
            kept.append(match)
        else:
            skips.add(OUR_OUTPUT, str(match), f"inside {ours}")
    return kept


def _files(source: str, skips: _Skips) -> list[Path]:
    path = Path(source).expanduser()
    if path.is_dir():
        return _walk(path, skips)
    if path.is_file():
        return [path]
    return _glob_files(source, skips)


def load_corpus(source: str | Path, *, limit: int | None = None) -> Corpus:
    """Every document under ``source``: a directory (searched recursively), a file, a glob, or a
    Hugging Face dataset saved with ``save_to_disk``. Duplicate documents are kept once."""
    source = str(source)
    skips = _Skips()
    root = Path(source).expanduser()
    saved_dataset = (root / "dataset_dict.json").exists() or (root / "state.json").exists()
    if root.is_dir() and saved_dataset:
        documents: Iterable[Located] = _from_dataset(root, skips)
    else:
        files = _files(source, skips)
        if not files:
            unread = "".join(f"; {item.where} could not be read" for item in skips.items)
            raise CorpusError(
                f"no corpus at {source!r}{unread}: give a directory or glob of .txt/.md files, a "
                ".json or .jsonl list of {title, text} records, or a Hugging Face dataset on disk."
            )
        documents = (found for path in files for found in _from_file(path, skips))
    unique: dict[str, Located] = {}
    for where, document in documents:
        if document.id in unique:
            skips.add("duplicate document", where, f"same as {unique[document.id][0]}")
            continue
        unique[document.id] = (where, document)
        if limit is not None and len(unique) >= limit:
            break
    if not unique:
        reasons = ", ".join(f"{n} {why}" for why, n in skips.counts.items()) or "nothing readable"
        raise CorpusError(
            f"the corpus at {source!r} holds no document ({reasons}); it needs UTF-8 .txt or .md "
            "files with text, or .json/.jsonl records with a 'text' field."
        )
    return Corpus([d for _, d in unique.values()], skips.counts, source, skips.items)
