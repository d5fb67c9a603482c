"""LoRA adapters served on top of one shared base model, checked against transformers itself."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM

from memo_graph import LocalChatModel

PROMPT = "Hello there"


def _reference_greedy(model: torch.nn.Module, chat: LocalChatModel, tokens: int) -> str:
    """What transformers' own generate() writes for PROMPT, greedily."""
    ids = chat.engine.render_chat([{"role": "user", "content": PROMPT}])
    output = model.generate(
        torch.tensor([ids]),
        max_new_tokens=tokens,
        do_sample=False,
        eos_token_id=chat.engine.tokenizer.eos_token_id,
        pad_token_id=chat.engine.pad_id,
    )
    return chat.engine.tokenizer.decode(output[0, len(ids) :], skip_special_tokens=True)


@pytest.fixture(scope="module")
def adapter_dir(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from peft import LoraConfig, get_peft_model

    base = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)
    torch.manual_seed(7)
    config = LoraConfig(
        r=4,
        lora_alpha=32,
        init_lora_weights=False,
        target_modules=[
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj",
        ],
    )
    target = tmp_path_factory.mktemp("adapter")
    get_peft_model(base, config).save_pretrained(target)
    return target


def test_base_matches_transformers_generate(tiny_llama_dir: Path) -> None:
    chat = LocalChatModel(model=str(tiny_llama_dir), max_tokens=10)
    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir).eval()
    assert chat.invoke(PROMPT).content == _reference_greedy(model, chat, 10)


def test_adapter_shares_the_base_and_matches_peft(tiny_llama_dir: Path, adapter_dir: Path) -> None:
    from peft import PeftModel

    base_chat = LocalChatModel(model=str(tiny_llama_dir), max_tokens=10)
    before = base_chat.invoke(PROMPT).content
    lora_chat = LocalChatModel(model=str(tiny_llama_dir), adapter=str(adapter_dir), max_tokens=10)
    with_adapter = lora_chat.invoke(PROMPT).content
    assert lora_chat.engine is base_chat.engine, "one base copy serves both"
    assert with_adapter != before

    reference = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(tiny_llama_dir), str(adapter_dir)
    ).eval()
    assert with_adapter == _reference_greedy(reference, lora_chat, 10)

    # Base and adapter requests queued together: each is decoded with its own weights.
    barrier = threading.Barrier(4)

    def ask(chat: LocalChatModel) -> str:
        barrier.wait()
        return str(chat.invoke(PROMPT).content)

    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(ask, [base_chat, lora_chat, base_chat, lora_chat]))
    assert replies == [before, with_adapter, before, with_adapter]


def test_artifact_directory_loads_base_and_adapter(adapter_dir: Path, tiny_llama_dir: Path) -> None:
    chat = LocalChatModel(model=str(adapter_dir), max_tokens=10)
    direct = LocalChatModel(model=str(tiny_llama_dir), adapter=str(adapter_dir), max_tokens=10)
    assert chat.invoke(PROMPT).content == direct.invoke(PROMPT).content


def test_adapter_request_joins_a_running_base_batch(
    tiny_llama_dir: Path, adapter_dir: Path
) -> None:
    """One batch mixes rows with and without the adapter (peft's per-row adapter names)."""
    from memo_graph.engine.local_engine import GenerationRequest, SamplingParams

    engine = LocalChatModel(model=str(tiny_llama_dir)).engine
    ids = engine.render_chat([{"role": "user", "content": PROMPT}])

    def request(tokens: int, adapter: Path | None, **kwargs: object) -> GenerationRequest:
        return GenerationRequest(
            ids, SamplingParams(max_new_tokens=tokens), adapter=adapter, **kwargs
        )  # type: ignore[arg-type]

    base_alone = engine.submit(request(20, None)).result(timeout=60).text
    adapter_alone = engine.submit(request(6, adapter_dir)).result(timeout=60).text
    assert base_alone[: len(adapter_alone)] != adapter_alone
    joined = []
    finished: list[str] = []

    def join_once(_piece: str) -> None:
        if not joined:
            joined.append(engine.submit(request(6, adapter_dir)))
            joined[0].add_done_callback(lambda _f: finished.append("adapter"))

    running = engine.submit(request(20, None, on_text=join_once))
    running.add_done_callback(lambda _f: finished.append("base"))
    assert running.result(timeout=60).text == base_alone
    assert joined[0].result(timeout=60).text == adapter_alone
    assert finished == ["adapter", "base"], "the adapter row joined the running base row"
