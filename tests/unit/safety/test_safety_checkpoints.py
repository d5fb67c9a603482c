"""Training checkpoints are safetensors files: they round-trip the whole training state, resume
bit for bit, and nothing planted in the work directory is ever unpickled."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

from memo_training.checkpoint import load_latest_checkpoint, restore, save_checkpoint


class _Planted:
    """A pickle whose loading makes the directory ``marker``: proof that it ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return os.mkdir, (str(self.marker),)


Training = tuple[Any, torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]


def _training(model_dir: Path) -> Training:
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    for name, parameter in model.named_parameters():
        parameter.requires_grad = "q_proj" in name or "norm" in name
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-2, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 4))
    return model, optimizer, scheduler


def _steps(training: Training, count: int) -> None:
    """Steps whose batches draw on both Python's and torch's random state, as a resumed run must
    draw the same ones."""
    model, optimizer, scheduler = training
    for _ in range(count):
        ids = torch.randint(0, 300, (2, random.randint(4, 9)))
        model(input_ids=ids, labels=ids).loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)


def _trainable(model: Any) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def _assert_same(ours: Any, theirs: Any, where: str = "state") -> None:
    assert type(ours) is type(theirs), f"{where}: {type(ours)} != {type(theirs)}"
    if isinstance(ours, torch.Tensor):
        assert ours.dtype == theirs.dtype and torch.equal(ours, theirs), where
    elif isinstance(ours, dict):
        assert ours.keys() == theirs.keys(), where
        for key in ours:
            _assert_same(ours[key], theirs[key], f"{where}[{key!r}]")
    elif isinstance(ours, (list, tuple)):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            _assert_same(a, b, f"{where}[{i}]")
    else:
        assert ours == theirs, where


def _seed() -> None:
    random.seed(5)
    torch.manual_seed(5)


def _reference(model_dir: Path, steps: int) -> dict[str, torch.Tensor]:
    _seed()
    training = _training(model_dir)
    _steps(training, steps)
    return _trainable(training[0])


def _checkpointed(model_dir: Path, directory: Path, steps: int) -> Path:
    _seed()
    training = _training(model_dir)
    _steps(training, steps)
    return save_checkpoint(directory, *training, step=steps, micro_batch=steps * 2)


def _resume(model_dir: Path, directory: Path, steps: int) -> tuple[dict[str, Any], list[str]]:
    """A fresh process's view: new model and optimizer, other random state, then the
    checkpoint."""
    random.seed(99)
    torch.manual_seed(99)
    training = _training(model_dir)
    state, notes = load_latest_checkpoint(directory)
    assert state is not None, notes
    restore(state, *training)
    _steps(training, steps)
    return _trainable(training[0]), notes


def test_a_checkpoint_round_trips_the_whole_training_state(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    _seed()
    model, optimizer, scheduler = _training(tiny_llama_dir)
    _steps((model, optimizer, scheduler), 3)
    path = save_checkpoint(tmp_path, model, optimizer, scheduler, step=3, micro_batch=6)
    assert path.name == "step-00000003.safetensors"
    names = set(_contents(path)[0])
    assert "torch_rng" in names
    assert any(n.startswith("trainable/") and "q_proj" in n for n in names)
    assert any(n.startswith("optimizer/state/") and n.endswith("exp_avg_sq") for n in names)

    state, notes = load_latest_checkpoint(tmp_path)
    assert state is not None and notes == []
    assert (state["step"], state["micro_batch"]) == (3, 6)
    _assert_same(state["trainable"], _trainable(model), "trainable")
    _assert_same(state["optimizer"], optimizer.state_dict(), "optimizer")
    assert isinstance(state["optimizer"]["param_groups"][0]["betas"], tuple)
    _assert_same(state["scheduler"], scheduler.state_dict(), "scheduler")
    _assert_same(state["torch_rng"], torch.get_rng_state(), "torch_rng")
    _assert_same(state["python_rng"], random.getstate(), "python_rng")


def test_a_resumed_run_ends_bit_identical(tiny_llama_dir: Path, tmp_path: Path) -> None:
    reference = _reference(tiny_llama_dir, 6)
    _checkpointed(tiny_llama_dir, tmp_path, 3)
    resumed, notes = _resume(tiny_llama_dir, tmp_path, 3)
    assert notes == []
    _assert_same(resumed, reference, "trainable")


def test_only_the_two_newest_checkpoints_are_kept(tiny_llama_dir: Path, tmp_path: Path) -> None:
    training = _training(tiny_llama_dir)
    for step in (1, 2, 3):
        save_checkpoint(tmp_path, *training, step=step, micro_batch=step)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "step-00000002.safetensors",
        "step-00000003.safetensors",
    ]


