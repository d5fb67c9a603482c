"""PrefixCache: longest shared prefix per adapter, one token always left to read, bounded size."""

from __future__ import annotations

import torch

from memo_graph.engine.prefix_cache import LayerStates, PrefixCache


def _states(length: int, fill: float, layers: int = 2) -> LayerStates:
    """Per layer (keys, values) of shape (1, 1, length, 2), position i holding fill + i."""
    row = (
        (torch.arange(length, dtype=torch.float32) + fill)
        .view(1, 1, length, 1)
        .expand(1, 1, length, 2)
    )
    return [(row.clone(), -row.clone()) for _ in range(layers)]


def test_longest_prefix_picks_the_best_entry_and_slices_its_states() -> None:
    cache = PrefixCache(max_bytes=2**20)
    cache.store("base", [1, 2, 3, 4], _states(4, 0.0))
    cache.store("base", [1, 2, 9, 9, 9], _states(5, 100.0))
    length, states = cache.longest_prefix("base", [1, 2, 3, 7, 8])
    assert length == 3
    keys, values = states[0]
    assert keys.shape == (1, 1, 3, 2)
    assert keys[0, 0, :, 0].tolist() == [0.0, 1.0, 2.0]
    assert torch.equal(values, -keys)
    assert cache.reused_tokens == 3


def test_the_last_token_is_always_left_to_read() -> None:
    cache = PrefixCache(max_bytes=2**20)
    cache.store("base", [1, 2, 3], _states(3, 0.0))
    assert cache.longest_prefix("base", [1, 2, 3])[0] == 2
    assert cache.longest_prefix("base", [1, 2])[0] == 1
    assert cache.longest_prefix("base", [1])[0] == 0


def test_adapters_do_not_share_states() -> None:
    cache = PrefixCache(max_bytes=2**20)
    cache.store("adapter_0", [1, 2, 3, 4], _states(4, 0.0))
    assert cache.longest_prefix("base", [1, 2, 3, 4, 5]) == (0, [])
    assert cache.longest_prefix("adapter_0", [1, 2, 3, 4, 5])[0] == 4


def test_an_extended_prompt_replaces_its_prefix_and_size_stays_bounded() -> None:
    one_entry = sum(k.nbytes + v.nbytes for k, v in _states(4, 0.0))
    cache = PrefixCache(max_bytes=2 * one_entry)
    cache.store("base", [1, 2], _states(2, 0.0))
    cache.store("base", [1, 2, 3, 4], _states(4, 0.0))  # extends [1, 2]: that entry goes
    assert cache.nbytes == one_entry
    cache.store("base", [5, 6, 7, 8], _states(4, 0.0))
    cache.store("base", [9, 9, 9, 9], _states(4, 0.0))  # over the bound: the oldest goes
    assert cache.nbytes == 2 * one_entry
    assert cache.longest_prefix("base", [1, 2, 3, 4, 5])[0] == 0
    assert cache.longest_prefix("base", [5, 6, 7, 0])[0] == 3
    cache.store("base", list(range(100)), _states(100, 0.0))  # larger than the whole bound
    assert cache.nbytes == 2 * one_entry
