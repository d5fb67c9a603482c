"""Memory artifacts: a directory with a LoRA adapter (standard peft files) or full weights, the
tokenizer, a manifest ``memo.json`` and a model card. Written to a staging directory and renamed
into place, so an artifact directory is either complete or absent."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from memo_graph.errors import MemoError
from memo_graph.files import check_replaceable, staged_directory
from memo_graph.models.weights import file_digest

MANIFEST = "memo.json"
FORMAT = "memo-artifact/1"


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


def package_versions() -> dict[str, str]:
    found = {}
    for name in ("memo-graph", "torch", "transformers", "peft"):
        with contextlib.suppress(PackageNotFoundError):
            found[name] = version(name)
    return found


def is_complete(path: Path) -> bool:
    return (path / MANIFEST).is_file()


def check_destination(out: Path) -> None:
    """Refuse ``out`` unless writing an artifact there loses nothing a user made: it is absent,
    an empty directory, or a memory artifact (which the new one replaces)."""
    check_replaceable(out, is_complete, "memory artifact")


def load_artifact(path: str | Path) -> Artifact:
    path = Path(path)
    if not path.is_dir():
        raise ArtifactError(
            f"no memory artifact at {path}; train one with `memo train` or check the path."
        )
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise ArtifactError(f"{path} has no {MANIFEST}: it is not a complete memory artifact.")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{manifest_path} is not valid JSON ({exc.msg}).") from exc
    if manifest.get("format") != FORMAT:
        raise ArtifactError(f"{manifest_path}: unknown format {manifest.get('format')!r}.")
    return Artifact(path, manifest)


def model_card(manifest: dict[str, Any]) -> str:
    hp = manifest.get("hyperparameters", {})
    data = manifest.get("dataset", {})
    metrics = manifest.get("metrics", {})
    lines = [
        "---",
        "library_name: peft" if manifest["kind"] == "lora" else "library_name: transformers",
        "tags: [memo-graph, memory-model]",
        "---",
        "",
        "# MEMO memory model",
        "",
        "A MEMORY model for memo-graph: it answers questions about its corpus from its weights "
        "alone. Ask it through `memo ask` or `memo_graph.MemoryTool`.",
        "",
        f"- kind: {manifest['kind']}",
        f"- base: `{manifest['base']['spec']}` (weights sha256 {manifest['base']['sha256'][:16]}…)",
    ]
    if manifest.get("parents"):
        lines.append(f"- merged from: {', '.join(p['path'] for p in manifest['parents'])}")
        lines.append(f"- merge: {json.dumps(manifest.get('merge', {}))}")
    if data:
        lines.append(
            f"- data: {data.get('pairs')} QA pairs from `{data.get('source')}` "
            f"(fingerprint {str(data.get('fingerprint'))[:16]}…)"
        )
    if hp:
        lines.append(f"- training: {json.dumps(hp)}")
    if metrics:
        lines.append(f"- metrics: {json.dumps(metrics)}")
    return "\n".join(lines) + "\n"


def write_artifact(
    final: Path, save_weights: Callable[[Path], None], tokenizer: Any, manifest: dict[str, Any]
) -> Artifact:
    """Write weights (through ``save_weights``), tokenizer, manifest and card, atomically."""
    manifest = {
        "format": FORMAT,
        **manifest,
        "versions": package_versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    with staged_directory(final, is_complete, "memory artifact") as staging:
        save_weights(staging)
        tokenizer.save_pretrained(staging)
        (staging / "README.md").write_text(model_card(manifest))
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return Artifact(final, manifest)
