"""``train_memory`` from async code, in a process of its own.

Not in a thread: every live thread that has run torch's parallel loops keeps an OpenMP thread
pool, and once a process holds more pooled threads than cores, OpenMP's workers sleep between
loops instead of spinning. An evaluation that has loaded models and answered questions on
other threads trained at ~0.7x the speed of a process that only trains (the demo's reference
MEMORY, 2 cores: 268 against 400 tokens/s). A child process starts with one pool.

The child gets its job as JSON and writes its outcome as JSON; the artifact is read back from
disk. Cancelling the awaiting task ends the child; the same call later resumes its checkpoints.

    python -m memo_training.async_training JOB.json OUTCOME.json   (what the parent runs)
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from memo_graph.errors import MemoError, ModelLoadError
from memo_graph.files import OutputPathError
from memo_training.artifact import ArtifactError, load_artifact
from memo_training.checkpoint import CheckpointError
from memo_training.config import TrainConfig
from memo_training.data import DatasetError
from memo_training.encoding import ChatTemplateError
from memo_training.trainer import TrainResult, train_memory

# Errors the child reports by name and the parent raises again as themselves.
_KNOWN_ERRORS: dict[str, type[Exception]] = {
    error.__name__: error
    for error in (
        ArtifactError,
        ChatTemplateError,
        CheckpointError,
        DatasetError,
        ModelLoadError,
        OutputPathError,
        ValueError,
    )
}


async def atrain_memory(
    dataset: str | Path,
    out: str | Path,
    base: str = "local",
    config: TrainConfig | None = None,
    progress: bool = True,
    retrain: bool = False,
) -> TrainResult:
    """What ``train_memory`` returns or raises, trained in a child process (see the module's
    docstring for why). Its progress bar goes to this process's terminal."""
    with tempfile.TemporaryDirectory(prefix="memo-train-") as tmp:
        job, outcome = Path(tmp) / "job.json", Path(tmp) / "outcome.json"
        arguments = {"dataset": str(dataset), "out": str(out), "base": base, "progress": progress,
                     "retrain": retrain, "config": (config or TrainConfig()).to_dict()}  # fmt: skip
        job.write_text(json.dumps(arguments))
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "memo_training.async_training", str(job), str(outcome)
        )
        try:
            code = await child.wait()
        except asyncio.CancelledError:
            child.terminate()
            await child.wait()
            raise
        if not outcome.is_file():
            raise MemoError(f"training ended without a result (exit code {code}); see above.")
        result = json.loads(outcome.read_text())
    if "error" in result:
        error = result["error"]
        raise _KNOWN_ERRORS.get(error["type"], MemoError)(error["message"])
    return TrainResult(artifact=load_artifact(Path(out).expanduser().resolve()), **result)


def _run(job: dict[str, Any]) -> dict[str, Any]:
    """``train_memory``'s result, all but the artifact (read back from disk), or its error."""
    try:
        result = train_memory(**{**job, "config": TrainConfig(**job["config"])})
    except Exception as exc:  # reported to the parent, which raises it again
        name = type(exc).__name__
        message = str(exc) if name in _KNOWN_ERRORS else f"{name}: {exc}"
        return {"error": {"type": name, "message": message}}
    fields = (f.name for f in dataclasses.fields(result) if f.name != "artifact")
    return {name: getattr(result, name) for name in fields}


def main() -> None:
    job, outcome = Path(sys.argv[1]), Path(sys.argv[2])
    outcome.write_text(json.dumps(_run(json.loads(job.read_text()))))


if __name__ == "__main__":
    main()
