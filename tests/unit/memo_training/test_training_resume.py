"""A training run killed at any moment resumes from its last checkpoint and ends with the same
weights as a run that was never interrupted."""

from __future__ import annotations

from pathlib import Path

from tests.training_resume import check_a_killed_run_resumes_to_the_same_weights


def test_killed_run_resumes_to_the_same_weights(tiny_llama_dir: Path, tmp_path: Path) -> None:
    check_a_killed_run_resumes_to_the_same_weights(tiny_llama_dir, tmp_path)
