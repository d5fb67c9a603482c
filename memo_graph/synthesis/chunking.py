"""Token-aware chunking with overlap. Chunks are spans of the original text, so a chunk quotes
its document exactly; windows are counted in tokenizer tokens or in words."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from memo_graph.synthesis.corpus import Document

Unit = Literal["tokens", "words"]
Spans = list[tuple[int, int]]
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class ChunkConfig:
    """The paper: 400 tokens with 40 overlap for passages, 4000 words with 400 for books."""

    size: int = 400
    overlap: int = 40
    unit: Unit = "tokens"

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"chunk size must be at least 1, got {self.size}")
        if not 0 <= self.overlap < self.size:
            raise ValueError(f"overlap must lie in [0, size), got {self.overlap}")
        if self.unit not in ("tokens", "words"):
            raise ValueError(f"unit must be 'tokens' or 'words', not {self.unit!r}")


@dataclass(frozen=True)
class Chunk:
    id: str
    document_id: str
    title: str
    index: int
    text: str


def word_spans(text: str) -> Spans:
    return [m.span() for m in _WORD.finditer(text)]


def tokenizer_spans(tokenizer: Any) -> Callable[[str], Spans]:
    """Character spans of a Hugging Face (fast) tokenizer's tokens."""

    def spans(text: str) -> Spans:
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return [(int(a), int(b)) for a, b in encoded["offset_mapping"] if b > a]

    return spans


def chunk_document(
    document: Document, config: ChunkConfig, spans_of: Callable[[str], Spans]
) -> list[Chunk]:
    spans = spans_of(document.text)
    if not spans:
        return []
    stride = config.size - config.overlap
    chunks = []
    for index, start in enumerate(range(0, max(len(spans) - config.overlap, 1), stride)):
        window = spans[start : start + config.size]
        text = document.text[window[0][0] : window[-1][1]]
        chunks.append(Chunk(f"{document.id}-c{index}", document.id, document.title, index, text))
    return chunks
