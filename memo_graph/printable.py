"""Text from outside our code (file names, titles, model replies, server messages) made safe
to print: control characters are shown as escapes, never sent to the terminal, so a file name
cannot clear the screen, move the cursor or change colours."""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 controls but tab and newline, DEL, and the marks that reorder text (bidi)."""


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every control character written as a ``\\xNN`` or ``\\uNNNN`` escape."""
    return _CONTROL.sub(_escape, text)
