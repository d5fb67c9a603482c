"""Chat-template fix-ups for models whose files carry none: Gemma's turn format for a Gemma
base model converted from a GGUF."""

from __future__ import annotations

from typing import Any

GEMMA_TURN_TEMPLATE = (
    "{{ bos_token }}"
    "{% set system = messages[0]['content'] + '\\n\\n' if messages and "
    "messages[0]['role'] == 'system' else '' %}"
    "{% for message in messages if message['role'] != 'system' %}"
    "{% set role = 'model' if message['role'] == 'assistant' else 'user' %}"
    "{{ '<start_of_turn>' + role + '\\n' + (system if loop.first else '') + message['content'] "
    "+ '<end_of_turn>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}"
)
"""Gemma's turn format, for a Gemma GGUF that carries no chat template (a base model): the
system message opens the first user turn, as Gemma has no system role; contents are kept
verbatim so that answer-only labels find the answer in the rendered text."""
GEMMA_START_OF_TURN = "<start_of_turn>"
GEMMA_END_OF_TURN = "<end_of_turn>"


def has_gemma_turn_tokens(tokenizer: Any) -> bool:
    vocabulary = tokenizer.get_vocab()
    return GEMMA_START_OF_TURN in vocabulary and GEMMA_END_OF_TURN in vocabulary


def use_gemma_turns(tokenizer: Any, generation_config: Any) -> None:
    """Give a template-less Gemma tokenizer Gemma's turn format, and end generation at the end
    of a model turn (what training teaches) as well as at the plain end of text."""
    plain_eos = tokenizer.eos_token_id
    tokenizer.chat_template = GEMMA_TURN_TEMPLATE
    tokenizer.eos_token = GEMMA_END_OF_TURN
    stops = [tokenizer.eos_token_id] + ([plain_eos] if plain_eos is not None else [])
    generation_config.eos_token_id = list(dict.fromkeys(stops))
