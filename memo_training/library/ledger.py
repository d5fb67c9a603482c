"""The ledger of a memory library: the documents it holds (id and content hash), the QA pairs
drawn from them (with their provenance) and the shard each pair is trained in. One JSON file,
replaced atomically. Every change is computed here as a new ledger, with no side effect: the
library writes it, then trains and merges until the memory matches it."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memo_graph.files import write_text_atomically
from memo_graph.memory.library import LEDGER_FILE, LibraryError
from memo_graph.synthesis.corpus import Document

if TYPE_CHECKING:
    from memo_training.data import PairRow

FORMAT = "memo-library/1"
_NOT_WORD = re.compile(r"[\W_]+")

Pair = dict[str, Any]
"""A QA pair as the synthesis graph writes it: question, answer and provenance (``step``,
``document_ids``, ``chunk_ids``, ``generator``); ``document_ids`` hold library ids here."""


class UnknownDocumentError(LibraryError):
    """Documents named to a library operation are not in the library."""

    def __init__(self, library: Path, unknown: Sequence[str], known: Iterable[str]) -> None:
        self.unknown = list(unknown)
        held = sorted(known)
        shown = ", ".join(held[:10]) + (f" and {len(held) - 10} more" if len(held) > 10 else "")
        super().__init__(
            f"{library} holds no document {', '.join(repr(i) for i in self.unknown)}; nothing "
            f"was changed. It holds: {shown or 'no document'} (memo library show {library})."
        )


def document_id(document: Document) -> str:
    """A document's id in a library: its title in lower case, words joined by hyphens (a file's
    title is its name), so that a new version of a document keeps its id."""
    return _NOT_WORD.sub("-", document.title.casefold()).strip("-") or document.id


def content_hash(document: Document) -> str:
    text = f"{document.title}\x00{document.text}\x00{document.date or ''}"
    return hashlib.sha256(text.encode()).hexdigest()


def shard_name(number: int) -> str:
    return f"shard-{number:04d}"


@dataclass(frozen=True)
class DocumentEntry:
    title: str
    sha256: str
    shard: str


@dataclass
class Ledger:
    base: str
    """The base model spec every shard is trained from (as the trainer normalises it)."""
    settings: dict[str, Any]
    """The library's settings (``LibrarySettings.to_dict``)."""
    documents: dict[str, DocumentEntry] = field(default_factory=dict)
    shards: dict[str, list[Pair]] = field(default_factory=dict)
    """Each shard's pairs. A shard's documents are those whose entry names it; a cross-document
    pair is trained in the newest shard among its documents'."""
    forgotten: dict[str, str] = field(default_factory=dict)
    """Id -> title of each document forgotten and not added again."""
    next_shard: int = 1
    published: bool = True
    """False from the moment a change is written until its memory is current."""

    # Reading and writing.

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "base": self.base,
                "settings": self.settings,
                "documents": {
                    i: {"title": d.title, "sha256": d.sha256, "shard": d.shard}
                    for i, d in self.documents.items()
                },
                "shards": self.shards,
                "forgotten": self.forgotten,
                "next_shard": self.next_shard,
                "published": self.published,
            },
            indent=1,
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Ledger:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise LibraryError(f"unknown ledger format {data.get('format')!r}")
        return cls(
            base=data["base"],
            settings=data["settings"],
            documents={i: DocumentEntry(**d) for i, d in data["documents"].items()},
            shards=data["shards"],
            forgotten=data["forgotten"],
            next_shard=data["next_shard"],
            published=data["published"],
        )

    def save(self, root: Path) -> None:
        write_text_atomically(root / LEDGER_FILE, self.to_json() + "\n")

    def copy(self) -> Ledger:
        return copy.deepcopy(self)

    # Questions about it.

    def shard_ids(self) -> list[str]:
        """Every shard that holds a document or a pair, oldest first."""
        return sorted(set(self.shards) | {d.shard for d in self.documents.values()})

    def trainable_shards(self) -> list[str]:
        return [s for s in self.shard_ids() if self.shards.get(s)]

    def documents_in(self, shard: str) -> list[str]:
        return sorted(i for i, d in self.documents.items() if d.shard == shard)

    def pair_counts(self) -> Counter[str]:
        """Pairs that draw on each document, wherever they are trained."""
        return Counter(
            i for pairs in self.shards.values() for p in pairs for i in p["document_ids"]
        )


