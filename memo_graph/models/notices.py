"""Notices of other libraries that we know to be harmless, silenced only where they arise, so
that a user sees our own output."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator


@contextlib.contextmanager
def peft_notices_silenced() -> Iterator[None]:
    """peft still reads transformers' old ``is_gradient_checkpointing`` name when it wraps a
    model: a FutureWarning about peft's code, nothing a user can change."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*is_gradient_checkpointing.* is deprecated", category=FutureWarning
        )
        yield
