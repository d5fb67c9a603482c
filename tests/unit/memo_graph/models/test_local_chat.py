"""LocalChatModel on a tiny random llama: decoding, batching, streaming, stop, usage."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from memo_graph import LocalChatModel, MemoError

PROMPTS = [
    "Tell me about rivers.",
    "Hi",
    "A much longer prompt that mentions several things: mountains, lakes, and old castles.",
    "Count to five.",
]


@pytest.fixture
def tiny(tiny_llama_dir: Path) -> LocalChatModel:
    return LocalChatModel(model=str(tiny_llama_dir), max_tokens=12)


def test_greedy_is_deterministic(tiny: LocalChatModel) -> None:
    first = tiny.invoke("Hello there")
    second = tiny.invoke("Hello there")
    assert isinstance(first, AIMessage)
    assert first.content == second.content
    assert first.content  # a random model still writes something


def test_batched_rows_match_one_at_a_time(tiny: LocalChatModel) -> None:
    """Left padding, position ids and the shared cache must not change any row's tokens."""
    alone = [tiny.invoke(p).content for p in PROMPTS]
    together = [m.content for m in tiny.batch(PROMPTS)]
    assert together == alone


async def test_concurrent_ainvoke_is_batched(tiny: LocalChatModel) -> None:
    engine = tiny.engine
    engine.largest_batch = 0
    replies = await asyncio.gather(*(tiny.ainvoke(p) for p in PROMPTS * 2))
    assert len(replies) == 8
    assert engine.largest_batch == 8, "eight concurrent calls should share decoding steps"
    alone = tiny.invoke(PROMPTS[2]).content
    assert replies[2].content == alone


def test_threads_share_one_model(tiny: LocalChatModel, tiny_llama_dir: Path) -> None:
    other = LocalChatModel(model=str(tiny_llama_dir), max_tokens=12)
    assert other.engine is tiny.engine
    barrier = threading.Barrier(6)

    def ask(i: int) -> str:
        barrier.wait()
        model = tiny if i % 2 else other
        return str(model.invoke(PROMPTS[i % len(PROMPTS)]).content)

    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(ask, range(6)))
    assert replies == [tiny.invoke(PROMPTS[i % len(PROMPTS)]).content for i in range(6)]


def test_usage_and_finish_reason(tiny: LocalChatModel) -> None:
    reply = tiny.invoke([SystemMessage("Be brief."), HumanMessage("Hello")], max_tokens=5)
    usage = reply.usage_metadata
    assert usage is not None
    assert usage["output_tokens"] <= 5
    assert usage["input_tokens"] == len(
        tiny.engine.render_chat(
            [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]
        )
    )
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert reply.response_metadata["finish_reason"] in ("stop", "length")


def test_stop_string_cuts_the_reply(tiny: LocalChatModel) -> None:
    full = str(tiny.invoke("Hello there", max_tokens=12).content)
    assert len(full) > 3
    stop = full[2:4]
    cut = tiny.invoke("Hello there", max_tokens=12, stop=[stop])
    assert cut.content == full[: full.find(stop)]
    assert cut.response_metadata["finish_reason"] == "stop"


def test_stream_matches_invoke(tiny: LocalChatModel) -> None:
    chunks = list(tiny.stream("Hello there"))
    assert len(chunks) > 2
    text = "".join(str(c.content) for c in chunks)
    assert text == tiny.invoke("Hello there").content
    assert chunks[-1].usage_metadata is not None


async def test_astream_matches_invoke(tiny: LocalChatModel) -> None:
    text = "".join([str(c.content) async for c in tiny.astream("Hello there")])
    assert text == tiny.invoke("Hello there").content


def test_sampling_uses_temperature(tiny: LocalChatModel) -> None:
    replies = {
        str(tiny.invoke("Hello there", temperature=1.5, max_tokens=8).content) for _ in range(4)
    }
    assert len(replies) > 1


def test_bad_requests_say_what_to_do(tiny: LocalChatModel) -> None:
    with pytest.raises(MemoError, match="max_tokens"):
        tiny.invoke("hi", max_tokens=0)
    with pytest.raises(MemoError, match="context"):
        tiny.invoke("word " * 3000)
    with pytest.raises(MemoError, match="text only"):
        tiny.invoke([HumanMessage(content=[{"type": "image", "url": "http://x/y.png"}])])


def test_missing_adapter_is_a_clear_error(tiny_llama_dir: Path, tmp_path: Path) -> None:
    model = LocalChatModel(model=str(tiny_llama_dir), adapter=str(tmp_path / "nope"))
    with pytest.raises(MemoError, match="adapter_config.json"):
        model.invoke("hi")


async def test_timeout_gives_up_instead_of_hanging(tiny_llama_dir: Path) -> None:
    slow = LocalChatModel(model=str(tiny_llama_dir), max_tokens=400, timeout=0.001)
    with pytest.raises(MemoError, match="no reply within timeout"):
        slow.invoke("Hello there")
    with pytest.raises(MemoError, match="no reply within timeout"):
        await slow.ainvoke("Hello there")
