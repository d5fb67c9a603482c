"""Training checkpoints: everything a killed run needs to continue (trainable weights,
optimizer, scheduler, random state, position in the batch plan), written atomically."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import torch

_PREFIX = "step-"
_KEEP = 2


def _trainable_state(model: Any) -> dict[str, torch.Tensor]:
    return {n: p.detach().cpu() for n, p in model.named_parameters() if p.requires_grad}


def save_checkpoint(
    directory: Path, model: Any, optimizer: Any, scheduler: Any, step: int, micro_batch: int
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    state = {
        "step": step,
        "micro_batch": micro_batch,
        "trainable": _trainable_state(model),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "python_rng": random.getstate(),
    }
    final = directory / f"{_PREFIX}{step:08d}.pt"
    partial = final.with_suffix(".pt.partial")
    torch.save(state, partial)
    os.replace(partial, final)
    for old in sorted(directory.glob(f"{_PREFIX}*.pt"))[:-_KEEP]:
        old.unlink()
    return final


def load_latest_checkpoint(directory: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """The newest checkpoint that loads, and a note for each newer one that did not (a file cut
    short by a crash, say) — those are skipped, never trusted."""
    skipped: list[str] = []
    for path in sorted(directory.glob(f"{_PREFIX}*.pt"), reverse=True):
        try:
            return torch.load(path, map_location="cpu", weights_only=False), skipped
        except Exception as exc:  # a truncated zip raises RuntimeError, EOFError, ...
            skipped.append(f"{path.name}: {type(exc).__name__}")
    return None, skipped


def restore(state: dict[str, Any], model: Any, optimizer: Any, scheduler: Any) -> None:
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in state["trainable"].items():
            params[name].copy_(value)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    random.setstate(state["python_rng"])
