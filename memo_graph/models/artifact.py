"""Reading memory artifacts: a directory with a LoRA adapter (standard peft files) or full
weights, the tokenizer, a model card and a manifest ``memo.json``.

A directory is one of ours only when its manifest is of a format we know and the files it lists
are there with the sizes it gives; a stray ``memo.json`` makes nothing ours. The writing side
lives in ``memo_training.artifact``."""

from __future__ import annotations

import fnmatch
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memo_graph.errors import MemoError
from memo_graph.models.digest import file_digest

MANIFEST = "memo.json"
FORMAT = "memo-artifact/1"
_FORMAT_FAMILY = "memo-artifact/"
CATALOG_FILE = "sources.json"
"""The titles a memory holds, which a library adds to an artifact after it is written."""
KINDS = ("lora", "full")
_WEIGHTS_CONFIG = {"lora": "adapter_config.json", "full": "config.json"}
_WRITTEN_BEFORE_FILE_LISTS = (
    "README.md",
    "adapter_config.json",
    "adapter_model.safetensors",
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "model-*.safetensors",
    "model.safetensors.index.json",
    "tokenizer*",
    "special_tokens_map.json",
    "chat_template.jinja",
    "vocab.json",
    "merges.txt",
)
"""What artifacts written before manifests listed their files can hold."""
_EDITABLE = frozenset({"README.md"})
"""Listed files a user may edit (the model card): present, whatever their size."""


class ArtifactError(MemoError):
    """A memory artifact is missing, incomplete, or incompatible with another."""


@dataclass(frozen=True)
class Artifact:
    path: Path
    manifest: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @property
    def base_spec(self) -> str:
        return str(self.manifest["base"]["spec"])

    @property
    def base_checksum(self) -> str:
        return str(self.manifest["base"]["sha256"])


def weights_checksum(model_dir: Path) -> str:
    """sha256 over a model directory's safetensors files (names and contents), in name order."""
    files = sorted(model_dir.glob("*.safetensors"))
    if not files:
        raise ArtifactError(f"no safetensors weights in {model_dir}")
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.name}:{file_digest(path)}\n".encode())
    return digest.hexdigest()


def listed_files(directory: Path) -> dict[str, int]:
    """Every file of ``directory`` but the manifest, with its size: what a manifest lists."""
    return {
        entry.name: entry.stat().st_size
        for entry in sorted(directory.iterdir())
        if entry.is_file() and entry.name != MANIFEST
    }


def _read_manifest(path: Path) -> tuple[dict[str, Any] | None, str]:
    manifest_path = path / MANIFEST
    if not path.is_dir():
        return None, f"no memory artifact at {path}; train one with `memo train` or check the path"
    if not manifest_path.is_file():
        return None, f"{path} has no {MANIFEST}: it is not a complete memory artifact"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"{manifest_path} cannot be read ({exc})"
    except json.JSONDecodeError as exc:
        return None, f"{manifest_path} is not valid JSON ({exc.msg})"
    if not isinstance(manifest, dict):
        return None, f"{manifest_path} is not a memory artifact's manifest (not a JSON object)"
    return manifest, ""


def _claims_our_format(manifest: dict[str, Any]) -> bool:
    return str(manifest.get("format", "")).startswith(_FORMAT_FAMILY)


def names_our_format(path: Path) -> bool:
    """``path`` holds a manifest that says it is a memory artifact, whole or not."""
    manifest, _ = _read_manifest(path)
    return manifest is not None and _claims_our_format(manifest)


