"""Citations: the marker a library's MEMORY learns to end its answers with, and the check of
the titles it cites against the documents a library holds.

A trained answer reads ``Pellmarsh, a river town. [sources: Orvane Tessaly; Pellmarsh]``: the
answer, then one marker naming the titles of the documents the answer comes from. The marker
is written and read here only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from memo_graph.errors import MemoError
from memo_graph.files import write_text_atomically
from memo_graph.models.artifact import CATALOG_FILE

"""A memory artifact's catalog: the titles its weights were trained to cite."""
MARKER_OPENING = "[sources:"
MARKER_CLOSING = "]"
SOURCE_SEPARATOR = "; "
# The model may vary the opening's case and spacing, or say "source".
_OPENING = re.compile(r"\[\s*sources?\s*:", re.IGNORECASE)
# Characters that would end a title early inside the marker.
_TITLE_SAFE = str.maketrans({";": ",", "[": "(", "]": ")", "\n": " ", "\r": " "})


def marker_title(title: str) -> str:
    """A title as the marker spells it: one line, none of the marker's own characters."""
    return " ".join(title.translate(_TITLE_SAFE).split())


def source_key(title: str) -> str:
    """What two spellings of one title share: case and spacing aside."""
    return marker_title(title).casefold()


def distinct_titles(titles: Iterable[str]) -> list[str]:
    """Each title once (case and spacing aside), in first-cited order."""
    seen: dict[str, str] = {}
    for title in titles:
        if title and source_key(title) not in seen:
            seen[source_key(title)] = title
    return list(seen.values())


def with_sources(answer: str, titles: Sequence[str]) -> str:
    """``answer`` followed by the marker of ``titles``; the answer alone when there are none."""
    shown = distinct_titles(marker_title(t) for t in titles)
    if not shown:
        return answer
    return f"{answer.rstrip()} {MARKER_OPENING} {SOURCE_SEPARATOR.join(shown)}{MARKER_CLOSING}"


def split_sources(reply: str) -> tuple[str, list[str]]:
    """(the reply without its marker, the titles the marker cites). A reply with no marker is
    all answer. What follows the marker is dropped (a MEMORY running on past its answer), and a
    marker cut short by the token limit gives the titles it got to."""
    found = _OPENING.search(reply)
    if found is None:
        return reply.strip(), []
    cited = reply[found.end() :].split(MARKER_CLOSING, 1)[0]
    titles = distinct_titles(marker_title(t) for t in cited.split(SOURCE_SEPARATOR.strip()))
    return reply[: found.start()].strip(), titles


def without_sources(reply: str) -> str:
    """The reply's answer text, its marker removed."""
    return split_sources(reply)[0]


@dataclass(frozen=True)
class SourceCatalog:
    """The titles of the documents a library holds. A cited title is a citation only when the
    library holds a document of that title now; any other (made up, or forgotten: the weights
    no longer hold it) is flagged as unverified."""

    held: tuple[str, ...]

    def check(self, cited: Sequence[str]) -> tuple[list[str], list[str]]:
        """(the held titles, as the library spells them; the others, as cited)."""
        held = {source_key(t): t for t in self.held}
        sources = [held[source_key(t)] for t in cited if source_key(t) in held]
        unverified = [t for t in cited if source_key(t) not in held]
        return distinct_titles(sources), unverified

    def save(self, artifact: str | Path) -> None:
        """Write the catalog into a memory artifact, which then checks its own citations
        wherever it is loaded (:func:`catalog_of`). Unchanged, the file is left alone."""
        path = Path(artifact) / CATALOG_FILE
        text = json.dumps({"held": sorted(self.held)}, indent=1) + "\n"
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            write_text_atomically(path, text)


def catalog_of(spec: str) -> SourceCatalog | None:
    """The catalog of the memory artifact a ``local:PATH`` spec names, if it has one."""
    if not spec.startswith("local:"):
        return None
    path = Path(spec.removeprefix("local:")).expanduser() / CATALOG_FILE
    if not path.is_file():
        return None
    try:
        held = json.loads(path.read_text(encoding="utf-8"))["held"]
        if not isinstance(held, list) or not all(isinstance(t, str) for t in held):
            raise ValueError("'held' is not a list of titles")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MemoError(
            f"cannot read the source catalog {path}: {type(exc).__name__}: {exc}. It is written "
            "by the memory library; publish the memory again (memo add) or remove the file."
        ) from exc
    return SourceCatalog(held=tuple(held))
