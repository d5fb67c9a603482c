"""A full or read-only disk ends a command with one line naming the path, exit code 2, and
nothing half-written left behind. The disks are real: small tmpfs mounts (root only)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evals.cli import app
from memo_graph.files import OutputWriteError
from memo_graph.synthesis import build_synthesis
from tests.paths import REPO
from tests.synthesis_run import CONTEXT, scripted_generator

PAIRS = [
    {"question": f"Who founded town {n}?", "answer": f"Founder {n} founded town {n}."}
    for n in range(8)
]


def _mount(folder: Path, size: str) -> None:
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "disk"
    _mount(folder, "256k")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_training_onto_a_full_disk_is_one_line_and_leaves_nothing_partial(
    small_disk: Path, tmp_path: Path, tiny_llama_dir: Path
) -> None:
    pairs = tmp_path / "qa.jsonl"
    pairs.write_text("".join(json.dumps(row) + "\n" for row in PAIRS))
    out = small_disk / "memory"
    result = CliRunner().invoke(
        app,
        ["train", str(pairs), "--out", str(out), "--full", "--base", f"local:{tiny_llama_dir}",
         "--epochs", "1", "--batch-size", "4", "--max-length", "64"],
    )  # fmt: skip
    said = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "no space is left on the disk" in said and str(out) in said
    assert not out.exists()
    leftovers = [p.name for p in small_disk.rglob("*") if p.is_file()]
    assert not [name for name in leftovers if name.endswith(".partial")], leftovers
    assert not [p for p in small_disk.iterdir() if p.name.startswith(".memory.") and
                not p.name.endswith(".work")]  # fmt: skip


def test_an_output_made_read_only_between_runs_is_one_named_error(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "curie.txt").write_text("Marie Curie was born in Warsaw in 1867.")
    disk = tmp_path / "disk"
    _mount(disk, "4m")
    out = disk / "out"
    try:
        # A first run in a process of its own (its files closed when it ends), then read-only.
        subprocess.run(
            [sys.executable, "-m", "tests.synthesis_run", str(corpus), str(out), "0"],
            check=True, capture_output=True, cwd=REPO,
        )  # fmt: skip
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        before = sorted(p.name for p in out.iterdir())
        graph = build_synthesis(scripted_generator()).compile()
        hotter = replace(CONTEXT, temperature=CONTEXT.temperature + 0.1)  # new calls to cache
        with pytest.raises(OutputWriteError, match="read-only") as raised:
            asyncio.run(graph.ainvoke({"source": str(corpus), "out": str(out)}, context=hotter))
        assert sorted(p.name for p in out.iterdir()) == before
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
    assert str(out) in str(raised.value)
    assert "run the same command again" in str(raised.value)


def test_a_file_that_cannot_be_read_is_one_line_naming_it_not_a_write_failure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import typer

    from memo_graph.cli_support import errors_as_one_line

    with pytest.raises(typer.Exit) as ended, errors_as_one_line():
        raise PermissionError(13, "Permission denied", "/data/pairs.jsonl")
    said = " ".join(capsys.readouterr().out.split())
    assert ended.value.exit_code == 2
    assert "/data/pairs.jsonl: Permission denied" in said and "cannot write" not in said
