"""Loading a tokenizer or a causal LM from a directory without ever running code from it.

A model directory (a memory artifact, a Hub snapshot) can ask transformers to import Python
files it ships (``auto_map``); transformers then asks "run the custom code? [y/N]" on a
terminal. We always answer no up front and say so in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from memo_graph.errors import ModelLoadError


def _refuse_if_custom_code(directory: Path | str, exc: ValueError) -> None:
    if "trust_remote_code" not in str(exc):
        return
    raise ModelLoadError(
        f"{directory} asks to run Python code of its own to load (auto_map with an architecture "
        "transformers does not know); memo-graph never runs code from a model directory. Use a "
        "model of an architecture that transformers supports."
    ) from exc


def load_tokenizer(directory: Path | str, **settings: Any) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(directory, trust_remote_code=False, **settings)
    except ValueError as exc:
        _refuse_if_custom_code(directory, exc)
        raise


def load_causal_lm(directory: Path | str, **settings: Any) -> Any:
    from transformers import AutoModelForCausalLM

    try:
        return AutoModelForCausalLM.from_pretrained(directory, trust_remote_code=False, **settings)
    except ValueError as exc:
        _refuse_if_custom_code(directory, exc)
        raise
