"""SFT of a MEMORY model on a reflection-QA dataset: answer-only loss, LoRA or full weights,
checkpoints a killed run resumes from, and a memory artifact at the end."""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from memo_graph.files import writing_to
from memo_graph.models.loading import load_causal_lm, load_tokenizer
from memo_graph.models.notices import peft_notices_silenced
from memo_graph.models.packaged import packaged_model
from memo_graph.models.precision import cpu_multiplies_bf16
from memo_graph.models.weights import (
    HUB_PREFIX,
    ResolvedWeights,
    hub_id,
    local_source,
    resolve_weights,
)
from memo_training.artifact import (
    Artifact,
    ArtifactError,
    check_destination,
    is_complete,
    load_artifact,
    weights_checksum,
    write_artifact,
)
from memo_training.batching import collate, plan_batches
from memo_training.checkpoint import load_latest_checkpoint, restore, save_checkpoint
from memo_training.config import TrainConfig
from memo_training.data import DatasetError, QADataset, load_qa_dataset
from memo_training.encoding import AnswerOnlyEncoder, Example
from memo_training.loss import answer_only_loss


@dataclass
class TrainResult:
    artifact: Artifact
    already_done: bool = False
    resumed_at_step: int | None = None
    skipped_checkpoints: list[str] = field(default_factory=list)
    report: dict[str, int] = field(default_factory=dict)
    """Rows skipped, questions shortened, answers too long: counts by reason."""
    skipped_rows: list[str] = field(default_factory=list)
    """Each dataset row left out, with its number and reason."""


def normalise_base_spec(base: str) -> tuple[str, ResolvedWeights]:
    """The base as stored in manifests ("local" or "local:/abs/path") and its weights."""
    path = local_source(base)
    weights = resolve_weights(path)
    if weights.adapter_dir is not None:
        raise ArtifactError(
            f"{base} is a LoRA memory, not a base model. Train each corpus from the true base "
            "and combine memories with `memo merge`."
        )
    repo_id = hub_id(path) if path is not None else None
    if path is None:
        spec = "local"
    elif packaged_model(path) is not None:  # a name, valid on any machine with the package
        spec = f"local:{path}"
    elif repo_id is not None:  # its name travels, not this machine's cache path
        spec = f"{HUB_PREFIX}{repo_id}"
    else:
        spec = f"local:{Path(path).expanduser().resolve()}"
    return spec, weights


def resolved_precision(choice: str) -> str:
    """``bf16`` or ``fp32``: what ``TrainConfig.precision`` means on this machine."""
    if choice != "auto":
        return choice
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    # AMX: 1.45x a full-weight step of SmolLM2-135M on 2 cores, 1.5x a LoRA one.
    return "bf16" if cpu_multiplies_bf16() else "fp32"


def _accelerator(precision: str) -> Any:
    """One process, or one per GPU under ``accelerate launch``, in ``precision``."""
    from accelerate import Accelerator, DistributedType
    from accelerate.state import AcceleratorState

    gpu = torch.cuda.is_available()
    # cpu=True on a GPU-less machine: processes started by torchrun then train data-parallel
    # over gloo instead of each running alone.
    mixed = "bf16" if precision == "bf16" else "no"
    if AcceleratorState._shared_state.get("_mixed_precision", mixed) != mixed:
        # Accelerate keeps one precision per process, and one process may train several
        # memories in different ones (a notebook, a test run): the next training sets it anew.
        AcceleratorState._reset_state()
    accelerator = Accelerator(mixed_precision=mixed, cpu=not gpu)
    if accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED):
        raise ArtifactError(
            "memo train supports data-parallel training (accelerate launch --multi_gpu); FSDP "
            "and DeepSpeed are not supported yet. Use a plain multi-GPU accelerate config."
        )
    return accelerator


class AnswerOnlyLM(torch.nn.Module):
    """The causal LM with the answer-only loss as its forward, so that a data-parallel wrapper
    sees (and synchronises) the computation the loss really runs."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        loss, labelled = answer_only_loss(self.model, input_ids, attention_mask, labels)
        return loss, torch.tensor(labelled, device=loss.device)


# On a CPU, PyTorch's fused attention costs more than it saves on short examples (a LoRA step
# of SmolLM2-135M, batch 8 of 58 tokens, 2 cores: 1.01 s fused against 0.85 s plain), while
# plain attention keeps a batch x heads x length^2 matrix per layer for the backward pass.
_PLAIN_ATTENTION_MAX_TOKENS = 256


def attention_kernel(device: torch.device, longest_example: int) -> str:
    """The attention implementation training runs: plain (``eager``) for short examples on a
    CPU, PyTorch's fused kernel (``sdpa``) otherwise."""
    short = longest_example <= _PLAIN_ATTENTION_MAX_TOKENS
    return "eager" if device.type == "cpu" and short else "sdpa"


