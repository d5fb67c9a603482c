"""GGUF files made loadable: dequantised once into a safetensors directory under the cache.

The conversion is written to a temporary directory and renamed into place under a file lock,
so a crash never leaves a half-written model and two processes loading for the first time
convert only once."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

from memo_graph.errors import ModelLoadError
from memo_graph.models.cache import cache_root
from memo_graph.models.chat_templates import has_gemma_turn_tokens, use_gemma_turns
from memo_graph.models.digest import file_digest
from memo_graph.models.loading import load_causal_lm, load_tokenizer

_GGUF_MAGIC = b"GGUF"
_COMPLETE_MARKER = ".memo-complete"


def _check_gguf_header(path: Path) -> None:
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ModelLoadError(
            f"cannot read {path}: {exc}. Check the path and its permissions."
        ) from exc
    if magic != _GGUF_MAGIC:
        raise ModelLoadError(
            f"{path} is not a GGUF file (it does not start with the GGUF magic bytes). "
            "Pass a .gguf model file or a Hugging Face model directory."
        )


def convert_gguf(gguf_path: Path, target: Path) -> None:
    # Imported here: transformers is slow to import and only needed on the first load.
    import torch
    from transformers import AutoModelForCausalLM

    folder, name = str(gguf_path.parent), gguf_path.name
    try:
        quantised = load_causal_lm(folder, gguf_file=name, dtype=torch.float32)
        tokenizer = load_tokenizer(folder, gguf_file=name)
    except Exception as exc:  # the GGUF reader raises many kinds on a damaged file
        raise ModelLoadError(
            f"cannot load {gguf_path}: {type(exc).__name__}: {exc}. The file may be truncated or "
            "corrupt; download or reinstall it."
        ) from exc
    # A model loaded from GGUF is marked as quantised and save_pretrained refuses it:
    # rebuild a plain model from its config and copy the dequantised weights over.
    config = quantised.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(quantised.state_dict(), strict=False)
    plain.tie_weights()
    plain.generation_config = quantised.generation_config
    if tokenizer.chat_template is None and has_gemma_turn_tokens(tokenizer):
        use_gemma_turns(tokenizer, plain.generation_config)
    plain.save_pretrained(target)
    tokenizer.save_pretrained(target)


def converted_once(key: str, source: str, convert: Callable[[Path], None]) -> Path:
    """The cache directory ``key``, written by ``convert(staging)`` on first use only."""
    root = cache_root() / "models"
    final = root / key
    if (final / _COMPLETE_MARKER).is_file():
        return final
    (root / ".locks").mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / ".locks" / f"{key}.lock")):
        if (final / _COMPLETE_MARKER).is_file():
            return final
        staging = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=root))
        staging.chmod(0o755)
        try:
            convert(staging)
            (staging / _COMPLETE_MARKER).write_text(json.dumps({"source": source}))
            if final.exists():  # left by an older, interrupted layout: never a complete one
                shutil.rmtree(final)
            os.replace(staging, final)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return final


def hf_dir_from_gguf(gguf_path: Path) -> Path:
    """Return a safetensors directory converted from ``gguf_path``, converting on first use."""
    _check_gguf_header(gguf_path)
    key = f"{gguf_path.stem}-{file_digest(gguf_path)[:16]}"
    return converted_once(key, str(gguf_path), lambda staging: convert_gguf(gguf_path, staging))