def test_a_planted_pickle_never_runs_and_resume_still_works(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    checkpoints, marker = tmp_path / "checkpoints", tmp_path / "pwned"
    reference = _reference(tiny_llama_dir, 6)
    _checkpointed(tiny_llama_dir, checkpoints, 3)
    # Newer than the real checkpoint, once as an old-style .pt and once under the new name.
    torch.save(_Planted(marker), checkpoints / "step-99999999.pt")
    torch.save(_Planted(marker), checkpoints / "step-99999999.safetensors")

    # The plant is live: loading it the way old checkpoints were loaded runs its code.
    control = tmp_path / "control"
    torch.save(_Planted(control), tmp_path / "control.pt")
    torch.load(tmp_path / "control.pt", weights_only=False)
    assert control.is_dir()

    state, notes = load_latest_checkpoint(checkpoints)
    assert not marker.exists(), "a planted pickle was unpickled"
    assert state is not None and state["step"] == 3
    assert any(n.startswith("step-99999999.pt:") and "not loaded" in n for n in notes)
    assert any(n.startswith("step-99999999.safetensors:") for n in notes)
    resumed, _ = _resume(tiny_llama_dir, checkpoints, 3)
    assert not marker.exists(), "a planted pickle was unpickled"
    _assert_same(resumed, reference, "trainable")


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def _contents(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    with safe_open(str(path), framework="pt") as handle:
        names = handle.keys()  # a safe_open handle is not iterable
        return {name: handle.get_tensor(name) for name in names}, dict(handle.metadata())


def _bad_json(path: Path) -> None:
    tensors, metadata = _contents(path)
    (key,) = metadata
    metadata[key] = metadata[key][:-40]
    save_file(tensors, str(path), metadata=metadata)


def _missing_tensor(path: Path) -> None:
    tensors, metadata = _contents(path)
    del tensors["torch_rng"]
    save_file(tensors, str(path), metadata=metadata)


@pytest.mark.parametrize("damage", [_truncate, _bad_json, _missing_tensor])
def test_a_damaged_newest_checkpoint_is_skipped_with_a_note(
    damage: Any, tiny_llama_dir: Path, tmp_path: Path
) -> None:
    reference = _reference(tiny_llama_dir, 6)
    _seed()
    training = _training(tiny_llama_dir)
    _steps(training, 3)
    save_checkpoint(tmp_path, *training, step=3, micro_batch=6)
    _steps(training, 1)
    newest = save_checkpoint(tmp_path, *training, step=4, micro_batch=8)
    damage(newest)

    resumed, notes = _resume(tiny_llama_dir, tmp_path, 3)
    assert len(notes) == 1 and notes[0].startswith("step-00000004.safetensors: "), notes
    _assert_same(resumed, reference, "trainable")


def test_no_loadable_checkpoint_means_a_fresh_start(tmp_path: Path) -> None:
    assert load_latest_checkpoint(tmp_path / "absent") == (None, [])
    # A safetensors file, but not a checkpoint: no training state in its metadata.
    save_file({"weight": torch.zeros(2)}, str(tmp_path / "step-00000001.safetensors"))
    (tmp_path / "step-00000002.safetensors").write_bytes(b"not a checkpoint")
    state, notes = load_latest_checkpoint(tmp_path)
    assert state is None
    assert notes == [
        "step-00000002.safetensors: SafetensorError",
        "step-00000001.safetensors: KeyError",
    ]
