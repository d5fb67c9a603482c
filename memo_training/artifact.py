"""Memory artifacts: a directory with a LoRA adapter (standard peft files) or full weights, the
tokenizer, a manifest ``memo.json`` and a model card. Written to a staging directory and renamed
into place, so an artifact directory is either complete or absent."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from memo_graph.files import OutputPathError, check_replaceable, staged_directory
from memo_graph.models.artifact import (
    FORMAT,
    MANIFEST,
    Artifact,
    ArtifactError,
    artifact_problem,
    foreign_files,
    is_complete,
    is_replaceable_artifact,
    listed_files,
    load_artifact,
    weights_checksum,
)

__all__ = [
    "FORMAT",
    "MANIFEST",
    "Artifact",
    "ArtifactError",
    "check_destination",
    "is_complete",
    "load_artifact",
    "weights_checksum",
    "write_artifact",
]


def package_versions() -> dict[str, str]:
    found = {}
    for name in ("memo-graph", "torch", "transformers", "peft"):
        with contextlib.suppress(PackageNotFoundError):
            found[name] = version(name)
    return found


def check_destination(out: Path) -> None:
    """Refuse ``out`` unless writing an artifact there loses nothing a user made: it is absent,
    an empty directory, or a complete memory artifact holding only what its manifest lists
    (which the new one replaces)."""
    if out.is_dir() and not out.is_symlink() and (out / MANIFEST).exists():
        problem = artifact_problem(out)
        foreign = foreign_files(out) if problem is None else []
        if foreign:
            problem = f"it holds {', '.join(foreign)}, which memo-graph did not write"
        if problem is not None:
            raise OutputPathError(
                f"{out} is not a memory artifact that memo-graph wrote and may replace: "
                f"{problem}. Nothing was changed: give a new or empty directory, or move its "
                "files away yourself."
            )
    check_replaceable(out, is_replaceable_artifact, "memory artifact")


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
    with staged_directory(final, is_replaceable_artifact, "memory artifact") as staging:
        save_weights(staging)
        tokenizer.save_pretrained(staging)
        (staging / "README.md").write_text(model_card(manifest))
        manifest["files"] = listed_files(staging)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return Artifact(final, manifest)
