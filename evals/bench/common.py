"""Helpers every benchmark script shares."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def output_tokens(messages: Iterable[Any]) -> int:
    """Reply tokens summed over chat messages' ``usage_metadata``."""
    return sum(
        int((getattr(m, "usage_metadata", None) or {}).get("output_tokens", 0)) for m in messages
    )


def print_result(name: str, result: Mapping[str, object]) -> None:
    """The machine-readable last line: ``RESULT <name> key=value ...``."""
    print(f"RESULT {name} " + " ".join(f"{key}={value}" for key, value in result.items()))
