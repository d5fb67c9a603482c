"""Key/value states of recent prompts, reused for the tokens a new prompt shares with them.

Calls to the same model repeat long prefixes: a role's system prompt and schema on every call,
a protocol run's growing trail from one turn to the next. On CPU, reading a prompt costs far
more than writing a short reply, so the engine reads only the part after the longest prefix it
has seen (with the same adapter: an adapter changes every layer's states).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch

# Per layer, tensors with the prompt's positions on dim 2: keys and values (1, H, T, D) of an
# attention layer, or the inputs (1, C, T) of a short convolution (LFM2).
LayerStates = list[tuple[torch.Tensor, ...]]


@dataclass
class _Entry:
    adapter_name: str
    token_ids: torch.Tensor
    states: LayerStates
    nbytes: int


class PrefixCache:
    """A least-recently-used store of prompts' states, bounded in bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._next_key = 0
        self.nbytes = 0
        self.reused_tokens = 0  # prompt tokens not read again thanks to the cache; tests read it

    def longest_prefix(self, adapter_name: str, token_ids: list[int]) -> tuple[int, LayerStates]:
        """How many leading tokens of ``token_ids`` have cached states (always leaving the last
        token to be read, since its logits are needed), and those states."""
        if not self._entries or len(token_ids) < 2:
            return 0, []
        wanted = torch.tensor(token_ids, dtype=torch.long)
        best_key, best_length = None, 0
        for key, entry in self._entries.items():
            if entry.adapter_name != adapter_name:
                continue
            length = _shared_length(entry.token_ids, wanted)
            if length > best_length:
                best_key, best_length = key, length
        best_length = min(best_length, len(token_ids) - 1)
        if best_key is None or best_length == 0:
            return 0, []
        self._entries.move_to_end(best_key)
        states = self._entries[best_key].states
        self.reused_tokens += best_length
        return best_length, [tuple(t[:, :, :best_length] for t in layer) for layer in states]

    def store(self, adapter_name: str, token_ids: list[int], states: LayerStates) -> None:
        """Keep the states of a prompt that was just read; entries it extends are dropped."""
        tokens = torch.tensor(token_ids, dtype=torch.long)
        nbytes = sum(t.nbytes for layer in states for t in layer)
        if nbytes > self.max_bytes:
            return
        for key, entry in list(self._entries.items()):
            if entry.adapter_name == adapter_name and _shared_length(
                entry.token_ids, tokens
            ) == len(entry.token_ids):
                self._drop(key)
        self._entries[self._next_key] = _Entry(adapter_name, tokens, states, nbytes)
        self._next_key += 1
        self.nbytes += nbytes
        while self.nbytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: int) -> None:
        self.nbytes -= self._entries.pop(key).nbytes


def _shared_length(a: torch.Tensor, b: torch.Tensor) -> int:
    n = min(len(a), len(b))
    differs = (a[:n] != b[:n]).nonzero()
    return int(differs[0]) if len(differs) else n