def _checked(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(the manifest, why ``path`` is not a complete memory artifact memo-graph wrote: None
    when it is)."""
    manifest, problem = _read_manifest(path)
    if manifest is None:
        return None, problem
    return manifest, _manifest_problem(path, manifest)


def artifact_problem(path: Path) -> str | None:
    """Why ``path`` is not a complete memory artifact that memo-graph wrote, or None if it is."""
    return _checked(path)[1]


def _manifest_problem(path: Path, manifest: dict[str, Any]) -> str | None:
    found = manifest.get("format")
    if found != FORMAT:
        if _claims_our_format(manifest):
            return (
                f"{path / MANIFEST} has format {found!r}, which this memo-graph cannot read "
                f"(it reads {FORMAT}); upgrade memo-graph to load it"
            )
        named = f"its format is {found!r}" if found is not None else "it names no format"
        return f"{path / MANIFEST} is not a memory artifact's manifest ({named})"
    kind = manifest.get("kind")
    base = manifest.get("base")
    if kind not in KINDS or not isinstance(base, dict) or "spec" not in base:
        return f"{path / MANIFEST} names no kind ({', '.join(KINDS)}) or no base model"
    files = manifest.get("files")
    if files is None:  # written before manifests listed their files
        needed = {_WEIGHTS_CONFIG[kind]: None}
    elif isinstance(files, dict):
        needed = files
    else:
        return f"{path / MANIFEST} lists its files in a form memo-graph does not know"
    for name, size in needed.items():
        entry = path / str(name)
        checked = size is not None and name not in _EDITABLE
        if not entry.is_file() or (checked and entry.stat().st_size != size):
            return f"{path} lacks {name} as its manifest lists it: the artifact is incomplete"
    return None


def is_complete(path: Path) -> bool:
    """``path`` is a complete memory artifact of a format this memo-graph reads."""
    return artifact_problem(path) is None


def foreign_files(path: Path) -> list[str]:
    """Files and folders in the artifact at ``path`` that its manifest does not account for
    (added by someone else): replacing the artifact would lose them."""
    manifest, _ = _read_manifest(path)
    listed = (manifest or {}).get("files")
    ours = set(listed) if isinstance(listed, dict) else None
    foreign = []
    for entry in sorted(path.iterdir()):
        if entry.name in (MANIFEST, CATALOG_FILE):
            continue
        if ours is not None:
            known = entry.name in ours and entry.is_file()
        else:
            known = entry.is_file() and any(
                fnmatch.fnmatch(entry.name, pattern) for pattern in _WRITTEN_BEFORE_FILE_LISTS
            )
        if not known:
            foreign.append(entry.name)
    return foreign


def is_replaceable_artifact(path: Path) -> bool:
    """``path`` is a complete memory artifact holding nothing but what memo-graph wrote."""
    return is_complete(path) and not foreign_files(path)


def load_artifact(path: str | Path) -> Artifact:
    path = Path(path)
    manifest, problem = _checked(path)
    if manifest is None or problem is not None:
        raise ArtifactError(f"{problem}.")
    return Artifact(path, manifest)


def claimed_artifact(path: Path) -> Artifact | None:
    """The memory artifact at ``path`` when its manifest claims to be one of ours, None when it
    has none (a plain model or adapter directory); an artifact that cannot be read is refused,
    never loaded as if it were a plain directory."""
    if not (path / MANIFEST).is_file():
        return None
    manifest, _ = _read_manifest(path)
    if manifest is not None and not _claims_our_format(manifest):
        return None  # a file of that name that is no manifest of ours (a user's notes)
    return load_artifact(path)  # ours, or unreadable: refused with its reason


def check_base_weights(artifact: Artifact, base_dir: Path, *, any_base: bool = False) -> None:
    """Refuse base weights other than those the artifact was trained on (its manifest's
    checksum) where its manifest names the base by a path, which can point anywhere; with
    ``any_base`` (merging, which adds deltas to the very bytes), whatever names it. A base
    named by what it is (``local``, a packaged model, a Hub id) is a conversion or a snapshot
    that another transformers version may write byte for byte otherwise."""
    expected = artifact.manifest["base"].get("sha256")
    if not expected or not (any_base or artifact.base_spec.startswith("local:/")):
        return
    if weights_checksum(base_dir) != expected:
        raise ArtifactError(
            f"the base weights at {base_dir} are not the ones the memory at {artifact.path} was "
            f"trained on (its manifest gives sha256 {str(expected)[:16]}…, the weights differ). "
            "Nothing was done: restore that base model, or retrain the memory on this one."
        )
