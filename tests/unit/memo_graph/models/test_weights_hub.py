"""Hugging Face Hub ids as model names (`hf:ORG/NAME`, or a bare `ORG/NAME` that is no path):
loaded from the Hub cache like `from_pretrained` does, and a clear error when offline."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from memo_graph.models.weights import hub_id, local_source

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def memo(*arguments: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "evals.cli", *arguments],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_hub_ids_are_told_from_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert hub_id("hf:Qwen/Qwen2.5-1.5B-Instruct") == "Qwen/Qwen2.5-1.5B-Instruct"
    assert hub_id("Qwen/Qwen2.5-1.5B-Instruct") == "Qwen/Qwen2.5-1.5B-Instruct"
    (tmp_path / "org").mkdir()
    (tmp_path / "org" / "model").mkdir()
    monkeypatch.chdir(tmp_path)
    assert hub_id("org/model") is None  # a directory here wins over the Hub
    assert hub_id("./org/model") is None and hub_id("/abs/path") is None
    assert hub_id("a/b/c") is None
    assert local_source("local") is None and local_source("local:hf:a/b") == "hf:a/b"


def test_an_id_missing_offline_names_the_id_and_hf_hub_offline(tmp_path: Path) -> None:
    qa = tmp_path / "qa.jsonl"
    qa.write_text('{"question": "Who?", "answer": "Nobody."}\n')
    result = memo(
        "train", str(qa), "--out", str(tmp_path / "m"), "--base", "Qwen/Qwen2.5-1.5B-Instruct",
        cache=tmp_path / "hub",
    )  # fmt: skip
    said = " ".join(result.stdout.split())
    assert result.returncode == 2, result.stdout + result.stderr
    assert "'Qwen/Qwen2.5-1.5B-Instruct'" in said and "HF_HUB_OFFLINE" in said
    assert "Traceback" not in result.stderr


def test_a_cached_hub_model_loads_offline(tmp_path: Path, tiny_llama_dir: Path) -> None:
    cache = tmp_path / "hub"
    repo = cache / "models--tiny-org--tiny-llama"
    shutil.copytree(tiny_llama_dir, repo / "snapshots" / COMMIT)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    result = memo(
        "chat", "Hello", "--model", "hf:tiny-org/tiny-llama", "--max-tokens", "3", cache=cache
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hf:tiny-org/tiny-llama" in result.stdout


@pytest.mark.parametrize("spec", ["hf:tiny-org/tiny-llama", "tiny-org/tiny-llama"])
def test_training_on_a_hub_base_records_its_id(
    tmp_path: Path, tiny_llama_dir: Path, spec: str
) -> None:
    cache = tmp_path / "hub"
    repo = cache / "models--tiny-org--tiny-llama"
    shutil.copytree(tiny_llama_dir, repo / "snapshots" / COMMIT)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    qa = tmp_path / "qa.jsonl"
    qa.write_text('{"question": "Who founded Orlenby?", "answer": "Mira Talvesk."}\n' * 4)
    out = tmp_path / "memory"
    result = memo(
        "train", str(qa), "--out", str(out), "--base", spec, "--epochs", "1", "--max-length", "64",
        cache=cache,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"spec": "hf:tiny-org/tiny-llama"' in (out / "memo.json").read_text()
