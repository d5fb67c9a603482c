"""Two MEMORY families on real weights, trained alike and asked the 20 gold questions alone.

SmolLM2-135M-Instruct (llama; ``local``) and Gemma 3 270M (gemma3, a base model;
``local:gemma3-270m``) are each trained on the invented corpus's reference pairs with the
accuracy benchmark's recipe (the demo's LoRA settings), then asked the gold questions with no
EXECUTIVE; with each base's training tokens/s and what its vocabulary costs a training step
(the LM head run on answer positions only, as the trainer does, against every position).

    python -m evals.bench.families [--epochs 6] [--pairs N] [--questions N] [--work DIR]
                                   [--skip-smollm2] [--skip-gemma3] [--skip-head-cost]

Every run's artifacts and answers live under ``--work`` in a directory named by its settings,
so a rerun reuses a finished MEMORY and finished answers. Needs the ``gemma3`` extra."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from evals.bench.accuracy import REFERENCE
from evals.bench.common import print_result
from evals.demo import DemoSettings
from evals.pipeline import evaluate
from evals.scoring import summarise
from memo_training.artifact import MANIFEST, load_artifact

BASES = {"smollm2": "local", "gemma3": "local:gemma3-270m"}
"""Label in the RESULT line -> the MEMORY's base spec."""
_HEAD_COST_REPEATS = 5


def _pairs_file(work: Path, count: int | None) -> Path:
    """The reference pairs, or their first ``count`` (a cheap smoke run)."""
    if count is None:
        return REFERENCE
    subset = work / f"reference-first-{count}.jsonl"
    if not subset.is_file():
        lines = REFERENCE.read_text().splitlines(keepends=True)[:count]
        subset.parent.mkdir(parents=True, exist_ok=True)
        subset.write_text("".join(lines))
    return subset


def _settings(work: Path, label: str, pairs: Path, args: argparse.Namespace) -> DemoSettings:
    """The accuracy benchmark's reference half (a demo run on given pairs) for one base, in a
    directory named by what decides its MEMORY, so that a rerun finds it."""
    epochs = args.epochs or DemoSettings.epochs
    out = work / f"{label}-pairs{args.pairs or 'all'}-epochs{epochs}"
    return DemoSettings(
        out=out, base=BASES[label], pairs=pairs, questions=args.questions, epochs=epochs
    )


async def _memory_alone(settings: DemoSettings) -> list[dict[str, Any]]:
    """Train (or reuse) the MEMORY and ask it every question, with no EXECUTIVE."""
    evaluation = dataclasses.replace(settings.evaluation(), systems=["memory"])
    result, _ = await evaluate(evaluation, progress=print)
    return [row for row in result.rows if row["system"] == "memory"]


def _training_speed(out: Path) -> dict[str, float]:
    """Tokens/s and examples/s of the MEMORY trained under ``out``, from its manifest."""
    artifact = load_artifact(next(out.rglob(MANIFEST)).parent)
    metrics = artifact.manifest["metrics"]
    seconds = metrics["tokens_trained"] / metrics["tokens_per_s"]
    examples = (
        artifact.manifest["dataset"]["pairs"] * artifact.manifest["hyperparameters"]["epochs"]
    )
    return {
        "tok_s": round(metrics["tokens_per_s"], 1),
        "examples_s": round(examples / seconds, 2),
        "train_s": round(seconds, 1),
    }


