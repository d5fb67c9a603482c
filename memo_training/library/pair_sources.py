"""Where a library's new pairs come from: a .jsonl of pairs, or the synthesis graph run on the
incoming documents alone; and the names by which a pair's provenance may give a document."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from memo_graph.files import write_text_atomically
from memo_graph.synthesis.corpus import Document
from memo_training.library.ledger import CorpusChange, Ledger, LibraryError
from memo_training.library.store import LibraryLayout

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from memo_graph.synthesis.state import SynthesisContext
    from memo_training.data import PairRow

    GeneratorSpec = str | BaseChatModel | None
    """A GENERATOR spec, a chat model, or None: the synthesis context's own."""


@dataclass(frozen=True)
class PairSource:
    """Where new documents' pairs come from: a file, or the synthesis graph."""

    pairs: str | Path | None
    generator: GeneratorSpec
    synthesis: SynthesisContext | None

    def __post_init__(self) -> None:
        synthesized = self.generator is not None or self.synthesis is not None
        if self.pairs is not None and synthesized:
            raise LibraryError("give the pairs or a GENERATOR to synthesize them, not both.")

    def read(self, layout: LibraryLayout, change: CorpusChange, progress: bool) -> list[PairRow]:
        if self.pairs is not None:
            return read_pairs(self.pairs)
        return synthesize_pairs(layout, change, self.generator, self.synthesis, progress)


def read_pairs(path: str | Path) -> list[PairRow]:
    """The rows of a .jsonl of pairs, or of the one `memo synthesize` wrote in a directory, each
    with its line, read as `memo train` reads them (:func:`memo_training.data.pair_row`)."""
    from memo_graph.synthesis.output import JSONL_FILE
    from memo_training.data import pair_rows

    path = Path(path).expanduser()
    if path.is_dir() and (path / JSONL_FILE).is_file():
        path = path / JSONL_FILE
    if not path.is_file():
        raise LibraryError(
            f"no pairs file at {path}; give a .jsonl of QA pairs, or the output directory of "
            "memo synthesize."
        )
    return list(pair_rows(path))


def synthesize_pairs(
    layout: LibraryLayout,
    change: CorpusChange,
    generator: GeneratorSpec,
    synthesis: SynthesisContext | None,
    progress: bool,
) -> list[PairRow]:
    """Pairs synthesized from the incoming documents alone. The run lives in a work directory
    named by those documents, so a killed run replays its GENERATOR calls from the cache."""
    from memo_graph.synthesis import build_synthesis
    from memo_graph.synthesis.output import JSONL_FILE
    from memo_graph.synthesis.progress import synthesize_with_progress
    from memo_graph.synthesis.state import SynthesisContext, SynthesisInput

    context = synthesis or SynthesisContext()
    model = None
    if isinstance(generator, str):
        context = replace(context, generator=generator)
    elif generator is not None:
        model = generator
    records = [
        {"title": d.title, "text": d.text, **({"date": d.date} if d.date else {})}
        for d in change.incoming.values()
    ]
    key = hashlib.sha256(json.dumps(records, sort_keys=True).encode()).hexdigest()[:16]
    work = layout.work / f"synthesis-{key}"
    write_text_atomically(work / "corpus.json", json.dumps(records, ensure_ascii=False))
    graph = build_synthesis(model).compile()
    inputs = SynthesisInput(source=str(work / "corpus.json"), out=str(work / "out"))
    if progress:
        asyncio.run(synthesize_with_progress(graph, inputs, context))
    else:
        asyncio.run(graph.ainvoke(inputs, context=context))
    return read_pairs(work / "out" / JSONL_FILE)


def document_aliases(documents: dict[str, Document], ledger: Ledger) -> dict[str, str]:
    """Every name a pair's provenance may give a document -> its library id: the id itself, the
    title, and the id the corpus reader gives it (which synthesized pairs carry). Documents the
    ledger holds count too, so a new pair may link a new document to one added before."""
    found = {name: key for key, d in ledger.documents.items() for name in (d.title, key)}
    for key, document in documents.items():
        found.update({document.id: key, document.title: key, key: key})
    return found