@dataclass
class CorpusChange:
    """How a corpus differs from a ledger, by library document id."""

    new: dict[str, Document] = field(default_factory=dict)
    changed: dict[str, Document] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)
    """In the ledger, not in the corpus."""

    @property
    def incoming(self) -> dict[str, Document]:
        """What needs pairs and a shard: new documents and new versions of changed ones."""
        return {**self.new, **self.changed}


def identify(documents: Sequence[Document]) -> dict[str, Document]:
    """The documents by library id; two documents that would share an id are an error."""
    found: dict[str, Document] = {}
    for document in documents:
        key = document_id(document)
        if key in found:
            raise LibraryError(
                f"two documents of the corpus have the id {key!r} ({found[key].title!r} and "
                f"{document.title!r}); a library tells documents apart by title, so give them "
                "distinct titles."
            )
        found[key] = document
    return found


def compare(ledger: Ledger, documents: dict[str, Document]) -> CorpusChange:
    change = CorpusChange()
    for key, document in documents.items():
        held = ledger.documents.get(key)
        if held is None:
            change.new[key] = document
        elif held.sha256 != content_hash(document):
            change.changed[key] = document
        else:
            change.unchanged.append(key)
    change.vanished = sorted(set(ledger.documents) - set(documents))
    return change


def without_documents(ledger: Ledger, ids: Iterable[str], *, forgotten: bool) -> tuple[Ledger, int]:
    """The ledger without ``ids`` and without every pair that draws on one of them, wherever it
    is trained; shards left with no document and no pair go. Returns it and the pairs dropped.
    ``forgotten`` records the ids as forgotten (a new version of a document is not)."""
    gone = set(ids)
    result = ledger.copy()
    dropped = 0
    for shard, pairs in ledger.shards.items():
        kept = [p for p in pairs if not gone & set(p["document_ids"])]
        dropped += len(pairs) - len(kept)
        result.shards[shard] = kept
    for key in gone:
        entry = result.documents.pop(key)
        if forgotten:
            result.forgotten[key] = entry.title
    held = {d.shard for d in result.documents.values()}
    result.shards = {s: p for s, p in result.shards.items() if p or s in held}
    return result, dropped


def with_documents(
    ledger: Ledger, documents: dict[str, Document], pairs: Sequence[Pair], shard_size: int | None
) -> Ledger:
    """The ledger with ``documents`` in new shards (``shard_size`` documents each; None: all in
    one) and ``pairs`` each in the newest shard among its documents'."""
    result = ledger.copy()
    ids = list(documents)
    size = shard_size or max(len(ids), 1)
    for start in range(0, len(ids), size):
        shard = shard_name(result.next_shard)
        result.next_shard += 1
        for key in ids[start : start + size]:
            document = documents[key]
            result.documents[key] = DocumentEntry(document.title, content_hash(document), shard)
            result.forgotten.pop(key, None)
    for pair in pairs:
        shard = max(result.documents[i].shard for i in pair["document_ids"])
        result.shards.setdefault(shard, []).append(pair)
    return result


def select_pairs(
    rows: Iterable[PairRow], aliases: dict[str, str], incoming: set[str], held: set[str]
) -> tuple[list[PairRow], Counter[str]]:
    """The pairs of ``rows`` that draw on an incoming document and only on documents the library
    will hold, their ``document_ids`` read through ``aliases`` (any name of a document -> its
    library id), and their columns holding the question and answer as text; and the others,
    counted by reason."""
    kept: list[PairRow] = []
    skipped: Counter[str] = Counter()
    for row in rows:
        names = row.columns.get("document_ids") or []
        ids = sorted({aliases.get(str(n), "") for n in names})
        if row.refused.startswith("empty"):
            skipped["empty question or answer"] += 1
        elif row.refused:
            skipped["question or answer is not text"] += 1
        elif not names:
            skipped["no document_ids in its provenance"] += 1
        elif "" in ids or not set(ids) <= held:
            skipped["draws on a document the library does not hold"] += 1
        elif not set(ids) & incoming:
            skipped["draws only on documents already in the library"] += 1
        else:
            columns = {**row.columns, "question": row.question, "answer": row.answer}
            kept.append(replace(row, columns={**columns, "document_ids": ids}))
    return kept, skipped
