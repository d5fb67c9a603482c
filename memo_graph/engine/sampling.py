"""Choosing each row's next token from the logits of one decoding step: frequency and presence
penalties, the JSON grammar's mask, greedy or temperature/top-p sampling, and the closing walk
that ends a JSON reply inside its token budget (see ``json_closing``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
import xgrammar as xgr

from memo_graph.engine.json_closing import ClosingWalk, JsonLexState
from memo_graph.errors import StructuredOutputError

if TYPE_CHECKING:
    from memo_graph.engine.batch import Row
    from memo_graph.engine.generation import GenerationRequest

# A JSON reply starts checking its closing walk this many tokens before its budget ends, and
# follows it with this many tokens to spare (a sampled token can lengthen the walk by a few).
_CLOSING_HORIZON = 96
_CLOSING_MARGIN = 3


class TokenChooser:
    """Picks the next token of every row in a batch; used by the engine's worker only."""

    def __init__(self, closing_walk: ClosingWalk, max_batch_size: int, vocab_size: int) -> None:
        self._closing_walk = closing_walk
        self._bitmask = xgr.allocate_token_bitmask(max_batch_size, vocab_size)

    def check_budget_fits(self, request: GenerationRequest) -> None:
        """Refuse a JSON request whose shortest valid reply is longer than its token budget."""
        assert request.grammar is not None
        budget = request.params.max_new_tokens
        shortest = self._closing_walk.length(
            xgr.GrammarMatcher(request.grammar), JsonLexState(), budget
        )
        if shortest > budget:
            raise StructuredOutputError(
                f"max_tokens={budget} is too small for this JSON schema: even its shortest "
                "valid reply needs more tokens. Raise max_tokens or simplify the schema."
            )

    def choose(self, logits: torch.Tensor, rows: Sequence[Row]) -> torch.Tensor:
        """One token per row of ``logits`` (modified in place)."""
        _apply_penalties(logits, rows)
        constrained = [i for i, row in enumerate(rows) if row.matcher is not None]
        if constrained:
            for i in constrained:
                rows[i].matcher.fill_next_token_bitmask(self._bitmask, i)  # type: ignore[union-attr]
            xgr.apply_token_bitmask_inplace(
                logits, self._bitmask[: len(rows)].to(logits.device), indices=constrained
            )
        chosen = logits.argmax(dim=-1)
        sampled = [i for i, row in enumerate(rows) if row.request.params.temperature > 0]
        if sampled:
            _sample_into(chosen, logits, rows, sampled)
        for i in constrained:
            matcher = rows[i].matcher
            if matcher is not None and self._must_close(rows[i], matcher, int(chosen[i])):
                walk_token = self._closing_walk.next_token(matcher, rows[i].lex)
                if walk_token is not None:
                    chosen[i] = walk_token
        return chosen

    def _must_close(self, row: Row, matcher: xgr.GrammarMatcher, candidate: int) -> bool:
        """Whether a JSON reply must follow its closing walk now to end inside its budget:
        judged after ``candidate``, the token chosen for this step, since one token (a "{" in
        an array of objects) can lengthen the walk by many."""
        if not row.closing and row.remaining <= _CLOSING_HORIZON:
            needed = self._closing_walk.length_after(matcher, row.lex, candidate, row.remaining)
            row.closing = 1 + needed + _CLOSING_MARGIN >= row.remaining
        return row.closing


def _apply_penalties(logits: torch.Tensor, rows: Sequence[Row]) -> None:
    """OpenAI-style frequency and presence penalties over each row's own reply tokens."""
    for i, row in enumerate(rows):
        params = row.request.params
        if not params.penalised or not row.token_ids:
            continue
        tokens, counts = torch.tensor(row.token_ids, device=logits.device).unique(
            return_counts=True
        )
        penalty = params.frequency_penalty * counts.float() + params.presence_penalty
        logits[i].index_add_(0, tokens, -penalty)


def _sample_into(
    chosen: torch.Tensor, logits: torch.Tensor, rows: Sequence[Row], sampled: list[int]
) -> None:
    """Replace the greedy choice of the ``sampled`` rows by a temperature/top-p sample."""
    index = torch.tensor(sampled, device=logits.device)
    temperatures = torch.tensor(
        [rows[i].request.params.temperature for i in sampled], device=logits.device
    )
    top_ps = torch.tensor([rows[i].request.params.top_p for i in sampled], device=logits.device)
    probs = torch.softmax(logits.index_select(0, index) / temperatures[:, None], dim=-1)
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    before = sorted_probs.cumsum(dim=-1) - sorted_probs
    sorted_probs = sorted_probs.masked_fill(before >= top_ps[:, None], 0.0)
    picks = torch.multinomial(sorted_probs, num_samples=1).squeeze(-1)
    chosen[index] = order.gather(-1, picks[:, None]).squeeze(-1)
