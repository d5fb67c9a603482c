"""The rows decoding together and their shared KV cache.

Rows of different lengths share one cache by left padding: every row's positions end at the
same column, and an attention mask of 0 hides the padding. A row that joins mid-decode is
padded (or pads the running rows) to the longer width; a row that finishes leaves with its
cache row, and columns that became padding in every row are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import xgrammar as xgr

from memo_graph.models.detokenize import ReplyText
from memo_graph.models.generation import FinishReason, GenerationRequest
from memo_graph.models.json_closing import JsonLexState

BASE_ADAPTER = "__base__"  # peft's adapter name for "no adapter" in a mixed batch


@dataclass
class Row:
    """Decoding state of one request inside a running batch."""

    request: GenerationRequest
    matcher: xgr.GrammarMatcher | None
    reply: ReplyText
    adapter_name: str = BASE_ADAPTER
    finish: FinishReason | None = None
    closing: bool = False  # the token budget is nearly spent: walk the JSON to its end
    lex: JsonLexState = field(default_factory=JsonLexState)

    @property
    def token_ids(self) -> list[int]:
        return self.reply.token_ids

    @property
    def remaining(self) -> int:
        return self.request.params.max_new_tokens - len(self.token_ids)


@dataclass
class Batch:
    """The rows decoding together and their shared, left-padded KV cache."""

    rows: list[Row]
    cache: Any  # transformers DynamicCache, one row per entry of ``rows``
    attention: torch.Tensor  # (rows, cached positions): 0 where a row is padded
    positions: torch.Tensor  # (rows, 1): position of each row's pending token
    pending: torch.Tensor  # (rows, 1): the token each row feeds next

    def merge(self, joining: Batch) -> None:
        """Take in the rows of ``joining``: the shorter side is left-padded to the other's
        width."""
        width = max(self.attention.shape[1], joining.attention.shape[1])
        for mine, theirs in zip(self.cache.layers, joining.cache.layers, strict=True):
            mine.keys = torch.cat([pad_left(mine.keys, width), pad_left(theirs.keys, width)])
            mine.values = torch.cat([pad_left(mine.values, width), pad_left(theirs.values, width)])
        self.attention = torch.cat(
            [pad_left(self.attention, width), pad_left(joining.attention, width)]
        )
        self.positions = torch.cat([self.positions, joining.positions])
        self.pending = torch.cat([self.pending, joining.pending])
        self.rows = self.rows + joining.rows

    def keep(self, survivors: list[int]) -> None:
        """Keep only the rows at ``survivors`` (indices into ``rows``), cache rows included."""
        keep = torch.tensor(survivors, dtype=torch.long, device=self.attention.device)
        if survivors:
            self.cache.batch_select_indices(keep)
        self.attention = self.attention.index_select(0, keep)
        self.positions = self.positions.index_select(0, keep)
        self.pending = self.pending.index_select(0, keep)
        self.rows = [self.rows[i] for i in survivors]

    def drop_padding_columns(self) -> None:
        """Forget leading positions that are padding in every row left (after rows finished).
        Only for caches that keep every past position (see ``cache_is_mergeable``)."""
        if not self.rows:
            return
        used = self.attention.any(dim=0).nonzero()
        start = int(used[0]) if len(used) else 0
        if start == 0:
            return
        self.attention = self.attention[:, start:]
        for layer in self.cache.layers:
            layer.keys, layer.values = layer.keys[:, :, start:], layer.values[:, :, start:]


def cache_is_mergeable(cache: Any) -> bool:
    """Whether rows can join ``cache`` mid-flight: every layer a plain full-attention cache
    (sliding-window layers keep a trimmed window that left padding would misalign)."""
    from transformers.cache_utils import DynamicLayer

    return all(type(layer) is DynamicLayer for layer in cache.layers)


def pad_prompts_left(prompts: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The prompts as one left-padded tensor of token ids, and its attention mask."""
    width = max((len(ids) for ids in prompts), default=0)
    input_ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, ids in enumerate(prompts):
        input_ids[i, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
        attention[i, width - len(ids) :] = 1
    return input_ids, attention


def pad_left(tensor: torch.Tensor, width: int) -> torch.Tensor:
    """Zero-pad the sequence dimension (dim 1 of a mask, dim 2 of a KV tensor) to ``width``."""
    dim = 1 if tensor.dim() == 2 else 2
    missing = width - tensor.shape[dim]
    if missing == 0:
        return tensor
    shape = list(tensor.shape)
    shape[dim] = missing
    return torch.cat([tensor.new_zeros(shape), tensor], dim=dim)