def _load_model(
    weights: ResolvedWeights, config: TrainConfig, device: torch.device, examples: list[Example]
) -> Any:
    """The base model as trained on ``examples`` (their length chooses the attention kernel),
    with LoRA adapters if ``config`` asks for them."""
    from peft import get_peft_model

    model: Any = load_causal_lm(
        weights.base_dir,
        dtype=torch.float32,
        attn_implementation=attention_kernel(device, max(len(e.input_ids) for e in examples)),
    )
    model = model.to(device)
    model.config.use_cache = False
    if config.method == "lora":
        with peft_notices_silenced():
            model = get_peft_model(model, config.lora_config())
    model.train()
    return model


class _Run:
    """One training run's working directory: settings, checkpoints and metrics."""

    def __init__(self, out: Path, identity: dict[str, Any]) -> None:
        self.root = out.parent / f".{out.name}.work"
        self.checkpoints = self.root / "checkpoints"
        self.metrics = self.root / "metrics.jsonl"
        self.identity = identity

    def claim(self) -> None:
        run_file = self.root / "run.json"
        if run_file.is_file():
            existing = json.loads(run_file.read_text())
            if existing != self.identity:
                raise ArtifactError(
                    f"{self.root} holds an unfinished run with other data or settings; delete "
                    "it to start over, or run the same command as before to resume it."
                )
            return
        self.root.mkdir(parents=True, exist_ok=True)
        run_file.write_text(json.dumps(self.identity, indent=2))

    def trim_metrics(self, step: int) -> None:
        """Forget metrics logged after the checkpoint a run resumes from."""
        if not self.metrics.is_file():
            return
        kept = [
            line
            for line in self.metrics.read_text().splitlines()
            if line and json.loads(line)["step"] <= step
        ]
        self.metrics.write_text("".join(f"{line}\n" for line in kept))

    def log(self, record: dict[str, Any]) -> None:
        with self.metrics.open("a") as handle:
            handle.write(json.dumps(record) + "\n")


def _differences(
    manifest: dict[str, Any], fingerprint: str, base_spec: str, config: TrainConfig
) -> list[str]:
    """What a finished artifact was trained with that differs from this request, in words."""
    found = []
    if manifest.get("dataset", {}).get("fingerprint") != fingerprint:
        found.append("another dataset")
    if manifest.get("base", {}).get("spec") != base_spec:
        found.append(f"base {manifest.get('base', {}).get('spec')} instead of {base_spec}")
    # A setting newer than the artifact counts as its default.
    trained = {**TrainConfig().to_dict(), **manifest.get("hyperparameters", {})}
    for name, value in json.loads(json.dumps(config.to_dict())).items():
        if trained.get(name) != value:
            found.append(f"{name} {trained.get(name)!r} instead of {value!r}")
    return found


_WRITES = "the memory and its training checkpoints"
"""What a training run writes, for the error a full or read-only disk gives."""

_SCHEDULES = {"constant": "constant_with_warmup", "linear": "linear", "cosine": "cosine"}
"""transformers' name of each ``TrainConfig.lr_schedule``: all warm up linearly first."""


def learning_rate_scheduler(
    optimizer: Any, schedule: str, warmup_steps: int, total_steps: int
) -> Any:
    """Linear warmup over ``warmup_steps``, then the rate held or decayed to zero at
    ``total_steps`` (transformers' schedulers, as its Trainer uses them)."""
    from transformers import get_scheduler

    return get_scheduler(
        _SCHEDULES[schedule],
        optimizer,
        num_warmup_steps=warmup_steps,
        num_training_steps=total_steps,
    )


