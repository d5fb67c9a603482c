"""The rows decoding together and their shared KV cache.

Rows of different lengths share one cache by left padding: every row's positions end at the
same column, and an attention mask of 0 hides the padding. A row that joins mid-decode is
padded (or pads the running rows) to the longer width; a row that finishes leaves with its
cache row, and columns that became padding in every row are dropped.

A short convolution's layer (LFM2's hybrid) keeps no column per position but a fixed-size state
per row: its last few inputs. Where rows can join, each prompt is read alone, so padding never
reaches these states: rows join by stacking them, and dropped columns do not concern them. To
reuse a prompt prefix, a conv layer's inputs at every position are recorded while the prompt is
read, then cut back to the state decoding needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import xgrammar as xgr

from memo_graph.engine.detokenize import ReplyText
from memo_graph.engine.generation import FinishReason, GenerationRequest
from memo_graph.engine.json_closing import JsonLexState
from memo_graph.engine.prefix_cache import LayerStates

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
            if is_conv_layer(mine):
                for index, state in mine.conv_states.items():
                    if state is not None:
                        mine.conv_states[index] = torch.cat([state, theirs.conv_states[index]])
                continue
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
            select_cache_rows(self.cache, keep)
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
            if not is_conv_layer(layer):
                layer.keys, layer.values = layer.keys[:, :, start:], layer.values[:, :, start:]


def cache_is_mergeable(config: Any) -> bool:
    """Whether rows can join a cache of the model with ``config`` mid-flight, and reuse prompt
    prefixes: every layer a plain full-attention cache or a short convolution's state of known
    width (sliding-window layers keep a trimmed window that left padding would misalign)."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    text_config = config.get_text_config(decoder=True)
    layer_types = getattr(text_config, "layer_types", None) or []
    conv_width = getattr(text_config, "conv_L_cache", None)
    cache = DynamicCache(config=config)
    # Reusing a prefix needs the convolution's inputs at every position (transformers 5.2x).
    records_conv_inputs = conv_width is not None and hasattr(cache, "activate_past_recording")
    kinds = [*layer_types, *[None] * (len(cache.layers) - len(layer_types))]
    return all(
        type(layer) is DynamicLayer
        or (kind == "conv" and is_conv_layer(layer) and records_conv_inputs)
        for layer, kind in zip(cache.layers, kinds, strict=False)
    )


def is_conv_layer(layer: Any) -> bool:
    """Whether a cache layer holds convolution states (one per row) rather than keys/values."""
    return hasattr(layer, "conv_states")


def select_cache_rows(cache: Any, rows: torch.Tensor) -> None:
    """Keep only ``rows`` of every layer of ``cache`` (transformers' ``batch_select_indices``
    skips convolution states)."""
    for layer in cache.layers:
        if is_conv_layer(layer):
            layer.reorder_cache(rows)
        else:
            layer.batch_select_indices(rows)


def prompt_cache(config: Any, prefix: LayerStates) -> Any:
    """A cache for reading one prompt, holding the states of its first positions ``prefix``
    (from the prefix cache; may be empty). It records every input of its convolution layers
    so that ``prompt_states`` can return them."""
    from transformers import DynamicCache

    cache = DynamicCache(config=config)
    if any(is_conv_layer(layer) for layer in cache.layers):
        cache.activate_past_recording()
    width = getattr(config.get_text_config(decoder=True), "conv_L_cache", None)
    for layer_index, states in enumerate(prefix):
        if is_conv_layer(cache.layers[layer_index]):
            for state_index, inputs in enumerate(states):
                cache.update_conv_state(
                    inputs, layer_index, state_idx=state_index, conv_kernel_size=width
                )
        else:
            keys, values = states
            cache.update(keys, values, layer_index)
    return cache


def prompt_states(cache: Any) -> LayerStates:
    """Every position's states of the prompt just read into ``cache`` (see ``prompt_cache``)."""
    return [
        tuple(layer.conv_states.values()) if is_conv_layer(layer) else (layer.keys, layer.values)
        for layer in cache.layers
    ]


def start_decoding(cache: Any) -> None:
    """Stop recording convolution inputs: each conv layer keeps the state decoding needs, its
    last kernel-width inputs (zeros before the prompt's start)."""
    for layer in cache.layers:
        if not is_conv_layer(layer):
            continue
        for index, inputs in layer.conv_states.items():
            if inputs is None:
                continue
            width = layer.conv_kernel_size[index]
            layer.conv_states[index] = pad_left(inputs[:, :, -width:], width).contiguous()
        # transformers keeps no public switch back from ``activate_past_recording``
        layer.record_past = False


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
    """Zero-pad the sequence dimension (dim 1 of a mask, dim 2 of a KV tensor or of a
    convolution's inputs) to ``width``."""
    dim = 1 if tensor.dim() == 2 else 2
    missing = width - tensor.shape[dim]
    if missing == 0:
        return tensor
    shape = list(tensor.shape)
    shape[dim] = missing
    return torch.cat([tensor.new_zeros(shape), tensor], dim=dim)
