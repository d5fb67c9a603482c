"""What the MEMORY says: an answer, its reasoning, and whether it claims to know."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from memo_graph.memory.sources import SourceCatalog, split_sources

# A reply that opens with one of these says it does not know.
_UNKNOWN_OPENINGS = (
    "i don't know",
    "i do not know",
    "i dont know",
    "i'm not sure",
    "i am not sure",
    "i have no information",
    "i cannot answer",
    "i can't answer",
    "i don't remember",
    "i do not remember",
    "no idea",
    "not sure",
)
# A reply that is exactly one of these says the same.
_UNKNOWN_WHOLE = ("unknown", "not known", "no answer", "none", "n/a")
_SPACES = re.compile(r"\s+")


def is_unknown(answer: str) -> bool:
    """True when a reply says the MEMORY does not know (or says nothing at all)."""
    text = _SPACES.sub(" ", answer.replace("\u2019", "'").lower()).strip(" .!\"'")
    if not text or text in _UNKNOWN_WHOLE:
        return True
    text = text.removeprefix("sorry, ").removeprefix("sorry ")
    return text.startswith(_UNKNOWN_OPENINGS)


class MemoryAnswer(BaseModel):
    """The JSON the MEMORY is asked for in ``json`` reply format."""

    answer: str = Field(
        description='The answer, or exactly "I don\'t know" when you do not know it.',
        max_length=600,
    )
    reasoning: str = Field(
        description="One short sentence: what you remember that supports the answer.",
        max_length=400,
    )


class MemoryReply(BaseModel):
    """One question's reply, as the MEMORY tool and the protocol graph report it. A library's
    memory ends its answers with a source marker (see :mod:`memo_graph.memory.sources`):
    read against the library's catalog, the marker leaves the answer, the titles the library
    holds go to ``sources`` and the others to ``unverified_sources``."""

    question: str
    answer: str
    reasoning: str = ""
    confident: bool
    sources: list[str] = Field(default_factory=list)
    """Titles of the documents the answer comes from, each one held by the library."""
    unverified_sources: list[str] = Field(default_factory=list)
    """Cited titles the library does not hold (made up, or forgotten): not citations."""

    @classmethod
    def from_answer(cls, question: str, answer: str, reasoning: str = "") -> MemoryReply:
        answer = answer.strip()
        return cls(
            question=question,
            answer=answer,
            reasoning=reasoning.strip(),
            confident=not is_unknown(answer),
        )

    def with_citations(self, catalog: SourceCatalog) -> MemoryReply:
        """This reply with its source marker read against ``catalog``. A reply that says it
        does not know cites nothing."""
        answer, cited = split_sources(self.answer)
        reply = MemoryReply.from_answer(self.question, answer, self.reasoning)
        if reply.confident:
            reply.sources, reply.unverified_sources = catalog.check(cited)
        return reply
