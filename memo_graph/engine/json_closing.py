"""Finishing a grammar-constrained JSON reply inside its token budget.

A small model can loop inside a JSON string until ``max_tokens`` runs out, which would leave
no valid object at all. So the engine keeps a *closing walk* in reserve: from any point of a
reply, close the open string, then the innermost container, fill any value the grammar still
requires with the shortest one, and take text the grammar forces (a key the schema spells out)
in the tokenizer's own pieces. The walk is simulated on a fork of the grammar matcher; once it
needs about as many tokens as the budget has left, the engine follows it instead of sampling.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import torch
import xgrammar as xgr

# Preferred single-character tokens, tried in order; the first one the grammar allows wins.
_IN_STRING = ('"',)
# "," before "0": a "0" can always extend a number, so preferring it would never end one.
_OUTSIDE_STRING = ("}", "]", '"', ",", "0", "[", "{")


@dataclass
class JsonLexState:
    """Whether the text so far ends inside a string, and which containers are open."""

    in_string: bool = False
    escaped: bool = False
    open_containers: list[str] = field(default_factory=list)

    def feed(self, text: str) -> None:
        for char in text:
            if self.in_string:
                if self.escaped:
                    self.escaped = False
                elif char == "\\":
                    self.escaped = True
                elif char == '"':
                    self.in_string = False
            elif char == '"':
                self.in_string = True
            elif char in "{[":
                self.open_containers.append(char)
            elif char in "}]" and self.open_containers:
                self.open_containers.pop()

    def preferences(self) -> tuple[str, ...]:
        if self.in_string:
            return _IN_STRING
        if self.open_containers and self.open_containers[-1] == "[":
            return ("]", *(c for c in _OUTSIDE_STRING if c != "]"))
        return _OUTSIDE_STRING


def _allows(mask_row: torch.Tensor, token_id: int) -> bool:
    return bool((int(mask_row[token_id // 32]) >> (token_id % 32)) & 1)


def _first_allowed(mask_row: torch.Tensor) -> int | None:
    words = torch.nonzero(mask_row).flatten()
    if len(words) == 0:
        return None
    word = int(words[0])
    bits = int(mask_row[word]) & 0xFFFFFFFF
    return word * 32 + ((bits & -bits).bit_length() - 1)


class ClosingWalk:
    """The closing walk for one tokenizer; safe to share across threads."""

    def __init__(self, tokenizer: Any, vocab_size: int) -> None:
        self._tokenizer = tokenizer
        self._vocab_size = vocab_size
        self._char_ids: dict[str, int] = {}
        for char in {*_IN_STRING, *_OUTSIDE_STRING}:
            ids = tokenizer.encode(char, add_special_tokens=False)
            if len(ids) == 1:
                self._char_ids[char] = int(ids[0])

    def piece(self, token_id: int) -> str:
        return str(self._tokenizer.decode([token_id]))

    def next_token(self, matcher: xgr.GrammarMatcher, lex: JsonLexState) -> int | None:
        """The walk's next token from ``matcher``'s state; None when only a stop token fits."""
        mask = xgr.allocate_token_bitmask(1, self._vocab_size)
        matcher.fill_next_token_bitmask(mask, 0)
        row = mask[0]
        for char in lex.preferences():
            token_id = self._char_ids.get(char)
            if token_id is not None and _allows(row, token_id):
                return token_id
        forced = matcher.find_jump_forward_string()
        if forced:
            first = self._tokenizer.encode(forced, add_special_tokens=False)[:1]
            if first and _allows(row, int(first[0])):
                return int(first[0])
        return _first_allowed(row)

    def length(self, matcher: xgr.GrammarMatcher, lex: JsonLexState, limit: int) -> int:
        """Tokens the walk needs to complete the grammar from here; ``limit + 1`` if more."""
        return self._walk(matcher.fork(), copy.deepcopy(lex), limit)

    def length_after(
        self, matcher: xgr.GrammarMatcher, lex: JsonLexState, token_id: int, limit: int
    ) -> int:
        """Tokens the walk needs once ``token_id`` is taken; ``limit + 1`` if more, or if the
        grammar refuses the token."""
        trial, trial_lex = matcher.fork(), copy.deepcopy(lex)
        if not trial.accept_token(token_id):
            return limit + 1
        trial_lex.feed(self.piece(token_id))
        return self._walk(trial, trial_lex, limit)

    def _walk(self, trial: xgr.GrammarMatcher, trial_lex: JsonLexState, limit: int) -> int:
        """Follow the walk on ``trial`` (a fork, consumed) and count its tokens."""
        for steps in range(limit + 1):
            if trial.is_completed():
                return steps
            token_id = self.next_token(trial, trial_lex)
            if token_id is None or not trial.accept_token(token_id):
                break
            trial_lex.feed(self.piece(token_id))
        return limit + 1
