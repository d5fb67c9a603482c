"""Reply text as tokens arrive: decoded a few tokens at a time, cut at stop strings, and
streamed only as far as later tokens cannot change it.

Decoding a reply's whole token list at every step costs O(n) per token. Decoding a token on
its own is wrong: a byte-level tokenizer splits one character (an emoji, a CJK character)
over several tokens, and a SentencePiece one drops the space a word starts with when that word
opens the decoded text. So each step decodes a short window: the tokens whose text was settled
last, for context, plus the tokens after them; the text past the context's own text is new.
The reply's final text is one full decode, identical to decoding the whole list at once.
"""

from __future__ import annotations

from typing import Any

_INCOMPLETE = "\ufffd"  # what a decoder writes for the bytes of an unfinished character


class IncrementalDetokenizer:
    """The text of a growing token list; each token costs a decode of a few tokens."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        self.token_ids: list[int] = []
        # token_ids[_prefix_offset:_read_offset] are the tokens whose text was settled last;
        # the tokens from _read_offset on have no settled text yet.
        self._prefix_offset = 0
        self._read_offset = 0

    def add(self, token_id: int) -> str:
        """Append ``token_id``; the text it settles, "" while the window's last character is
        incomplete (or the token writes nothing, a special token say)."""
        self.token_ids.append(token_id)
        context = self._decode(self.token_ids[self._prefix_offset : self._read_offset])
        window = self._decode(self.token_ids[self._prefix_offset :])
        if len(window) <= len(context) or window.endswith(_INCOMPLETE):
            return ""
        self._prefix_offset, self._read_offset = self._read_offset, len(self.token_ids)
        return window[len(context) :]

    def full_text(self) -> str:
        """The text of every token so far, decoded at once (a trailing incomplete character
        included)."""
        return self._decode(self.token_ids)

    def _decode(self, token_ids: list[int]) -> str:
        return str(self._tokenizer.decode(token_ids, skip_special_tokens=True))


class ReplyText:
    """One reply's text: found stop strings, the final text, and the pieces to stream.

    Only text not streamed yet is searched for stops: a possible start of a stop string is
    held back from the stream, so a stop never begins inside streamed text.
    """

    def __init__(self, tokenizer: Any, stops: tuple[str, ...]) -> None:
        self._detokenizer = IncrementalDetokenizer(tokenizer)
        self._stops = stops
        self._unstreamed = ""  # settled text not yet handed to the stream
        self._streamed = 0  # characters handed to the stream so far
        self.stopped = False  # a stop string has appeared
        self.finished = False
        self.text = ""  # the final text, once finished

    @property
    def token_ids(self) -> list[int]:
        return self._detokenizer.token_ids

    def add(self, token_id: int) -> None:
        searched = len(self._unstreamed)
        self._unstreamed += self._detokenizer.add(token_id)
        self.stopped = first_stop(self._unstreamed, self._stops, searched) is not None

    def finish(self) -> None:
        """Settle the final text: every token decoded at once, cut before the first stop."""
        text = self._detokenizer.full_text()
        cut = first_stop(text, self._stops)
        self.text = text if cut is None else text[:cut]
        self.finished = True

    def take_streamable(self) -> str:
        """The text to stream now: all that is left once the reply is finished, else the
        settled text that cannot be the start of a stop string."""
        if self.finished:
            piece = self.text[self._streamed :]
        else:
            ready = safe_prefix_length(self._unstreamed, self._stops)
            piece, self._unstreamed = self._unstreamed[:ready], self._unstreamed[ready:]
        self._streamed += len(piece)
        return piece


def first_stop(text: str, stops: tuple[str, ...], searched: int = 0) -> int | None:
    """Where the first stop string in ``text`` begins, given that ``text[:searched]`` holds
    none; None if there is none."""
    cuts = [text.find(stop, max(0, searched - len(stop) + 1)) for stop in stops]
    found = [cut for cut in cuts if cut != -1]
    return min(found) if found else None


def safe_prefix_length(text: str, stops: tuple[str, ...]) -> int:
    """How much of ``text`` can be streamed: all but any tail that may start a stop string."""
    ready = len(text)
    for stop in stops:
        for size in range(min(len(stop) - 1, ready), 0, -1):
            if text[:ready].endswith(stop[:size]):
                ready -= size
                break
    return ready
