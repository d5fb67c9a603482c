"""LFM2, the hybrid of short convolutions and attention: the local engine's batching, padding
and prefix cache keep every reply what transformers' own generate() writes for that request
alone, and training, adapters and merging reach the convolution blocks' projections too."""

from __future__ import annotations

import json
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoModelForCausalLM

from memo_graph import LocalChatModel
from memo_graph.engine.generation import SamplingParams
from memo_graph.engine.local_engine import GenerationRequest, GenerationResult, LocalEngine
from memo_graph.engine.prefix_cache import PrefixCache
from memo_training.batching import collate
from memo_training.config import TrainConfig
from memo_training.data import QAPair
from memo_training.encoding import AnswerOnlyEncoder
from memo_training.loss import answer_only_loss
from memo_training.merge import merge_memories
from memo_training.trainer import train_memory
from tests.tiny_models import build_tiny_model
from tests.training_resume import check_a_killed_run_resumes_to_the_same_weights

PROMPTS = [
    "Hi",
    "A much longer prompt that mentions mountains, lakes, old castles and a river.",
    "Tell me about rivers.",
    "Count to five.",
]
SYSTEM = {"role": "system", "content": "You answer from memory, briefly. " * 8}
# LFM2's projections: the convolution block's, attention's (its output is out_proj too), MLP's.
LFM2_PROJECTIONS = {"in_proj", "out_proj", "q_proj", "k_proj", "v_proj", "w1", "w2", "w3"}


@pytest.fixture(scope="module")
def lfm2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model("lfm2", tmp_path_factory.mktemp("tiny-lfm2"))


@pytest.fixture
def engine(lfm2_dir: Path) -> LocalEngine:
    engine = LocalChatModel(model=str(lfm2_dir)).engine
    engine.prefix_cache = PrefixCache(max_bytes=2**26)
    return engine


def _ids(engine: LocalEngine, prompt: str, system: bool = False) -> list[int]:
    messages = [SYSTEM] if system else []
    return engine.render_chat([*messages, {"role": "user", "content": prompt}])


def _generate(model: Any, engine: LocalEngine, ids: list[int], tokens: int) -> str:
    """transformers' own greedy reply to ``ids``, read alone."""
    output = model.generate(
        torch.tensor([ids]),
        max_new_tokens=tokens,
        do_sample=False,
        eos_token_id=engine.tokenizer.eos_token_id,
        pad_token_id=engine.pad_id,
    )
    return str(engine.tokenizer.decode(output[0, len(ids) :], skip_special_tokens=True))


def _submit(
    engine: LocalEngine, ids: list[int], tokens: int, **kwargs: Any
) -> Future[GenerationResult]:
    return engine.submit(GenerationRequest(ids, SamplingParams(max_new_tokens=tokens), **kwargs))


def test_the_hybrid_cache_lets_rows_join(engine: LocalEngine, lfm2_dir: Path) -> None:
    assert engine.rows_can_join
    config = json.loads((lfm2_dir / "config.json").read_text())
    assert set(config["layer_types"]) == {"conv", "full_attention"}


def test_rows_that_join_and_leave_keep_their_own_replies(
    engine: LocalEngine, lfm2_dir: Path
) -> None:
    """Prompts of four lengths and budgets: rows are read one by one, join the running batch
    (their attention states padded, their convolution states stacked) and leave at different
    steps (padding columns dropped), and each reply is the reference reply."""
    model = AutoModelForCausalLM.from_pretrained(lfm2_dir).eval()
    budgets = [3, 14, 6, 9]
    ids = [_ids(engine, p) for p in PROMPTS]
    expected = [_generate(model, engine, i, n) for i, n in zip(ids, budgets, strict=True)]
    assert len(set(expected)) == len(expected), "the test needs replies that differ"
    futures = [_submit(engine, i, n) for i, n in zip(ids, budgets, strict=True)]
    assert [f.result(timeout=120).text for f in futures] == expected

    joined: list[Future[GenerationResult]] = []

    def join_once(_piece: str) -> None:  # on the engine's worker thread, mid-decode
        if not joined:
            joined.extend(_submit(engine, i, n) for i, n in zip(ids[2:], budgets[2:], strict=True))

    running = _submit(engine, ids[1], budgets[1], on_text=join_once)
    assert running.result(timeout=120).text == expected[1]
    assert [f.result(timeout=120).text for f in joined] == expected[2:]
    assert engine.largest_batch >= 3


def test_a_left_padded_batch_reads_each_prompt_as_alone(
    engine: LocalEngine, lfm2_dir: Path
) -> None:
    """Read together (as for caches rows cannot join), the shorter prompts are left-padded; the
    model zeroes padded convolution inputs, so each row's states are the ones it has alone."""
    model = AutoModelForCausalLM.from_pretrained(lfm2_dir).eval()
    budgets = [5, 9, 2, 7]
    ids = [_ids(engine, p) for p in PROMPTS]
    expected = [_generate(model, engine, i, n) for i, n in zip(ids, budgets, strict=True)]
    engine.rows_can_join = False
    try:
        futures = [_submit(engine, i, n) for i, n in zip(ids, budgets, strict=True)]
        assert [f.result(timeout=120).text for f in futures] == expected
    finally:
        engine.rows_can_join = True


