"""The resume check every model family passes: a training run killed mid-way (SIGKILL), its
newest checkpoint then cut short, resumes from the last whole checkpoint and ends with the
weights of a run that was never interrupted."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from memo_training.config import TrainConfig
from memo_training.trainer import train_memory

SETTINGS = {"epochs": 60, "batch_size": 2, "max_length": 96, "checkpoint_every": 5, "seed": 3}


def _dataset(tmp_path: Path) -> Path:
    rows = [
        {"question": f"What is fact {i}?", "answer": f"Fact {i} is {i * 7} apples."}
        for i in range(8)
    ]
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _cli(dataset: Path, out: Path, base: Path) -> list[str]:
    args = [
        sys.executable,
        "-m",
        "memo_training.cli",
        "train",
        str(dataset),
        "--out",
        str(out),
        "--base",
        f"local:{base}",
    ]
    for key, value in SETTINGS.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    return args


def check_a_killed_run_resumes_to_the_same_weights(base_dir: Path, tmp_path: Path) -> None:
    dataset = _dataset(tmp_path)
    reference = tmp_path / "reference"
    train_memory(
        dataset,
        reference,
        base=f"local:{base_dir}",
        config=TrainConfig(**SETTINGS),
        progress=False,
    )

    out = tmp_path / "resumed"
    checkpoints = tmp_path / ".resumed.work" / "checkpoints"
    process = subprocess.Popen(
        _cli(dataset, out, base_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 240
    while not any(
        p.name >= "step-00000015.safetensors" for p in checkpoints.glob("step-*.safetensors")
    ):
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not out.exists(), "a killed run leaves no artifact"

    # A checkpoint cut short by the crash is skipped, not trusted.
    newest = sorted(checkpoints.glob("step-*.safetensors"))[-1]
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 3])

    done = subprocess.run(_cli(dataset, out, base_dir), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resumed from step" in done.stdout
    assert "skipped an unreadable checkpoint" in done.stdout

    ours = load_file(out / "adapter_model.safetensors")
    theirs = load_file(reference / "adapter_model.safetensors")
    assert ours.keys() == theirs.keys()
    for name in ours:
        torch.testing.assert_close(ours[name], theirs[name], rtol=1e-5, atol=1e-6)
    manifest = json.loads((out / "memo.json").read_text())
    assert (
        manifest["metrics"]["steps"]
        == json.loads((reference / "memo.json").read_text())["metrics"]["steps"]
    ), "no step logged twice"
