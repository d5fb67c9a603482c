"""What the MEMORY says: an answer, its reasoning, and whether it claims to know."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

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
    """One question's reply, as the MEMORY tool and the protocol graph report it."""

    question: str
    answer: str
    reasoning: str = ""
    confident: bool

    @classmethod
    def from_answer(cls, question: str, answer: str, reasoning: str = "") -> MemoryReply:
        answer = answer.strip()
        return cls(
            question=question,
            answer=answer,
            reasoning=reasoning.strip(),
            confident=not is_unknown(answer),
        )