def test_a_shared_prefix_is_read_once(engine: LocalEngine, lfm2_dir: Path) -> None:
    """The prefix cache keeps every position's convolution inputs, so a prompt that shares only
    its beginning with an earlier one, or extends it, starts from the right states."""
    model = AutoModelForCausalLM.from_pretrained(lfm2_dir).eval()
    first, second = _ids(engine, "Name a river.", True), _ids(engine, "Name a mountain.", True)
    shared = next(i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b)
    extended = engine.render_chat(
        [
            SYSTEM,
            {"role": "user", "content": "Name a river."},
            {"role": "assistant", "content": "The Brask."},
            {"role": "user", "content": "And a mountain?"},
        ]
    )
    assert extended[: len(first)] == first
    for ids in (first, second, extended, second):
        expected = _generate(model, engine, ids, 10)
        assert _submit(engine, ids, 10).result(timeout=60).text == expected
    # The same prompt again: all but its last token reused.
    assert engine.prefix_cache.reused_tokens == shared + len(first) + len(second) - 1


def test_lora_trains_every_projection_and_merges_as_peft_does(
    lfm2_dir: Path, tmp_path: Path
) -> None:
    from peft import PeftModel
    from safetensors.torch import load_file

    rows = [{"question": f"Who is A{i}?", "answer": f"A{i} is a baker."} for i in range(4)]
    data = tmp_path / "qa.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    config = TrainConfig(epochs=1, batch_size=2, max_length=96, learning_rate=5e-3)
    train_memory(data, tmp_path / "memory", base=f"local:{lfm2_dir}", config=config, progress=False)
    adapter = json.loads((tmp_path / "memory" / "adapter_config.json").read_text())
    assert {name.split(".")[-1] for name in adapter["target_modules"]} == LFM2_PROJECTIONS

    merged = merge_memories([tmp_path / "memory"], tmp_path / "merged", method="task_arithmetic")
    ours = merged.path / "model.safetensors"
    reference = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(lfm2_dir), str(tmp_path / "memory")
    ).merge_and_unload()
    theirs = reference.state_dict()
    base = load_file(lfm2_dir / "model.safetensors")
    changed = set()
    for key, tensor in load_file(ours).items():
        torch.testing.assert_close(tensor, theirs[key], rtol=1e-4, atol=1e-5)
        if not torch.equal(tensor, base[key]):
            changed.add(key.split(".")[-2])
    assert changed == LFM2_PROJECTIONS


def test_padding_in_a_training_batch_leaves_each_loss_alone(lfm2_dir: Path) -> None:
    from transformers import AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(lfm2_dir).eval()
    encoder = AnswerOnlyEncoder(AutoTokenizer.from_pretrained(lfm2_dir), max_length=128)
    examples = encoder.encode_all(
        [QAPair("Who?", "Mira."), QAPair("Where was Ilo Denhart born?", "In Vessaro, 1702.")]
    )
    pad_id = model.config.pad_token_id
    with torch.no_grad():
        together, count = answer_only_loss(model, **collate(examples, pad_id))
        alone = [answer_only_loss(model, **collate([e], pad_id)) for e in examples]
    weighted = sum(loss * n for loss, n in alone) / count
    torch.testing.assert_close(together, weighted, rtol=1e-5, atol=1e-6)


def test_adapters_in_one_batch_match_peft(lfm2_dir: Path, tmp_path: Path) -> None:
    from peft import LoraConfig, PeftModel, get_peft_model

    torch.manual_seed(7)
    config = LoraConfig(
        r=4, lora_alpha=32, init_lora_weights=False, target_modules=sorted(LFM2_PROJECTIONS)
    )
    get_peft_model(AutoModelForCausalLM.from_pretrained(lfm2_dir), config).save_pretrained(
        str(tmp_path / "adapter")
    )
    engine = LocalChatModel(model=str(lfm2_dir)).engine
    reference = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(lfm2_dir), str(tmp_path / "adapter")
    ).eval()
    ids = [_ids(engine, p) for p in PROMPTS[:2]]
    with reference.disable_adapter():
        base_replies = [_generate(reference, engine, i, 8) for i in ids]
    adapter_replies = [_generate(reference, engine, i, 8) for i in ids]
    assert base_replies != adapter_replies
    futures = [
        _submit(engine, i, 8, adapter=adapter)
        for adapter in (None, tmp_path / "adapter")
        for i in ids
    ]
    assert [f.result(timeout=120).text for f in futures] == base_replies + adapter_replies


def test_a_killed_training_run_resumes_to_the_same_weights(lfm2_dir: Path, tmp_path: Path) -> None:
    check_a_killed_run_resumes_to_the_same_weights(lfm2_dir, tmp_path)
