"""Tiny randomly initialised causal LMs of several families, each with its own chat template,
all on the SmolLM2 tokenizer (no model hub is reachable here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

QWEN2_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
GEMMA3_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}"
)
# LFM2's own template: a start-of-text token, then ChatML turns (its eos is <|im_end|>).
LFM2_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
FAMILIES = ("llama", "qwen2", "gemma3", "lfm2")
# The hybrid's layers, in LFM2's order: short convolutions with attention among them.
LFM2_LAYER_TYPES = ("conv", "full_attention", "conv")


# The tokens a terse model prefers, most preferred first: it ends a free reply at once, and
# under a JSON grammar it closes each string, object and array as soon as the grammar lets it.
TERSE_TOKENS = ("EOS", '"', "}", "]", ":", ",")


def build_tiny_model(family: str, target: Path, seed: int = 0, terse: bool = False) -> Path:
    """A random model of ``family`` saved in ``target``. A ``terse`` one (llama only) writes the
    shortest reply it may instead of running to max_tokens: for tests of the commands' flow,
    where a random model's text is noise anyway."""
    import torch
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        Gemma3TextConfig,
        GenerationConfig,
        LlamaConfig,
        Qwen2Config,
    )

    from memo_graph.models.weights import resolve_weights

    tokenizer = AutoTokenizer.from_pretrained(resolve_weights(None).base_dir)
    sizes = dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
    )
    if family == "llama":
        config = LlamaConfig(vocab_size=len(tokenizer), tie_word_embeddings=True, **sizes)
    elif family == "qwen2":
        tokenizer.chat_template = QWEN2_TEMPLATE
        config = Qwen2Config(vocab_size=len(tokenizer), tie_word_embeddings=True, **sizes)
    elif family == "gemma3":
        tokenizer.add_special_tokens(
            {"additional_special_tokens": ["<start_of_turn>", "<end_of_turn>"]}
        )
        tokenizer.chat_template = GEMMA3_TEMPLATE
        tokenizer.eos_token = "<end_of_turn>"
        config = Gemma3TextConfig(
            vocab_size=len(tokenizer), head_dim=16, sliding_window=64, **sizes
        )
    elif family == "lfm2":
        config = _tiny_lfm2_config(tokenizer, sizes)
    else:
        raise ValueError(family)
    if terse and family != "llama":
        raise ValueError("only the tiny llama (tied embeddings) can be made terse")
    config.bos_token_id = tokenizer.bos_token_id
    config.eos_token_id = tokenizer.eos_token_id
    config.pad_token_id = tokenizer.pad_token_id
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id)
    if terse:
        _prefer_ending(model, tokenizer)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def _tiny_lfm2_config(tokenizer: Any, sizes: dict[str, Any]) -> Any:
    """LFM2's tokens and template on the SmolLM2 tokenizer, and a 3-layer conv/attention hybrid
    with LFM2's 3-wide convolution cache. Its weights are drawn ten times wider than
    transformers' default: a convolution block multiplies three projections of its input, so
    at the default scale a zeroed convolution state moves the logits by under 1e-3 and a wrong
    state would never show in a reply."""
    from transformers import Lfm2Config

    tokenizer.add_special_tokens(
        {"bos_token": "<|startoftext|>", "pad_token": "<|pad|>", "eos_token": "<|im_end|>"}
    )
    tokenizer.chat_template = LFM2_TEMPLATE
    return Lfm2Config(
        vocab_size=len(tokenizer),
        initializer_range=0.2,
        layer_types=list(LFM2_LAYER_TYPES),
        conv_L_cache=3,
        block_auto_adjust_ff_dim=False,
        **{**sizes, "num_hidden_layers": len(LFM2_LAYER_TYPES)},
    )


def _prefer_ending(model: Any, tokenizer: Any) -> None:
    """Make the logits rank TERSE_TOKENS above every other token, whatever the context.

    The embeddings are tied, so a token's logit is the final hidden state dotted with its own
    embedding. Every embedding gets a large first component (the residual stream's first
    component then stays large and positive through the small random layers) and the final
    norm keeps only that component: each logit becomes a positive constant times the token's
    first component, which is raised in steps for the preferred tokens.
    """
    import torch

    base, step = 4.0, 2.0
    ids = [
        tokenizer.eos_token_id if text == "EOS" else _single_token(tokenizer, text)
        for text in TERSE_TOKENS
    ]
    with torch.no_grad():
        embeddings = model.get_input_embeddings().weight
        embeddings[:, 0] = base
        for rank, token_id in enumerate(ids):
            embeddings[token_id, 0] = base + step * (len(ids) - rank)
        norm = model.model.norm.weight
        norm.zero_()
        norm[0] = 1.0


def _single_token(tokenizer: Any, text: str) -> int:
    ids = tokenizer.encode(text, add_special_tokens=False)
    if len(ids) != 1:
        raise ValueError(f"{text!r} is not one token of this tokenizer: {ids}")
    return int(ids[0])
