"""Merging memory artifacts: the delta math against peft itself, methods, outputs, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from memo_graph import LocalChatModel
from memo_training.artifact import ArtifactError, load_artifact
from memo_training.config import TrainConfig
from memo_training.merge import merge_memories
from memo_training.trainer import train_memory

CONFIG = TrainConfig(epochs=1, batch_size=2, max_length=96, learning_rate=5e-3)


def _train(base: Path, tmp: Path, name: str, facts: list[tuple[str, str]]) -> Path:
    data = tmp / f"{name}.jsonl"
    data.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in facts))
    train_memory(data, tmp / name, base=f"local:{base}", config=CONFIG, progress=False)
    return tmp / name


@pytest.fixture(scope="module")
def memories(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("memories")
    a = _train(tiny_llama_dir, tmp, "a", [(f"Who is A{i}?", f"A{i} is a baker.") for i in range(6)])
    b = _train(
        tiny_llama_dir, tmp, "b", [(f"Where is B{i}?", f"B{i} is in Ost.") for i in range(6)]
    )
    return a, b


def _peft_merged(base: Path, adapter: Path) -> dict[str, torch.Tensor]:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), str(adapter))
    return model.merge_and_unload().state_dict()


def test_one_memory_merged_alone_is_base_plus_its_lora_delta(
    memories: tuple[Path, Path], tiny_llama_dir: Path, tmp_path: Path
) -> None:
    out = merge_memories([memories[0]], tmp_path / "solo", method="task_arithmetic")
    ours = load_file(out.path / "model.safetensors")
    reference = _peft_merged(tiny_llama_dir, memories[0])
    for key, tensor in ours.items():
        torch.testing.assert_close(tensor, reference[key], rtol=1e-4, atol=1e-5)


def test_ties_merge_writes_a_servable_artifact(memories: tuple[Path, Path], tmp_path: Path) -> None:
    out = merge_memories(list(memories), tmp_path / "ties", method="ties", density=0.3)
    manifest = load_artifact(out.path).manifest
    assert manifest["merge"]["method"] == "ties" and manifest["merge"]["density"] == 0.3
    assert [Path(p["path"]).name for p in manifest["parents"]] == ["a", "b"]
    assert manifest["base"] == load_artifact(memories[0]).manifest["base"]
    reply = LocalChatModel(model=str(out.path), max_tokens=4).invoke("Who is A1?")
    assert isinstance(reply.content, str)


def test_linear_merge_of_a_memory_with_itself_is_that_memory(
    memories: tuple[Path, Path], tmp_path: Path
) -> None:
    same = merge_memories([memories[0]] * 2, tmp_path / "twice", method="linear", weights=[3, 1])
    alone = merge_memories([memories[0]], tmp_path / "once", method="task_arithmetic")
    ours, theirs = (
        load_file(same.path / "model.safetensors"),
        load_file(alone.path / "model.safetensors"),
    )
    for key in ours:
        torch.testing.assert_close(ours[key], theirs[key], rtol=1e-4, atol=1e-5)


def test_ties_keeps_the_top_share_by_magnitude(
    memories: tuple[Path, Path], tmp_path: Path, tiny_llama_dir: Path
) -> None:
    merged = load_file(
        merge_memories([memories[0]], tmp_path / "t", method="ties", density=0.3).path
        / "model.safetensors"
    )
    base = load_file(tiny_llama_dir / "model.safetensors")
    key = "model.layers.0.self_attn.q_proj.weight"
    changed = (merged[key] != base[key]).float().mean().item()
    assert 0.25 <= changed <= 0.31


def test_lora_output_by_svd(
    memories: tuple[Path, Path], tmp_path: Path, tiny_llama_dir: Path
) -> None:
    exact = merge_memories(list(memories), tmp_path / "full", method="task_arithmetic")
    low_rank = merge_memories(
        list(memories), tmp_path / "lora", method="task_arithmetic", output="lora", rank=16
    )
    assert low_rank.kind == "lora"
    # Two rank-8 deltas sum to rank <= 16: the SVD re-factoring at rank 16 is exact.
    assert low_rank.manifest["metrics"]["svd_relative_error_mean"] < 1e-4
    reference = load_file(exact.path / "model.safetensors")
    rebuilt = _peft_merged(tiny_llama_dir, low_rank.path)
    for key, tensor in reference.items():
        torch.testing.assert_close(rebuilt[key], tensor, rtol=1e-3, atol=1e-4)


def test_refusals(memories: tuple[Path, Path], tmp_path: Path, tiny_family_dir: Path) -> None:
    if tiny_family_dir.name.startswith("tiny-llama"):
        pytest.skip("needs a memory of another base")
    other = _train(tiny_family_dir, tmp_path, "other", [("Who?", "Someone.")] * 2)
    with pytest.raises(ArtifactError, match="only memories of the same base merge"):
        merge_memories([memories[0], other], tmp_path / "x")
    with pytest.raises(ArtifactError, match="no memory artifact"):
        merge_memories([tmp_path / "missing"], tmp_path / "y")
    with pytest.raises(ValueError, match="method must be"):
        merge_memories(list(memories), tmp_path / "z", method="average")  # type: ignore[arg-type]


def test_cli_merge_and_serve(memories: tuple[Path, Path], tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "cli-merged"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "memo_training.cli",
            "merge",
            str(memories[0]),
            str(memories[1]),
            "--out",
            str(out),
            "--method",
            "ties",
            "--density",
            "0.3",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert load_artifact(out).manifest["merge"]["method"] == "ties"

    served = subprocess.run(
        [sys.executable, "-m", "memo_training.cli", "serve", str(memories[0]), "--print-only"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert served.returncode == 0, served.stderr
    assert "--enable-lora --lora-modules memo=" in served.stdout
    assert "--max-lora-rank 8" in served.stdout
    assert "openai-compatible:memo@http://127.0.0.1:8000/v1" in served.stdout
    full = subprocess.run(
        [sys.executable, "-m", "memo_training.cli", "serve", str(out), "--print-only"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert f"vllm serve {out.resolve()} " in full.stdout
