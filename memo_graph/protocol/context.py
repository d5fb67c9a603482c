"""Settings of one protocol run, read by every node through ``Runtime.context``.

Defaults are the paper's: 7 identification turns, 8 answer-seeking turns, a question is a dead
end after 3 "I don't know", a candidate is demoted after 2 and dropped after 3; executive
temperatures 0.4 / 0.4 / 1.0 and 0.3 for the final answer; memory 0.1 / 0.1 / 0.3.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Literal

from memo_graph.errors import ProtocolSettingsError
from memo_graph.models.spec import REMOTE_RETRIES, REMOTE_TIMEOUT_S


def _doc(text: str) -> dict[str, str]:
    return {"description": text}


@dataclass(kw_only=True)
class ProtocolContext:
    """Who plays each role and how much each stage may spend."""

    executive: str = field(
        default="local",
        metadata=_doc("EXECUTIVE model spec: local, openai:MODEL, google_genai:MODEL, vllm:M@URL."),
    )
    memory: str = field(
        default="local",
        metadata=_doc("MEMORY spec: local:ARTIFACT_DIR or openai-compatible:NAME@URL (vLLM)."),
    )
    memory_reply_format: Literal["text", "json"] = field(
        default="text",
        metadata=_doc(
            "text: the bare question, as the MEMORY was trained; json: {answer, reasoning}."
        ),
    )
    max_subquestions: int = field(default=4, metadata=_doc("Grounding sub-questions at most."))
    identification_turns: int = field(default=7, metadata=_doc("Entity identification budget."))
    seeking_turns: int = field(default=8, metadata=_doc("Answer seeking budget."))
    dead_end_after: int = field(
        default=3, metadata=_doc("A question is not sent again after this many 'I don't know'.")
    )
    demote_after: int = field(
        default=2, metadata=_doc("'I don't know' replies about a candidate before it is demoted.")
    )
    drop_after: int = field(
        default=3, metadata=_doc("'I don't know' replies about a candidate before it is dropped.")
    )
    executive_retries: int = field(
        default=2, metadata=_doc("Retries of an executive reply that does not parse.")
    )
    executive_max_tokens: int = field(
        default=512,
        metadata=_doc(
            "Most tokens per executive reply (an executive given as a model object keeps its own)."
        ),
    )
    timeout_s: float = field(
        default=REMOTE_TIMEOUT_S,
        metadata=_doc("Seconds a remote EXECUTIVE or MEMORY may take per request."),
    )
    remote_retries: int = field(
        default=REMOTE_RETRIES,
        metadata=_doc("Retries of a remote request that timed out or could not connect."),
    )
    memory_concurrency: int | None = field(
        default=None, metadata=_doc("Questions sent to the MEMORY at once; None = all, 1 = serial.")
    )
    max_query_chars: int = field(default=4000, metadata=_doc("Longest query accepted."))
    check_support: bool = field(
        default=True,
        metadata=_doc(
            "Replace a final answer that no confident MEMORY reply supports by the MEMORY's "
            "direct reply (or its best-supported one)."
        ),
    )
    end_on_confirmed_reply: bool = field(
        default=True,
        metadata=_doc(
            "End after grounding when the MEMORY's direct reply to the query is confirmed by "
            "another reply (no more EXECUTIVE calls)."
        ),
    )
    grounding_temperature: float = field(
        default=0.4, metadata=_doc("EXECUTIVE temperature while splitting the query.")
    )
    identification_temperature: float = field(
        default=0.4, metadata=_doc("EXECUTIVE temperature while identifying the entity.")
    )
    seeking_temperature: float = field(
        default=1.0, metadata=_doc("EXECUTIVE temperature while seeking the answer.")
    )
    final_temperature: float = field(
        default=0.3, metadata=_doc("EXECUTIVE temperature of the final answer.")
    )
    memory_query_temperature: float = field(
        default=0.0,
        metadata=_doc(
            "The query itself, asked in grounding as the MEMORY alone would be (greedy): its "
            "direct reply is the one MEMO must never do worse than."
        ),
    )
    memory_grounding_temperature: float = field(
        default=0.1, metadata=_doc("MEMORY temperature for the grounding sub-questions.")
    )
    memory_identification_temperature: float = field(
        default=0.1, metadata=_doc("MEMORY temperature in entity identification.")
    )
    memory_seeking_temperature: float = field(
        default=0.3, metadata=_doc("MEMORY temperature in answer seeking.")
    )

    def __post_init__(self) -> None:
        for name in (
            "max_subquestions",
            "identification_turns",
            "seeking_turns",
            "dead_end_after",
            "demote_after",
            "drop_after",
            "executive_max_tokens",
            "max_query_chars",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ProtocolSettingsError(
                    f"{name} must be a whole number of 1 or more, got {value!r}"
                )
        if not self.timeout_s > 0:
            raise ProtocolSettingsError(f"timeout_s must be positive, got {self.timeout_s!r}")
        if self.remote_retries < 0:
            raise ProtocolSettingsError(
                f"remote_retries must be 0 or more, got {self.remote_retries!r}"
            )
        if self.executive_retries < 0:
            raise ProtocolSettingsError(
                f"executive_retries must be 0 or more, got {self.executive_retries!r}"
            )
        if self.memory_concurrency is not None and self.memory_concurrency < 1:
            raise ProtocolSettingsError(
                f"memory_concurrency must be 1 or more (or None for all at once), got "
                f"{self.memory_concurrency!r}"
            )
        if self.demote_after > self.drop_after:
            raise ProtocolSettingsError(
                f"demote_after ({self.demote_after}) must not exceed drop_after ({self.drop_after})"
            )
        for item in fields(self):
            if item.name.endswith("temperature"):
                value = getattr(self, item.name)
                if not 0 <= value <= 2:
                    raise ProtocolSettingsError(f"{item.name} must lie in [0, 2], got {value!r}")
        for role in ("executive", "memory"):
            if not str(getattr(self, role)).strip():
                raise ProtocolSettingsError(f"the {role} spec is empty; write e.g. 'local'")

    def recursion_limit(self) -> int:
        """A LangGraph recursion limit that the budgets can never reach."""
        return max(25, self.identification_turns + self.seeking_turns + 10)
