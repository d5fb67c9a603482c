"""Merging MEMORY artifacts in parameter space: task vectors taken against the true base model,
combined by task arithmetic, TIES, DARE-TIES or a linear average (peft.utils.merge_utils), one
weight matrix at a time so peak memory stays near one model plus one layer's deltas."""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from peft.utils import merge_utils
from safetensors import safe_open
from safetensors.torch import save_file

from memo_graph.files import writing_to
from memo_graph.models.artifact import check_base_weights
from memo_graph.models.loading import load_tokenizer
from memo_graph.models.weights import local_source, resolve_weights
from memo_training.artifact import (
    Artifact,
    ArtifactError,
    check_destination,
    load_artifact,
    write_artifact,
)
from memo_training.config import (
    MERGE_DENSITY,
    MERGE_METHOD,
    MERGE_METHODS,
    MERGE_OUTPUT,
    MERGE_RANK,
    MergeMethod,
    MergeOutput,
)

_PEFT_PREFIX = "base_model.model."


@dataclass
class _LoraDeltas:
    """A LoRA artifact's weight deltas, each computed as scaling * B @ A when asked for."""

    tensors: dict[str, torch.Tensor]
    scaling: float

    @classmethod
    def load(cls, path: Path) -> _LoraDeltas:
        from safetensors.torch import load_file

        config = json.loads((path / "adapter_config.json").read_text())
        rank, alpha = int(config["r"]), float(config["lora_alpha"])
        scaling = alpha / rank**0.5 if config.get("use_rslora") else alpha / rank
        return cls(load_file(path / "adapter_model.safetensors"), scaling)

    def targets(self) -> set[str]:
        """Base weight names this adapter changes."""
        return {
            key.removeprefix(_PEFT_PREFIX).replace(".lora_A.weight", ".weight")
            for key in self.tensors
            if key.endswith(".lora_A.weight")
        }

    def delta(self, base_key: str) -> torch.Tensor | None:
        stem = _PEFT_PREFIX + base_key.removesuffix(".weight")
        a = self.tensors.get(f"{stem}.lora_A.weight")
        b = self.tensors.get(f"{stem}.lora_B.weight")
        if a is None or b is None:
            return None
        return (b.float() @ a.float()) * self.scaling


def _combine(
    deltas: list[torch.Tensor], weights: torch.Tensor, method: str, density: float
) -> torch.Tensor:
    if method == "ties":
        return merge_utils.ties(deltas, weights, density)
    if method == "dare_ties":
        return merge_utils.dare_ties(deltas, weights, density)
    if method == "task_arithmetic":
        return merge_utils.task_arithmetic(deltas, weights)
    return merge_utils.task_arithmetic(deltas, weights / weights.sum())  # linear: a mean


def _check_compatible(artifacts: list[Artifact]) -> None:
    first = artifacts[0]
    for other in artifacts[1:]:
        if (other.base_spec, other.base_checksum) != (first.base_spec, first.base_checksum):
            raise ArtifactError(
                f"{other.path} was trained on base {other.base_spec} "
                f"(sha256 {other.base_checksum[:12]}…) but {first.path} on {first.base_spec} "
                f"(sha256 {first.base_checksum[:12]}…); only memories of the same base merge."
            )


def _base_tensors(base_dir: Path, stack: ExitStack) -> dict[str, Any]:
    """Lazy handles to every base weight, by name."""
    handles: dict[str, Any] = {}
    for file in sorted(base_dir.glob("*.safetensors")):
        handle = stack.enter_context(safe_open(str(file), framework="pt"))
        handles.update({key: handle for key in handle.keys()})  # noqa: SIM118
    return handles


def _parent_deltas(
    artifacts: list[Artifact], base: dict[str, Any], stack: ExitStack
) -> Iterator[tuple[str, list[torch.Tensor | None]]]:
    """For each base weight, each parent's delta (None where that parent leaves it as is)."""
    loras = {a.path: _LoraDeltas.load(a.path) for a in artifacts if a.kind == "lora"}
    fulls = {a.path: _base_tensors(a.path, stack) for a in artifacts if a.kind == "full"}
    for key, handle in base.items():
        original: torch.Tensor | None = None
        deltas: list[torch.Tensor | None] = []
        for artifact in artifacts:
            if artifact.path in loras:
                deltas.append(loras[artifact.path].delta(key))
                continue
            tuned = fulls[artifact.path].get(key)
            if tuned is None:
                raise ArtifactError(f"{artifact.path} lacks weight {key} of its base model.")
            if original is None:
                original = handle.get_tensor(key).float()
            deltas.append(tuned.get_tensor(key).float() - original)
        yield key, deltas


