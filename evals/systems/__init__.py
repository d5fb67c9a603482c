"""The systems an evaluation compares, behind one interface (``System``)."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from evals.systems.base import Prediction, System
from evals.systems.memo import MemoryAlone, MemoSettings, MemoSystem
from evals.systems.reading import ClosedBook, Oracle, RetrievalRag, bm25_rag, dense_rag
from memo_graph.errors import MemoError

SYSTEM_NAMES = ("memo", "memory", "bm25", "dense", "closed_book", "oracle", "hipporag")


class UnknownSystemError(MemoError, ValueError):
    """A system name that ``memo eval`` does not know."""


def build_systems(
    names: list[str],
    executive: BaseChatModel,
    memo: MemoSettings | None = None,
    generator: BaseChatModel | None = None,
    k: int = 5,
    progress: bool = False,
) -> list[System]:
    unknown = [n for n in names if n not in SYSTEM_NAMES]
    if unknown or not names:
        raise UnknownSystemError(
            f"unknown systems {unknown or names}; choose among {', '.join(SYSTEM_NAMES)}"
        )
    systems: list[System] = []
    memo_system = MemoSystem(executive, memo, generator=generator, progress=progress)
    for name in dict.fromkeys(names):
        if name == "memo":
            systems.append(memo_system)
        elif name == "memory":
            systems.append(MemoryAlone(memo_system))
        elif name == "bm25":
            systems.append(bm25_rag(executive, k))
        elif name == "dense":
            systems.append(dense_rag(executive, k))
        elif name == "closed_book":
            systems.append(ClosedBook(executive))
        elif name == "oracle":
            systems.append(Oracle(executive))
        else:
            from evals.systems.hipporag import HippoRag

            systems.append(HippoRag.from_env())
    return systems


__all__ = [
    "SYSTEM_NAMES",
    "ClosedBook",
    "MemoSettings",
    "MemoryAlone",
    "MemoSystem",
    "Oracle",
    "Prediction",
    "RetrievalRag",
    "System",
    "UnknownSystemError",
    "build_systems",
]