def train_memory(
    dataset: str | Path,
    out: str | Path,
    base: str = "local",
    config: TrainConfig | None = None,
    progress: bool = True,
    retrain: bool = False,
) -> TrainResult:
    """Train a MEMORY on ``dataset`` and write its artifact to ``out``. Running the same call
    again resumes an interrupted run, or does nothing if the artifact is complete; an artifact
    trained on other data or settings is an error unless ``retrain`` (then it is replaced).
    ``out`` must be new, empty or a memory artifact: nothing else is ever overwritten.

    Args:
        dataset: QA pairs: the synthesis graph's output directory, a saved Hugging Face
            dataset, or a .jsonl / .json of ``{question, answer}`` rows.
        out: the memory artifact's directory.
        base: the base model spec (``local``, ``local:PATH``, ``hf:ORG/NAME``).
        config: the training settings; None: the defaults.
        progress: draw a progress bar.
        retrain: replace a finished artifact trained on other data or settings.

    Returns:
        The artifact, whether it was already done, the step a resumed run started from, and
        the rows left out with their reasons.
    """
    config = config or TrainConfig()
    config.validate()
    out = Path(out).expanduser().resolve()
    finished_here = not retrain and is_complete(out)  # compared below, never written over
    if not finished_here:
        check_destination(out)
    qa = load_qa_dataset(dataset)
    base_spec, weights = normalise_base_spec(base)
    if finished_here:
        finished = load_artifact(out)
        differences = _differences(finished.manifest, qa.fingerprint, base_spec, config)
        if differences:
            raise ArtifactError(
                f"{out} is a memory artifact trained on other data or settings ("
                + "; ".join(differences)
                + "). Nothing was changed: pass --retrain (retrain=True) to replace it, or "
                "choose another --out."
            )
        return TrainResult(finished, already_done=True)
    return _train(out, qa, base_spec, weights, config, progress)


def _train(
    out: Path,
    qa: QADataset,
    base_spec: str,
    weights: ResolvedWeights,
    config: TrainConfig,
    progress: bool,
) -> TrainResult:
    tokenizer = load_tokenizer(weights.base_dir)
    encoder = AnswerOnlyEncoder(tokenizer, config.max_length)
    examples = encoder.encode_all(qa.pairs)
    report = {**qa.skipped, **encoder.report}
    if not examples:
        raise DatasetError(
            f"no example of {qa.source} fits max_length={config.max_length} ({report}); raise "
            "max_length or shorten the answers."
        )

    precision = resolved_precision(config.precision)
    accelerator = _accelerator(precision)
    run = _Run(out, {"dataset": qa.fingerprint, "base": base_spec, "config": config.to_dict()})
    if accelerator.is_main_process:
        with writing_to(out, _WRITES):
            run.claim()
    accelerator.wait_for_everyone()
    torch.manual_seed(config.seed)
    model = _load_model(weights, config, accelerator.device, examples)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        trainable, lr=config.learning_rate, weight_decay=config.weight_decay
    )
    plan = plan_batches(
        [len(e.input_ids) for e in examples], config.batch_size, config.epochs, config.seed
    )
    # Each process takes every n-th micro-batch; all must take as many, so a ragged end is cut.
    workers = accelerator.num_processes
    plan = plan[: len(plan) - len(plan) % workers] if len(plan) >= workers else plan[:workers]
    total_steps = math.ceil(len(plan) / (workers * config.gradient_accumulation))
    warmup = math.ceil(config.warmup_ratio * total_steps)
    scheduler = learning_rate_scheduler(optimizer, config.lr_schedule, warmup, total_steps)

    state, skipped = load_latest_checkpoint(run.checkpoints)
    step, start = 0, 0
    if state is not None:
        restore(state, model, optimizer, scheduler)
        step, start = int(state["step"]), int(state["micro_batch"])
        if accelerator.is_main_process:
            run.trim_metrics(step)
    elif accelerator.is_main_process and run.metrics.exists():
        run.metrics.unlink()
    accelerator.wait_for_everyone()

    wrapped, optimizer = accelerator.prepare(AnswerOnlyLM(model), optimizer)
    pad_id = (
        tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    )
    with writing_to(out, _WRITES):  # checkpoints and metrics as it goes
        metrics = _optimise(
            wrapped,
            model,
            optimizer,
            scheduler,
            examples,
            plan,
            config,
            run,
            accelerator,
            pad_id=int(pad_id),
            step=step,
            start=start,
            total_steps=total_steps,
            progress=progress,
        )
    metrics["precision"] = precision

    if accelerator.is_main_process:
        with writing_to(out, _WRITES):
            _write(out, model, tokenizer, config, qa, base_spec, weights, metrics, report)
        shutil.rmtree(run.root, ignore_errors=True)
    accelerator.wait_for_everyone()
    artifact = load_artifact(out)
    return TrainResult(
        artifact,
        resumed_at_step=step if state is not None else None,
        skipped_checkpoints=skipped,
        report=report,
        skipped_rows=qa.skipped_rows,
    )