def _low_rank(delta: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """B (out x r) and A (r x in) with B @ A closest to ``delta``, and the relative error."""
    u, s, vh = torch.linalg.svd(delta, full_matrices=False)
    root = s[:rank].sqrt()
    b, a = u[:, :rank] * root, root[:, None] * vh[:rank]
    error = float(torch.linalg.norm(delta - b @ a) / torch.linalg.norm(delta).clamp(min=1e-12))
    return b, a, error


def _check_apart_from_inputs(out: Path, paths: list[str | Path]) -> None:
    """Writing ``out`` replaces it whole: it may be neither an input, nor inside one, nor hold
    one."""
    for given in paths:
        source = Path(given).expanduser().resolve()
        # samefile: one folder under two spellings on a case-insensitive disk ("Mem", "mem")
        same = out.exists() and source.exists() and os.path.samefile(out, source)
        if same or out == source or source in out.parents or out in source.parents:
            relation = (
                "is" if same or out == source else "is inside" if source in out.parents else "holds"
            )
            raise ArtifactError(
                f"the output {out} {relation} the input {source}; merging there would replace "
                "what it reads. Nothing was changed: give a new --out."
            )


def merge_memories(
    paths: list[str | Path],
    out: str | Path,
    method: MergeMethod = MERGE_METHOD,
    density: float = MERGE_DENSITY,
    weights: list[float] | None = None,
    output: MergeOutput = MERGE_OUTPUT,
    rank: int = MERGE_RANK,
    seed: int = 0,
) -> Artifact:
    """Merge memory artifacts of one base into a new artifact at ``out``.

    ``output="full"`` (the default) writes base + merged delta as full weights: exact, and what a
    TIES-sparsified delta needs, since it is no longer low-rank. ``output="lora"`` re-factors each
    merged delta by SVD into a rank-``rank`` adapter (small, servable by ``vllm --enable-lora``)
    and records the relative approximation error in the manifest.

    Args:
        paths: memory artifacts trained from one base.
        out: the merged artifact's directory: new, empty or a memory artifact, and neither one
            of ``paths`` nor inside or around one.
        method: ``ties``, ``dare_ties``, ``task_arithmetic`` or ``linear``.
        density: the share of each task vector kept (TIES rho).
        weights: a weight per artifact; None: 1 each.
        output: ``full`` or ``lora``.
        rank: the adapter rank when ``output="lora"``.
        seed: the seed of DARE's random drop.

    Returns:
        The merged artifact; its manifest names its parents and the merge.
    """
    if method not in MERGE_METHODS:
        raise ValueError(f"method must be one of {', '.join(MERGE_METHODS)}, not {method!r}")
    if len(paths) < 1:
        raise ArtifactError("name at least one memory artifact to merge.")
    if not 0 < density <= 1:
        raise ValueError(f"density must be in (0, 1], got {density}")
    out = Path(out).expanduser().resolve()
    _check_apart_from_inputs(out, paths)
    check_destination(out)
    artifacts = [load_artifact(p) for p in paths]
    _check_compatible(artifacts)
    if output == "lora" and any(a.kind != "lora" for a in artifacts):
        raise ArtifactError(
            "a LoRA output needs LoRA parents; merge full artifacts with output=full."
        )
    weight_list = weights or [1.0] * len(artifacts)
    if len(weight_list) != len(artifacts):
        raise ValueError(f"{len(weight_list)} weights for {len(artifacts)} artifacts")
    factor = torch.tensor(weight_list, dtype=torch.float32)

    base_weights = resolve_weights(local_source(artifacts[0].base_spec))
    check_base_weights(artifacts[0], base_weights.base_dir, any_base=True)
    torch.manual_seed(seed)
    started = time.perf_counter()
    merged: dict[str, torch.Tensor] = {}
    errors: list[float] = []
    with ExitStack() as stack:
        base = _base_tensors(base_weights.base_dir, stack)
        for key, deltas in _parent_deltas(artifacts, base, stack):
            present = [(d, w) for d, w in zip(deltas, factor, strict=True) if d is not None]
            if output == "full":
                tensor = base[key].get_tensor(key)
                if present:
                    delta = _combine(
                        [d for d, _ in present],
                        torch.stack([w for _, w in present]),
                        method,
                        density,
                    )
                    tensor = (tensor.float() + delta).to(tensor.dtype)
                merged[key] = tensor.contiguous()
            elif present:
                delta = _combine(
                    [d for d, _ in present], torch.stack([w for _, w in present]), method, density
                )
                b, a, error = _low_rank(delta, rank)
                stem = _PEFT_PREFIX + key.removesuffix(".weight")
                merged[f"{stem}.lora_A.weight"] = a.contiguous()
                merged[f"{stem}.lora_B.weight"] = b.contiguous()
                errors.append(error)
    seconds = time.perf_counter() - started

    manifest: dict[str, Any] = {
        "kind": output,
        "base": artifacts[0].manifest["base"],
        "parents": [
            {
                "path": str(a.path.resolve()),
                "kind": a.kind,
                "dataset": a.manifest.get("dataset", {}).get("fingerprint"),
            }
            for a in artifacts
        ],
        "merge": {
            "method": method,
            "density": density,
            "weights": weight_list,
            "output": output,
            "rank": rank if output == "lora" else None,
            "seed": seed,
        },
        "metrics": {
            "merge_seconds": round(seconds, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            **({"svd_relative_error_mean": sum(errors) / len(errors)} if errors else {}),
        },
    }
    tokenizer = load_tokenizer(base_weights.base_dir)
    with writing_to(out, "the merged memory"):
        return write_artifact(
            out,
            lambda d: _save(d, merged, output, artifacts[0], base_weights.base_dir, rank),
            tokenizer,
            manifest,
        )


def _save(
    target: Path,
    tensors: dict[str, torch.Tensor],
    output: str,
    first: Artifact,
    base_dir: Path,
    rank: int,
) -> None:
    if output == "full":
        for name in ("config.json", "generation_config.json"):
            if (base_dir / name).is_file():
                (target / name).write_bytes((base_dir / name).read_bytes())
        save_file(tensors, str(target / "model.safetensors"), metadata={"format": "pt"})
        return
    config = json.loads((first.path / "adapter_config.json").read_text())
    targets = sorted({k.split(".")[-3] for k in tensors if k.endswith(".lora_A.weight")})
    config.update(
        r=rank, lora_alpha=rank, use_rslora=False, target_modules=targets, lora_dropout=0.0
    )
    (target / "adapter_config.json").write_text(json.dumps(config, indent=2))
    save_file(tensors, str(target / "adapter_model.safetensors"), metadata={"format": "pt"})
