"""Where local weights come from: the embedded model, a packaged GGUF named by ``local:NAME``,
a .gguf file, a Hugging Face directory or Hub id, a LoRA adapter or memory artifact. The parts
are the GGUF conversion (:mod:`.gguf`), the models that packages ship (:mod:`.packaged`) and
memory artifacts' manifests (:mod:`.artifact`)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from memo_graph.errors import ModelLoadError
from memo_graph.models.artifact import check_base_weights, claimed_artifact
from memo_graph.models.gguf import hf_dir_from_gguf
from memo_graph.models.packaged import (
    EMBEDDED_MODEL_NAME,
    hf_dir_from_packaged,
    locate_embedded_gguf,
    packaged_model,
)


@dataclass(frozen=True)
class ResolvedWeights:
    """A base model directory (config, safetensors, tokenizer) and an optional LoRA adapter."""

    base_dir: Path
    adapter_dir: Path | None = None
    display_name: str = ""


def _peft_base(adapter_dir: Path) -> str:
    """The base model a plain peft adapter's adapter_config.json names."""
    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    base_ref = config.get("base_model_name_or_path")
    if not base_ref:
        raise ModelLoadError(
            f"{adapter_dir} is a LoRA adapter that names no base model; add "
            "base_model_name_or_path to its adapter_config.json."
        )
    return str(base_ref)


LOCAL_MODEL_ENV = "MEMO_GRAPH_LOCAL_MODEL"
"""Set to a model directory or .gguf file to make ``local`` mean that model everywhere."""
HUB_PREFIX = "hf:"
"""``hf:ORG/NAME`` names a model on the Hugging Face Hub (a bare ``ORG/NAME`` that is not a
path on disk means the same)."""
_HUB_FILES = ["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "tokenizer*"]
"""What is fetched of a Hub model: config, safetensors weights and tokenizer, never pickles."""


def local_source(spec: str | None) -> str | None:
    """The one reading of a local model spec: ``local`` (or nothing) is the embedded default
    (None), ``local:X`` is X, and anything else (a path, ``hf:ORG/NAME``) stands as it is."""
    if spec is None or spec in ("", "local"):
        return None
    return spec.removeprefix("local:") or None


def hub_id(source: str) -> str | None:
    """The Hub id ``source`` names, or None when it is a path."""
    if source.startswith(HUB_PREFIX):
        return source.removeprefix(HUB_PREFIX)
    parts = source.split("/")
    looks_like_id = len(parts) == 2 and all(parts) and not source.startswith((".", "~"))
    return source if looks_like_id and not Path(source).exists() else None


def _from_hub(repo_id: str) -> Path:
    """A Hub model's snapshot directory, from the Hugging Face cache or fetched into it."""
    from huggingface_hub import constants, snapshot_download

    try:
        return Path(snapshot_download(repo_id, allow_patterns=_HUB_FILES))
    except Exception as exc:  # offline, unreachable, unknown or gated: all say the same to us
        offline = constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE")
        why = (
            "HF_HUB_OFFLINE is set and it is not in the Hugging Face cache"
            if offline
            else f"it could not be fetched ({type(exc).__name__})"
        )
        raise ModelLoadError(
            f"cannot load the Hub model {repo_id!r}: {why}. On a machine with network, fetch it "
            f"once (huggingface-cli download {repo_id}) and HF_HUB_OFFLINE=1 then finds it in "
            "the cache; or pass a local model directory or .gguf file instead."
        ) from exc


def resolve_weights(source: str | os.PathLike[str] | None) -> ResolvedWeights:
    """Turn ``None`` (the embedded default, or the model ``MEMO_GRAPH_LOCAL_MODEL`` names), a
    packaged model's name (``gemma3-270m``), a .gguf file, a model directory, an adapter
    directory or a Hub id (``hf:ORG/NAME``, or a bare ``ORG/NAME`` that is no path here) into
    directories that transformers can load."""
    if source is None or str(source) in ("", "local"):
        if os.environ.get(LOCAL_MODEL_ENV):
            return resolve_weights(os.environ[LOCAL_MODEL_ENV])
        return ResolvedWeights(hf_dir_from_gguf(locate_embedded_gguf()), None, EMBEDDED_MODEL_NAME)
    packaged = packaged_model(str(source))
    if packaged is not None:
        return ResolvedWeights(hf_dir_from_packaged(packaged), None, packaged.display_name)
    repo_id = hub_id(str(source))
    if repo_id is not None:
        return ResolvedWeights(_from_hub(repo_id), None, repo_id)
    path = Path(source).expanduser()
    if not path.exists():
        raise ModelLoadError(
            f"no model at {path}: the path does not exist. Pass an existing .gguf file, a Hugging "
            "Face model directory, or a memory artifact directory."
        )
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise ModelLoadError(
                f"{path} is a file but not a .gguf model; pass a .gguf file or a model directory."
            )
        return ResolvedWeights(hf_dir_from_gguf(path), None, path.stem)
    artifact = claimed_artifact(path)
    if (path / "adapter_config.json").is_file():
        base_spec = artifact.base_spec if artifact is not None else _peft_base(path)
        base = resolve_weights(local_source(base_spec))
        if artifact is not None:
            check_base_weights(artifact, base.base_dir)
        return ResolvedWeights(base.base_dir, path.resolve(), path.name)
    if (path / "config.json").is_file():
        return ResolvedWeights(path.resolve(), None, path.name)
    raise ModelLoadError(
        f"{path} holds neither config.json (a model) nor adapter_config.json (a LoRA adapter); "
        "pass a Hugging Face model directory, a memory artifact or a .gguf file."
    )
