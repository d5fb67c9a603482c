"""Incremental detokenisation: the text settled token by token is always a prefix of decoding
every token at once, a character split over tokens is held until complete, each token decodes
only a short window, and the streamed pieces of a reply add up to its final text, cut at the
first stop string."""

from __future__ import annotations

import random
from typing import Any

import pytest

from memo_graph.engine.detokenize import IncrementalDetokenizer, ReplyText, first_stop

MULTI_BYTE_TEXT = "héllo wörld 😀🎉 世界你好 naïve café ñ 👩‍👩‍👧 Ελληνικά, done."


@pytest.fixture(scope="module")
def smol_tokenizer() -> Any:
    """The embedded SmolLM2 tokenizer (byte-level BPE), which every tiny test model uses."""
    from transformers import AutoTokenizer

    from memo_graph.models.weights import resolve_weights

    return AutoTokenizer.from_pretrained(resolve_weights(None).base_dir)


@pytest.fixture(scope="module", params=["smollm2", "gemma3-turns"])
def tokenizer(request: pytest.FixtureRequest, smol_tokenizer: Any) -> Any:
    """SmolLM2's tokenizer as is, and with the special turn tokens the tiny gemma3 adds."""
    if request.param == "smollm2":
        return smol_tokenizer
    import copy

    extended = copy.deepcopy(smol_tokenizer)
    extended.add_special_tokens({"additional_special_tokens": ["<start_of_turn>", "<end_of_turn>"]})
    return extended


def _full(tokenizer: Any, ids: list[int]) -> str:
    return str(tokenizer.decode(ids, skip_special_tokens=True))


def _random_replies(tokenizer: Any, count: int, seed: int = 0) -> list[list[int]]:
    """Token lists mixing the pieces of multi-byte characters (in and out of order), special
    tokens and arbitrary ids of the vocabulary."""
    rng = random.Random(seed)
    pieces = tokenizer.encode(MULTI_BYTE_TEXT, add_special_tokens=False)
    specials = list(tokenizer.all_special_ids)
    replies = []
    for _ in range(count):
        ids: list[int] = []
        while len(ids) < rng.randrange(1, 80):
            draw = rng.random()
            if draw < 0.4:  # a run of the text's own tokens: whole characters, in order
                start = rng.randrange(len(pieces))
                ids.extend(pieces[start : start + rng.randrange(1, 8)])
            elif draw < 0.7:
                ids.append(rng.choice(pieces))
            elif draw < 0.85:
                ids.append(rng.choice(specials))
            else:
                ids.append(rng.randrange(len(tokenizer)))
        replies.append(ids)
    return replies


def test_settled_text_is_the_full_decode_whenever_it_grows(tokenizer: Any) -> None:
    for ids in _random_replies(tokenizer, 200):
        detokenizer = IncrementalDetokenizer(tokenizer)
        text = ""
        for count, token_id in enumerate(ids, start=1):
            piece = detokenizer.add(token_id)
            text += piece
            full = _full(tokenizer, ids[:count])
            if piece:
                assert text == full, (ids[:count], text, full)
            assert full.startswith(text), (ids[:count], text, full)
        assert detokenizer.full_text() == _full(tokenizer, ids)


def test_a_character_split_over_tokens_waits_until_complete(smol_tokenizer: Any) -> None:
    ids = smol_tokenizer.encode("a😀", add_special_tokens=False)
    assert len(ids) > 2, "the test needs the emoji split over several byte tokens"
    detokenizer = IncrementalDetokenizer(smol_tokenizer)
    pieces = [detokenizer.add(token_id) for token_id in ids]
    # Decoding each token alone would give "\ufffd" for every piece of the emoji.
    assert pieces == ["a"] + [""] * (len(ids) - 2) + ["😀"]


class _CountingTokenizer:
    """Records how many tokens each decode call reads."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        self.decoded_lengths: list[int] = []

    def decode(self, token_ids: list[int], **kwargs: Any) -> str:
        self.decoded_lengths.append(len(token_ids))
        return str(self._tokenizer.decode(token_ids, **kwargs))


def test_each_token_decodes_only_a_short_window(smol_tokenizer: Any) -> None:
    ids = smol_tokenizer.encode(MULTI_BYTE_TEXT * 20, add_special_tokens=False)
    counting = _CountingTokenizer(smol_tokenizer)
    detokenizer = IncrementalDetokenizer(counting)
    text = "".join(detokenizer.add(token_id) for token_id in ids)
    assert text == _full(smol_tokenizer, ids)
    longest_character = 4  # byte tokens one UTF-8 character can take
    assert max(counting.decoded_lengths) <= 2 * longest_character + 1


def _stream(tokenizer: Any, ids: list[int], stops: tuple[str, ...]) -> tuple[list[str], str, int]:
    """Feed ``ids`` as the engine does; the streamed pieces, the final text and how many tokens
    were taken before a stop string ended the reply."""
    reply = ReplyText(tokenizer, stops)
    pieces = []
    taken = 0
    for token_id in ids:
        reply.add(token_id)
        taken += 1
        if reply.stopped:
            break
        pieces.append(reply.take_streamable())
    reply.finish()
    pieces.append(reply.take_streamable())
    return pieces, reply.text, taken


def test_a_stop_across_token_boundaries_cuts_the_reply(smol_tokenizer: Any) -> None:
    ids = smol_tokenizer.encode("Hello world, the end. More text", add_special_tokens=False)
    pieces, text, taken = _stream(smol_tokenizer, ids, ("d, th",))
    assert text == "Hello worl"
    assert "".join(pieces) == text
    assert taken == 4, "the reply ends at the token that completes the stop string"
    assert all("d" not in piece for piece in pieces[:-1]), "a stop's start is held back"


def test_streamed_pieces_add_up_to_the_final_text(tokenizer: Any) -> None:
    rng = random.Random(1)
    for ids in _random_replies(tokenizer, 200, seed=1):
        full = _full(tokenizer, ids)
        stops: tuple[str, ...] = ()
        if len(full) > 2 and rng.random() < 0.7:
            start = rng.randrange(len(full) - 1)
            stops = (full[start : start + rng.randrange(1, 6)], "never in a reply")
        pieces, text, taken = _stream(tokenizer, ids, stops)
        assert "".join(pieces) == text
        whole = _full(tokenizer, ids[:taken])
        cut = first_stop(whole, stops)
        assert text == (whole if cut is None else whole[:cut])
        if stops:
            assert first_stop(text, stops) is None


def test_a_possible_stop_start_is_held_back(smol_tokenizer: Any) -> None:
    reply = ReplyText(smol_tokenizer, ("<END>",))
    for token_id in smol_tokenizer.encode("done <EN", add_special_tokens=False):
        reply.add(token_id)
    assert reply.take_streamable() == "done "
    assert not reply.stopped
    reply.finish()
    assert reply.take_streamable() == "<EN"