def head_cost(settings: DemoSettings) -> dict[str, float]:
    """What the vocabulary costs one training step of the settings' base (LoRA as trained, a
    batch of the first pairs): the embedding's share of the parameters, the logits tensor and
    the step time with the LM head on answer positions only (the trainer) and on every one."""
    import torch

    from memo_graph.models.loading import load_tokenizer
    from memo_training.batching import collate
    from memo_training.data import load_qa_dataset
    from memo_training.encoding import IGNORE_INDEX, AnswerOnlyEncoder
    from memo_training.trainer import AnswerOnlyLM, _load_model, normalise_base_spec

    config = settings.evaluation().memo.training
    assert settings.pairs is not None
    _, weights = normalise_base_spec(settings.base)
    tokenizer = load_tokenizer(weights.base_dir)
    examples = AnswerOnlyEncoder(tokenizer, config.max_length).encode_all(
        load_qa_dataset(settings.pairs).pairs[: config.batch_size]
    )
    batch = collate(examples, int(tokenizer.pad_token_id))
    model = _load_model(weights, config, torch.device("cpu"), examples)  # as the trainer does
    causal_lm = model.get_base_model()
    vocabulary, hidden = causal_lm.get_output_embeddings().weight.shape
    adapter, everything = model.get_nb_trainable_parameters()
    total = everything - adapter  # the base model's own parameters

    def answer_head() -> Any:
        return AnswerOnlyLM(model)(**batch)[0]

    def full_head() -> Any:  # transformers' own loss: logits at every position
        return model(**batch).loss

    def step_seconds(loss_of: Any) -> float:
        """Median of timed steps after a warm-up: other work on shared cores makes a few
        steps several times slower."""
        timings = []
        for _ in range(_HEAD_COST_REPEATS + 1):
            model.zero_grad(set_to_none=True)
            started = time.perf_counter()
            loss_of().backward()
            timings.append(time.perf_counter() - started)
        return statistics.median(timings[1:])

    # Without dropout both heads must give the same loss: the timings compare one computation.
    model.eval()
    with torch.no_grad():
        difference = abs(float(answer_head()) - float(full_head()))
    model.train()
    labelled = int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
    return {
        "vocab": vocabulary,
        "params_m": round(total / 1e6, 1),
        "embedding_share": round(vocabulary * hidden / total, 3),
        "batch_positions": batch["input_ids"].numel(),
        "labelled": labelled,
        "loss_difference": round(difference, 6),
        "logits_mb_full": round(batch["input_ids"].numel() * vocabulary * 4 / 2**20, 1),
        "logits_mb_answer": round(labelled * vocabulary * 4 / 2**20, 1),
        "step_s_answer_head": round(step_seconds(answer_head), 3),
        "step_s_full_head": round(step_seconds(full_head), 3),
    }


def _run_base(label: str, work: Path, pairs: Path, args: argparse.Namespace) -> dict[str, Any]:
    settings = _settings(work, label, pairs, args)
    rows = asyncio.run(_memory_alone(settings))
    scores = summarise(rows)
    speed = _training_speed(settings.out)
    print(
        f"{label}: MEMORY alone F1 {scores['f1']:.3f} contained {scores['contained']:.3f} over "
        f"{len(rows)} questions; training {speed['tok_s']} tokens/s, {speed['examples_s']} "
        f"examples/s, {speed['train_s']} s"
    )
    found = {
        f"{label}_f1": scores["f1"],
        f"{label}_contain": scores["contained"],
        f"{label}_tok_s": speed["tok_s"],
        f"{label}_examples_s": speed["examples_s"],
    }
    if not args.skip_head_cost:
        cost = head_cost(settings)
        print(f"{label} vocabulary cost: " + " ".join(f"{k}={v}" for k, v in cost.items()))
        found[f"{label}_embedding_share"] = cost["embedding_share"]
        found[f"{label}_step_s_answer_head"] = cost["step_s_answer_head"]
        found[f"{label}_step_s_full_head"] = cost["step_s_full_head"]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="Default: the demo's.")
    parser.add_argument("--pairs", type=int, default=None, help="First N reference pairs.")
    parser.add_argument("--questions", type=int, default=None, help="First N of the 20.")
    parser.add_argument("--work", type=Path, default=None, help="Reuse this directory.")
    parser.add_argument("--skip-smollm2", action="store_true")
    parser.add_argument("--skip-gemma3", action="store_true")
    parser.add_argument("--skip-head-cost", action="store_true", help="No vocabulary cost.")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="memo-families-"))
    pairs = _pairs_file(work, args.pairs)
    skipped = {"smollm2": args.skip_smollm2, "gemma3": args.skip_gemma3}
    started = time.perf_counter()
    found: dict[str, Any] = {}
    for label in BASES:
        if skipped[label]:
            found.update({f"{label}_{k}": "skipped" for k in ("f1", "contain", "tok_s")})
        else:
            found.update(_run_base(label, work, pairs, args))
    keys = [f"{label}_{k}" for label in BASES for k in ("f1", "contain")]
    keys += [f"{label}_tok_s" for label in BASES]
    result = {key: found[key] for key in keys}
    result.update({k: v for k, v in found.items() if k not in result})
    result.update(
        pairs=args.pairs or "all",
        epochs=args.epochs or DemoSettings.epochs,
        seconds=round(time.perf_counter() - started),
    )
    print_result("families", result)


if __name__ == "__main__":
    main()
