"""Shared fixtures: a tiny randomly initialised llama with the SmolLM2 tokenizer (unit tests)
and the real embedded model (integration tests)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("LANGGRAPH_CLI_NO_ANALYTICS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

TINY_LAYERS = 2


def build_tiny_llama(target: Path, seed: int = 0) -> Path:
    """Save a randomly initialised 2-layer llama (hidden size 64) with the SmolLM2 tokenizer."""
    import torch
    from transformers import AutoTokenizer, GenerationConfig, LlamaConfig, LlamaForCausalLM

    from memo_graph.models.weights import resolve_weights

    tokenizer = AutoTokenizer.from_pretrained(resolve_weights(None).base_dir)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=TINY_LAYERS,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def embedded_dir() -> Path:
    from memo_graph.models.weights import resolve_weights

    return resolve_weights(None).base_dir
