"""Exception types of memo-graph. Every message says what went wrong and what to do."""

from __future__ import annotations

from collections.abc import Iterator


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what caused it, each once: its ``__cause__``, else its ``__context__``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


class MemoError(Exception):
    """Base class of every error memo-graph raises on purpose."""


class MemoWarning(UserWarning):
    """Base class of memo-graph's warnings: something ran, but may not do what was meant."""


class ModelSpecError(MemoError, ValueError):
    """A model spec string cannot be resolved to a chat model."""

    def __init__(self, spec: str, problem: str, fix: str) -> None:
        self.spec = spec
        super().__init__(f"model spec {spec!r}: {problem}. {fix}")


class ModelLoadError(MemoError):
    """Local model weights are missing, corrupt or unreadable."""


class StructuredOutputError(MemoError, ValueError):
    """A JSON schema cannot be enforced, or a reply could not complete it."""


class PromptTooLongError(MemoError, ValueError):
    """A prompt plus its max_tokens do not fit the model's context window."""


class ProtocolSettingsError(MemoError, ValueError):
    """A protocol setting (budget, temperature, model spec) is out of range."""


class ProtocolInputError(MemoError, ValueError):
    """The query given to the protocol graph cannot be asked."""


class ExecutiveUnavailableError(MemoError):
    """The EXECUTIVE model could not be reached or failed outright (not a parse failure)."""
