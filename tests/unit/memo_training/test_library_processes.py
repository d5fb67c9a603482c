"""A library across processes: an add killed with SIGKILL in the middle of training (no handler
runs, no lock is released by us) finishes when run again without retraining its finished shard,
and two libraries on one base share one copy of the base when served in one process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

from memo_graph import MemoryTool
from memo_training import library
from tests.paths import REPO
from tests.unit.memo_training.test_library import (
    DOCUMENTS,
    SETTINGS,
    manifest_time,
    shard_artifacts,
    write_corpus,
    write_pairs,
)

# Adds the corpus, saying on stdout which shard it starts training.
ADD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from memo_training import library, trainer

    real = trainer.train_memory

    def announced(dataset, out, **options):
        print("training", Path(out).parent.name, flush=True)
        return real(dataset, out, **options)

    trainer.train_memory = announced
    library.add(sys.argv[1], sys.argv[2], pairs=sys.argv[3])
    print("done", flush=True)
    """
)


def test_an_add_killed_mid_training_finishes_when_run_again(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    slow = replace(SETTINGS.training, epochs=8)  # still training when the kill lands
    library.init(
        lib, base=f"local:{tiny_llama_dir}", settings=replace(SETTINGS, shard_size=1, training=slow)
    )
    corpus = write_corpus(tmp_path / "c.json", list(DOCUMENTS))
    pairs = write_pairs(tmp_path / "p.jsonl")
    process = subprocess.Popen(
        [sys.executable, "-c", ADD, str(lib), str(corpus), str(pairs)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip() == "training shard-0002":
                break
        else:
            raise AssertionError("the add ended before training its second shard")
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    killed = library.show(lib)
    assert not killed.published and killed.current is None
    first = shard_artifacts(lib)["shard-0001"]
    assert first is not None and shard_artifacts(lib)["shard-0002"] is None
    first_at = manifest_time(first)

    report = library.add(lib, corpus, pairs=pairs)  # the same command, run again
    assert report.kept == ["shard-0001"] and report.trained == ["shard-0002", "shard-0003"]
    assert manifest_time(first) == first_at
    view = library.show(lib)
    assert view.published and view.current is not None


def test_two_libraries_on_one_base_share_one_engine(tiny_llama_dir: Path, tmp_path: Path) -> None:
    settings = replace(SETTINGS, merge_output="lora", merge_rank=4)
    pairs = write_pairs(tmp_path / "p.jsonl")
    tools, memories = [], []
    for name, titles in (("one", ["Ada Vell"]), ("two", ["Orlen", "Brask"])):
        lib = library.init(tmp_path / name, base=f"local:{tiny_llama_dir}", settings=settings)
        library.add(lib, write_corpus(tmp_path / f"{name}.json", titles), pairs=pairs)
        tools.append(MemoryTool.from_library(lib, max_tokens=2))
        memories.append(library.current_memory(lib))
    for tool in tools:
        tool.invoke({"questions": ["What is Orlen?"]})
    one, two = (tool.backend.model.engine for tool in tools)  # type: ignore[attr-defined]
    assert one is two  # one copy of the base weights
    assert set(memories) <= set(one._adapters)  # each library's memory, an adapter on it
