"""Continuous batching in the local engine: requests that arrive mid-decode join the running
batch, finished rows leave at once, and every reply is what the request gets alone."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

import pytest

from memo_graph import LocalChatModel
from memo_graph.engine.local_engine import (
    GenerationRequest,
    GenerationResult,
    LocalEngine,
    SamplingParams,
)
from memo_graph.engine.prefix_cache import PrefixCache
from memo_graph.models.weights import resolve_weights

SHORT_PROMPT = "Hi"
LONG_PROMPT = "A much longer prompt that mentions mountains, lakes, old castles and a river."
MID_PROMPT = "Tell me about rivers."


def _request(engine: LocalEngine, prompt: str, tokens: int, **kwargs: object) -> GenerationRequest:
    ids = engine.render_chat([{"role": "user", "content": prompt}])
    return GenerationRequest(ids, SamplingParams(max_new_tokens=tokens), **kwargs)  # type: ignore[arg-type]


def _alone(engine: LocalEngine, prompt: str, tokens: int) -> GenerationResult:
    return engine.submit(_request(engine, prompt, tokens)).result(timeout=120)


def _join_mid_decode(engine: LocalEngine) -> list[str]:
    """Two requests arrive while a 30-token reply decodes, one with a shorter prompt than the
    running row's and one with a longer; every reply must be what it is alone. Returns the
    order in which the three finished."""
    expected_running = _alone(engine, MID_PROMPT, 30)
    assert expected_running.completion_tokens == 30, "the test needs a reply that runs its budget"
    expected_joiners = [_alone(engine, p, 5) for p in (SHORT_PROMPT, LONG_PROMPT)]
    finished: list[str] = []
    joiners: list[Future[GenerationResult]] = []

    def join_once(_piece: str) -> None:  # runs on the engine's worker thread, mid-decode
        if joiners:
            return
        for name, prompt in (("short", SHORT_PROMPT), ("long", LONG_PROMPT)):
            future = engine.submit(_request(engine, prompt, 5))
            future.add_done_callback(lambda _f, name=name: finished.append(name))
            joiners.append(future)

    running = engine.submit(_request(engine, MID_PROMPT, 30, on_text=join_once))
    running.add_done_callback(lambda _f: finished.append("running"))
    assert running.result(timeout=120).text == expected_running.text
    assert [f.result(timeout=120).text for f in joiners] == [r.text for r in expected_joiners]
    return finished


def test_requests_join_a_running_batch(tiny_family_dir: Path) -> None:
    finished = _join_mid_decode(LocalChatModel(model=str(tiny_family_dir)).engine)
    # Joined rows end before the long one (lfm2's convolution states join as well); gemma3's
    # sliding-window cache cannot take rows mid-flight, so there they wait for it to end.
    expected_place = 0 if "gemma3" in tiny_family_dir.name else 2
    assert finished.index("running") == expected_place, finished


def test_static_batching_makes_arrivals_wait(tiny_llama_dir: Path) -> None:
    engine = LocalChatModel(model=str(tiny_llama_dir)).engine
    engine.continuous_batching = False
    try:
        assert _join_mid_decode(engine)[0] == "running"
    finally:
        engine.continuous_batching = True


async def test_concurrent_chat_calls_keep_their_own_replies(tiny_llama_dir: Path) -> None:
    """Staggered calls of different lengths, each joining whatever is running."""
    import asyncio

    chat = LocalChatModel(model=str(tiny_llama_dir), max_tokens=16)
    prompts = [SHORT_PROMPT, LONG_PROMPT, MID_PROMPT, "Count to five.", "Name a colour."]
    alone = [chat.invoke(p).content for p in prompts]

    async def ask_later(index: int) -> str | list[object]:
        await asyncio.sleep(0.02 * index)
        return (await chat.ainvoke(prompts[index])).content

    together = await asyncio.gather(*(ask_later(i) for i in range(len(prompts))))
    assert list(together) == alone


def test_a_shared_prompt_prefix_is_read_once(tiny_llama_dir: Path) -> None:
    engine = LocalChatModel(model=str(tiny_llama_dir)).engine
    system = {"role": "system", "content": "You are terse. " * 20}
    first = engine.render_chat([system, {"role": "user", "content": "Name a river."}])
    second = engine.render_chat([system, {"role": "user", "content": "Name a mountain."}])
    shared = next(i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b)
    assert shared > 60

    def reply(ids: list[int]) -> str:
        request = GenerationRequest(ids, SamplingParams(max_new_tokens=12))
        return engine.submit(request).result(timeout=60).text

    engine.prefix_cache = PrefixCache(max_bytes=0)  # nothing fits: every prompt read whole
    expected = reply(second)
    engine.prefix_cache = PrefixCache(max_bytes=2**26)
    reply(first)
    assert engine.prefix_cache.reused_tokens == 0
    assert reply(second) == expected
    assert engine.prefix_cache.reused_tokens == shared
    assert reply(second) == expected  # the same prompt again: all but its last token reused
    assert engine.prefix_cache.reused_tokens == shared + len(second) - 1


def test_rows_that_end_at_their_first_token_leave_before_the_others_join(
    tiny_llama_dir: Path,
) -> None:
    engine = LocalChatModel(model=str(tiny_llama_dir)).engine
    budgets = [1, 6, 1, 4]
    prompts = [SHORT_PROMPT, LONG_PROMPT, MID_PROMPT, SHORT_PROMPT]
    alone = [_alone(engine, p, n).text for p, n in zip(prompts, budgets, strict=True)]
    futures = [engine.submit(_request(engine, p, n)) for p, n in zip(prompts, budgets, strict=True)]
    assert [f.result(timeout=60).text for f in futures] == alone


def test_an_idle_worker_ends_and_the_next_request_starts_another(
    tiny_llama_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    import time

    from memo_graph.engine import scheduler

    monkeypatch.setattr(scheduler, "IDLE_EXIT_S", 0.05)
    engine = LocalEngine(resolve_weights(str(tiny_llama_dir)), device="cpu")

    def workers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "memo-local-engine"]

    before = set(workers())
    first = _alone(engine, SHORT_PROMPT, 3)
    deadline = time.monotonic() + 10
    while set(workers()) - before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not set(workers()) - before, "an idle worker should end (its thread pool with it)"
    assert _alone(engine, SHORT_PROMPT, 3).text == first.text
    # Requests that arrive around the moment a worker ends for idleness are all served.
    for pause in (0.03, 0.05, 0.07):
        time.sleep(pause)
        futures = [engine.submit(_request(engine, MID_PROMPT, 2)) for _ in range(3)]
        assert all(f.result(timeout=60).completion_tokens for f in futures)
    engine.stop()
