"""`memo train` under torchrun: two CPU processes train data-parallel (gloo) into one artifact."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_two_processes_share_the_steps(tiny_llama_dir: Path, tmp_path: Path) -> None:
    rows = [
        {"question": f"What is fact {i}?", "answer": f"Fact {i} is {i} pears."} for i in range(16)
    ]
    data = tmp_path / "qa.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = [
        "train",
        str(data),
        "--base",
        f"local:{tiny_llama_dir}",
        "--epochs",
        "2",
        "--batch-size",
        "2",
        "--checkpoint-every",
        "3",
    ]
    single = subprocess.run(
        [sys.executable, "-m", "memo_training.cli", *args, "--out", str(tmp_path / "one")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert single.returncode == 0, single.stdout + single.stderr
    parallel = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_port",
            "29533",
            "-m",
            "memo_training.cli",
            *args,
            "--out",
            str(tmp_path / "two"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert parallel.returncode == 0, parallel.stdout[-3000:] + parallel.stderr[-3000:]
    assert parallel.stdout.count("wrote ") == 1, "only the main process reports"
    one = json.loads((tmp_path / "one" / "memo.json").read_text())["metrics"]
    two = json.loads((tmp_path / "two" / "memo.json").read_text())["metrics"]
    assert one["steps"] == 16 and two["steps"] == 8, "each step takes one batch per process"
    assert not (tmp_path / ".two.work").exists()
