"""A library's shards: each one's pairs file and artifact (trained only when its pairs changed),
and the memory of them all: the one shard, or their merge, trained a little more on all the
pairs (consolidated) when the settings ask."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from memo_graph.files import write_text_atomically
from memo_graph.memory.sources import with_sources
from memo_training.artifact import is_complete, load_artifact
from memo_training.config import TrainConfig
from memo_training.library.ledger import Ledger, Pair
from memo_training.library.settings import LibrarySettings
from memo_training.library.store import LibraryLayout


def pairs_text(pairs: Iterable[Pair]) -> str:
    return "".join(json.dumps(p, ensure_ascii=False, sort_keys=True) + "\n" for p in pairs)


def training_pairs(ledger: Ledger, shard: str) -> list[Pair]:
    """The shard's pairs as it is trained on them. With ``cite_sources`` each answer ends with
    the marker of its documents' titles; the ledger keeps the pairs as they came."""
    pairs = ledger.shards.get(shard, [])
    if not LibrarySettings.from_dict(ledger.settings).cite_sources:
        return pairs
    return [
        {
            **pair,
            "answer": with_sources(
                pair["answer"], [ledger.documents[i].title for i in pair["document_ids"]]
            ),
        }
        for pair in pairs
    ]


def write_shard_pairs(layout: LibraryLayout, ledger: Ledger, shard: str) -> tuple[Path, str]:
    """The shard's pairs file, written when it differs, and the fingerprint the trainer gives
    those pairs."""
    return _written(layout.shard_pairs(shard), training_pairs(ledger, shard))


def _written(path: Path, pairs: Iterable[Pair]) -> tuple[Path, str]:
    """``pairs`` in the .jsonl file ``path`` (rewritten only when it differs) and their
    fingerprint as the trainer gives it."""
    from memo_training.data import load_qa_dataset

    text = pairs_text(pairs)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        write_text_atomically(path, text)
    return path, load_qa_dataset(path).fingerprint


def trained_on(artifact: Path, fingerprint: str) -> bool:
    """``artifact`` is complete and was trained on the pairs of ``fingerprint``."""
    if not is_complete(artifact):
        return False
    return load_artifact(artifact).manifest.get("dataset", {}).get("fingerprint") == fingerprint


def finished_artifact(layout: LibraryLayout, ledger: Ledger, shard: str) -> Path | None:
    """The shard's artifact when it is trained on the pairs the ledger gives it; reads only."""
    from memo_training.data import load_qa_dataset

    path = layout.shard_pairs(shard)
    pairs = training_pairs(ledger, shard)
    if not pairs or not path.is_file() or path.read_text(encoding="utf-8") != pairs_text(pairs):
        return None
    fingerprint = load_qa_dataset(path).fingerprint
    artifact = layout.shard_artifact(shard, fingerprint)
    return artifact if trained_on(artifact, fingerprint) else None


def train_shard(
    layout: LibraryLayout, ledger: Ledger, shard: str, config: TrainConfig, progress: bool
) -> tuple[Path, int | None]:
    """The shard's artifact, and the tokens spent training it (None: it was finished)."""
    pairs_file, fingerprint = write_shard_pairs(layout, ledger, shard)
    artifact = layout.shard_artifact(shard, fingerprint)
    if trained_on(artifact, fingerprint):
        return artifact, None
    from memo_training.trainer import train_memory

    result = train_memory(pairs_file, artifact, base=ledger.base, config=config, progress=progress)
    return artifact, int(result.artifact.manifest["metrics"].get("tokens_trained") or 0)


def _recipe_key(recipe: object) -> str:
    return hashlib.sha256(json.dumps(recipe).encode()).hexdigest()[:16]


def merged_memory(
    layout: LibraryLayout, artifacts: list[Path], settings: LibrarySettings
) -> Path | None:
    """The memory of all shards: the one shard itself, or their merge (made once)."""
    if len(artifacts) <= 1:
        return artifacts[0] if artifacts else None
    from memo_training.merge import merge_memories

    names = [f"{a.parent.name}/{a.name}" for a in artifacts]
    output = [settings.merge_output, settings.merge_rank]
    recipe = [settings.merge_method, settings.merge_density, *output, names]
    target = layout.memories / f"merged-{_recipe_key(recipe)}"
    if not is_complete(target):
        merge_memories(
            list(artifacts),
            target,
            method=settings.merge_method,
            density=settings.merge_density,
            output=settings.merge_output,
            rank=settings.merge_rank,
        )
    return target


def consolidated_memory(
    layout: LibraryLayout, ledger: Ledger, merged: Path, settings: LibrarySettings, progress: bool
) -> tuple[Path, Path, int | None]:
    """The merge trained ``settings.consolidation`` more epochs on every shard's pairs: the
    memory, its pairs file and the tokens spent (None: it was finished). A forgotten
    document's pairs are in neither, so forgetting stays exact."""
    from memo_training.trainer import train_memory

    pairs = [p for shard in ledger.trainable_shards() for p in training_pairs(ledger, shard)]
    config = settings.consolidation_training
    name = f"consolidated-{_recipe_key([merged.name, pairs_text(pairs), config.to_dict()])}"
    pairs_file, fingerprint = _written(layout.memories / f"{name}.jsonl", pairs)
    target = layout.memories / name
    if trained_on(target, fingerprint):
        return target, pairs_file, None
    result = train_memory(
        pairs_file, target, base=f"local:{merged}", config=config, progress=progress
    )
    return target, pairs_file, int(result.artifact.manifest["metrics"].get("tokens_trained") or 0)