def _optimise(
    wrapped: Any,
    model: Any,
    optimizer: Any,
    scheduler: Any,
    examples: list[Example],
    plan: list[list[int]],
    config: TrainConfig,
    run: _Run,
    accelerator: Any,
    *,
    pad_id: int,
    step: int,
    start: int,
    total_steps: int,
    progress: bool,
) -> dict[str, Any]:
    """Run the plan from micro-batch ``start``; ``model`` is the unwrapped module that
    checkpoints read, ``wrapped`` what the accelerator prepared."""
    from tqdm.auto import tqdm

    main = accelerator.is_main_process
    workers, rank = accelerator.num_processes, accelerator.process_index
    accumulation = config.gradient_accumulation
    batches_per_epoch = math.ceil(len(plan) / config.epochs)
    bar = tqdm(total=total_steps, initial=step, disable=not (progress and main), desc="training",
               unit="step")  # fmt: skip
    tokens_seen, step_tokens, started = 0, 0, time.perf_counter()
    window_loss, window_tokens, in_window = 0.0, 0, 0
    for group in range(start, len(plan), workers):
        batch = collate([examples[i] for i in plan[group + rank]], pad_id)
        batch = {key: value.to(accelerator.device) for key, value in batch.items()}
        with accelerator.autocast():
            loss, labelled = wrapped(**batch)
        accelerator.backward(loss / accumulation)
        window_loss += float(loss.detach()) * int(labelled)
        window_tokens += int(labelled)
        batch_tokens = int(batch["attention_mask"].sum()) * workers
        tokens_seen += batch_tokens
        step_tokens += batch_tokens
        in_window += 1
        last = group + workers >= len(plan)
        if in_window < accumulation and not last:
            continue
        accelerator.clip_grad_norm_(wrapped.parameters(), config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        elapsed = time.perf_counter() - started
        record = {
            "step": step,
            "epoch": group // batches_per_epoch,
            "loss": window_loss / max(window_tokens, 1),
            "lr": scheduler.get_last_lr()[0],
            "tokens": step_tokens,
            "tokens_per_s": tokens_seen / elapsed if elapsed else 0.0,
        }
        if main:
            run.log(record)
        bar.set_postfix(loss=f"{record['loss']:.3f}", tok_s=f"{record['tokens_per_s']:.0f}")
        bar.update(1)
        window_loss, window_tokens, step_tokens, in_window = 0.0, 0, 0, 0
        if step % config.checkpoint_every == 0 and not last:
            if main:
                save_checkpoint(run.checkpoints, model, optimizer, scheduler, step, group + workers)
            accelerator.wait_for_everyone()
    bar.close()
    accelerator.wait_for_everyone()
    return _summarise(run)


def _summarise(run: _Run) -> dict[str, Any]:
    records = [json.loads(line) for line in run.metrics.read_text().splitlines() if line]
    by_epoch: dict[int, list[float]] = {}
    for record in records:
        by_epoch.setdefault(record["epoch"], []).append(record["loss"])
    return {
        "steps": len(records),
        "epoch_loss": [sum(v) / len(v) for _, v in sorted(by_epoch.items())],
        "final_loss": records[-1]["loss"] if records else None,
        "tokens_trained": sum(r["tokens"] for r in records),
        "tokens_per_s": records[-1]["tokens_per_s"] if records else None,
    }


def _write(
    out: Path,
    model: Any,
    tokenizer: Any,
    config: TrainConfig,
    qa: Any,
    base_spec: str,
    weights: ResolvedWeights,
    metrics: dict[str, Any],
    report: dict[str, int],
) -> Artifact:
    model.eval()
    if config.method == "lora":
        model.peft_config["default"].base_model_name_or_path = str(weights.base_dir)
    manifest: dict[str, Any] = {
        "kind": config.method,
        "base": {
            "spec": base_spec,
            "path": str(weights.base_dir),
            "sha256": weights_checksum(weights.base_dir),
        },
        "dataset": {
            "source": qa.source,
            "fingerprint": qa.fingerprint,
            "pairs": len(qa.pairs),
            "report": report,
        },
        "hyperparameters": config.to_dict(),
        "metrics": metrics,
        "parents": [],
    }
    return write_artifact(out, lambda d: model.save_pretrained(d), tokenizer, manifest)
