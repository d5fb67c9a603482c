"""Training checkpoints: everything a killed run needs to continue (trainable weights,
optimizer, scheduler, random state, position in the batch plan), written atomically.

A checkpoint is one safetensors file: its tensors are the trainable weights, the optimizer's
per-parameter tensors and the torch random state; everything else is JSON in the file's
metadata. Nothing is ever unpickled, so a file planted in the work directory cannot run code."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from memo_graph.errors import MemoError

_PREFIX = "step-"
_SUFFIX = ".safetensors"
_KEEP = 2
_STATE_KEY = "memo_checkpoint"
"""The metadata entry that holds the JSON half of a checkpoint."""

# JSON has no tensors, tuples, or object keys other than strings (the optimizer keys its
# per-parameter state by index): such values are written as one-key objects with these tags.
_TENSOR = "__tensor__"
_TUPLE = "__tuple__"
_ITEMS = "__items__"
_TAGS = frozenset((_TENSOR, _TUPLE, _ITEMS))


class CheckpointError(MemoError, TypeError):
    """A training state holds a value that a checkpoint cannot store."""


def _pack(value: Any, key: str, tensors: dict[str, torch.Tensor]) -> Any:
    """``value`` as JSON, its tensors moved into ``tensors`` under their path in the state."""
    if isinstance(value, torch.Tensor):
        if key in tensors:
            raise CheckpointError(f"two tensors of the training state are both named {key!r}")
        tensors[key] = value.detach().cpu().contiguous()
        return {_TENSOR: key}
    if isinstance(value, tuple):
        return {_TUPLE: [_pack(v, f"{key}/{i}", tensors) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_pack(v, f"{key}/{i}", tensors) for i, v in enumerate(value)]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and not _TAGS & value.keys():
            return {k: _pack(v, f"{key}/{k}" if key else k, tensors) for k, v in value.items()}
        if not all(isinstance(k, (str, int)) for k in value):
            raise CheckpointError(f"{key!r} of the training state has keys other than str or int")
        return {_ITEMS: [[k, _pack(v, f"{key}/{k}", tensors)] for k, v in value.items()]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise CheckpointError(
        f"{key!r} of the training state is a {type(value).__name__}, which a checkpoint cannot "
        "hold (only tensors, numbers, strings, lists, tuples and dicts)."
    )


def _unpack(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, list):
        return [_unpack(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    if value.keys() == {_TENSOR}:
        return tensors[value[_TENSOR]]
    if value.keys() == {_TUPLE}:
        return tuple(_unpack(v, tensors) for v in value[_TUPLE])
    if value.keys() == {_ITEMS}:
        return {k: _unpack(v, tensors) for k, v in value[_ITEMS]}
    return {k: _unpack(v, tensors) for k, v in value.items()}


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
    tensors: dict[str, torch.Tensor] = {}
    metadata = {_STATE_KEY: json.dumps(_pack(state, "", tensors))}
    final = directory / f"{_PREFIX}{step:08d}{_SUFFIX}"
    partial = final.with_name(final.name + ".partial")
    try:
        save_file(tensors, str(partial), metadata=metadata)
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    for old in sorted(directory.glob(f"{_PREFIX}*{_SUFFIX}"))[:-_KEEP]:
        old.unlink()
    return final


def _load(path: Path) -> dict[str, Any]:
    with safe_open(str(path), framework="pt", device="cpu") as handle:
        metadata = handle.metadata() or {}
        names = handle.keys()  # a safe_open handle is not iterable
        tensors = {name: handle.get_tensor(name) for name in names}
    state = _unpack(json.loads(metadata[_STATE_KEY]), tensors)
    if not isinstance(state, dict):
        raise ValueError("the checkpoint's state is not an object")
    for name in ("step", "micro_batch", "trainable", "optimizer", "scheduler", "python_rng"):
        if name not in state:
            raise KeyError(name)
    if not isinstance(state.get("torch_rng"), torch.Tensor):
        raise ValueError("the checkpoint holds no torch random state")
    return state


def load_latest_checkpoint(directory: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """The newest checkpoint that loads, and a note for each newer one that did not (a file cut
    short by a crash, say) — those are skipped, never trusted. Pickled ``.pt`` checkpoints of
    earlier versions are never opened: unpickling a planted file would run its code."""
    skipped = [
        f"{path.name}: a pickled checkpoint of an earlier version, not loaded"
        for path in sorted(directory.glob(f"{_PREFIX}*.pt"), reverse=True)
    ]
    for path in sorted(directory.glob(f"{_PREFIX}*{_SUFFIX}"), reverse=True):
        try:
            return _load(path), skipped
        except (SafetensorError, OSError, ValueError, KeyError, TypeError) as exc:
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
