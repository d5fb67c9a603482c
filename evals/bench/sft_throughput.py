"""Training throughput: memo_training's SFT vs TRL's SFTTrainer with completion-only loss, on
the embedded model, the same 256 QA pairs, batch size, LoRA settings and learning rate, one
epoch each, in one run, in the precision ours trains in here (TrainConfig.precision). TRL is
not a dependency: ``pip install trl`` first.

    python -m evals.bench.sft_throughput [--pairs 256] [--batch-size 8] [--base local]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from evals.bench.common import print_result
from evals.bench.invented import invented_pairs, write_jsonl
from memo_training.config import TrainConfig
from memo_training.data import load_qa_dataset
from memo_training.encoding import AnswerOnlyEncoder, Example
from memo_training.trainer import normalise_base_spec, resolved_precision, train_memory

LORA: dict[str, Any] = {"lora_r": 8, "lora_alpha": 16, "lora_dropout": 0.05}


def _trl(
    examples: list[Example], base_dir: Path, config: TrainConfig, work: Path
) -> dict[str, Any]:
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    # Our examples, pre-tokenised with their labels: TRL trains on exactly the same tokens and
    # the same loss positions (its own templating would also label the newline after the
    # end-of-turn token, a different loss).
    data = Dataset.from_list([{"input_ids": e.input_ids, "labels": e.labels} for e in examples])
    steps = math.ceil(len(examples) / config.batch_size)
    arguments = SFTConfig(
        output_dir=str(work / "trl"),
        per_device_train_batch_size=config.batch_size,
        num_train_epochs=1,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        lr_scheduler_type="constant_with_warmup",
        warmup_steps=math.ceil(config.warmup_ratio * steps),
        max_grad_norm=config.max_grad_norm,
        max_length=config.max_length,
        packing=False,
        completion_only_loss=True,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        seed=config.seed,
        use_cpu=not torch.cuda.is_available(),
        # The precision ours trains in here (TrainConfig.precision "auto"): the same arithmetic.
        bf16=resolved_precision(config.precision) == "bf16",
        dataloader_num_workers=0,
    )
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    trainer = SFTTrainer(
        model=model,
        args=arguments,
        train_dataset=data,
        processing_class=AutoTokenizer.from_pretrained(base_dir),
        peft_config=config.lora_config(),
    )
    prepared: Any = trainer.train_dataset
    tokens = sum(len(ids) for ids in prepared["input_ids"])
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    return {"tokens": tokens, "seconds": seconds, "epoch_loss": sum(losses) / len(losses)}


def _examples(data: Path, base_dir: Path, config: TrainConfig) -> list[Example]:
    from transformers import AutoTokenizer

    encoder = AnswerOnlyEncoder(AutoTokenizer.from_pretrained(base_dir), config.max_length)
    return encoder.encode_all(load_qa_dataset(data).pairs)


def _ours(
    data: Path, examples: list[Example], base: str, config: TrainConfig, work: Path
) -> dict[str, Any]:
    tokens = sum(len(e.input_ids) for e in examples)
    started = time.perf_counter()
    result = train_memory(data, work / "ours", base=base, config=config, progress=False)
    seconds = time.perf_counter() - started
    return {
        "tokens": tokens,
        "seconds": seconds,
        "epoch_loss": result.artifact.manifest["metrics"]["epoch_loss"][0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--base", default="local")
    args = parser.parse_args()
    pairs = invented_pairs(args.pairs, seed=11)
    config = TrainConfig(
        epochs=1,
        batch_size=args.batch_size,
        learning_rate=2e-4,
        max_length=256,
        checkpoint_every=10_000,
        **LORA,
    )
    _, weights = normalise_base_spec(args.base)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = write_jsonl(pairs, work / "qa.jsonl")
        examples = _examples(data, weights.base_dir, config)
        ours = _ours(data, examples, args.base, config, work)
        theirs = _trl(examples, weights.base_dir, config, work)
    ours_tps = ours["tokens"] / ours["seconds"]
    trl_tps = theirs["tokens"] / theirs["seconds"]
    for label, run in (("memo_training", ours), ("trl SFTTrainer", theirs)):
        print(
            f"{label}: {run['tokens']} tokens in {run['seconds']:.1f}s, "
            f"first-epoch loss {run['epoch_loss']:.4f}"
        )
    print_result(
        "sft_throughput",
        {
            "ours_tok_s": round(ours_tps, 1),
            "trl_tok_s": round(trl_tps, 1),
            "ratio": round(ours_tps / trl_tps, 2),
            "ours_loss": round(ours["epoch_loss"], 4),
            "trl_loss": round(theirs["epoch_loss"], 4),
            "loss_diff_pct": round(
                100 * abs(ours["epoch_loss"] - theirs["epoch_loss"]) / theirs["epoch_loss"], 2
            ),
            "pairs": len(pairs),
            "batch_size": args.batch_size,
            "precision": resolved_precision(config.precision),
        },
    )


if __name__ == "__main__":
    main()
