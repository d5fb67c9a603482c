"""Training settings, with the paper's values as presets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

Method = Literal["lora", "full"]
Precision = Literal["auto", "bf16", "fp32"]
PRECISIONS: tuple[str, ...] = ("auto", "bf16", "fp32")
LrSchedule = Literal["constant", "linear", "cosine"]
LR_SCHEDULES: tuple[str, ...] = ("constant", "linear", "cosine")
MergeMethod = Literal["ties", "dare_ties", "task_arithmetic", "linear"]
MergeOutput = Literal["full", "lora"]
MERGE_METHODS: tuple[str, ...] = ("ties", "dare_ties", "task_arithmetic", "linear")

# How `memo merge` and `merge_memories` merge by default: TIES keeping rho = 0.3 of each task
# vector (the paper's value), written as exact full weights; a LoRA output has this rank.
MERGE_METHOD: MergeMethod = "ties"
MERGE_DENSITY = 0.3
MERGE_OUTPUT: MergeOutput = "full"
MERGE_RANK = 16

# The paper's settings: LoRA r=16/alpha=32 for the 14B memory, r=8/alpha=16 for ~1B, dropout
# 0.05; full SFT at lr 2e-5.
PAPER_LORA_DROPOUT = 0.05
PRESETS: dict[str, dict[str, Any]] = {
    "lora-small": {"method": "lora", "lora_r": 8, "lora_alpha": 16, "learning_rate": 2e-4,
                   "lora_dropout": PAPER_LORA_DROPOUT},
    "lora-large": {"method": "lora", "lora_r": 16, "lora_alpha": 32, "learning_rate": 2e-4,
                   "lora_dropout": PAPER_LORA_DROPOUT},
    "full": {"method": "full", "learning_rate": 2e-5},
}  # fmt: skip


def _doc(text: str, flag: str | None = None) -> dict[str, str]:
    """A field's description (the option's help) and, where it is not ``--field-name``, the
    option's flag."""
    return {"description": text, **({"flag": flag} if flag else {})}


@dataclass(frozen=True)
class TrainConfig:
    """How a MEMORY is fine-tuned. ``memo train`` has an option for each field but ``method``
    (``--full``, ``--lora`` or ``--preset``) and ``target_modules``."""

    method: Method = field(default="lora", metadata=_doc("lora (adapters) or full weights."))
    lora_r: int = field(default=8, metadata=_doc("LoRA rank."))
    lora_alpha: int = field(default=16, metadata=_doc("LoRA scaling (alpha)."))
    # No dropout by default: a MEMORY is meant to memorise, and on a CPU drawing the masks took
    # a third of a LoRA step (README, training speed).
    lora_dropout: float = field(
        default=0.0, metadata=_doc("Dropout on adapter inputs (paper: 0.05).")
    )
    target_modules: str | list[str] = field(
        default="all-linear",
        metadata=_doc("Modules that get adapters: every attention and MLP projection."),
    )
    learning_rate: float = field(default=2e-4, metadata=_doc("Learning rate.", flag="--lr"))
    epochs: int = field(default=3, metadata=_doc("Passes over the QA dataset."))
    batch_size: int = field(default=8, metadata=_doc("Examples per micro-batch."))
    gradient_accumulation: int = field(
        default=1, metadata=_doc("Micro-batches per optimizer step.")
    )
    warmup_ratio: float = field(
        default=0.05, metadata=_doc("Share of the steps with a linear warmup.")
    )
    lr_schedule: LrSchedule = field(
        default="constant",
        metadata=_doc("After warmup: constant, or linear / cosine decay to zero."),
    )
    weight_decay: float = field(default=0.01, metadata=_doc("AdamW weight decay."))
    max_grad_norm: float = field(default=1.0, metadata=_doc("Gradients clipped to this norm."))
    max_length: int = field(default=1024, metadata=_doc("Tokens per example, at most."))
    seed: int = field(default=0, metadata=_doc("Seed of the initialisation and data order."))
    checkpoint_every: int = field(
        default=50, metadata=_doc("Steps between checkpoints (what a killed run loses at most).")
    )
    precision: Precision = field(
        default="auto",
        metadata=_doc(
            "bf16 (mixed precision), fp32, or auto: bf16 on a CUDA GPU with bf16 or a CPU with AMX."
        ),
    )

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> TrainConfig:
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
        return replace(cls(**PRESETS[name]), **overrides)

    @classmethod
    def chosen(cls, preset: str | None, **overrides: Any) -> TrainConfig:
        """The settings a command's options choose: ``preset`` (none: the defaults) with the
        options given on top."""
        return cls.from_preset(preset, **overrides) if preset else cls(**overrides)

    def validate(self) -> None:
        checks = {
            "epochs": self.epochs >= 1,
            "batch_size": self.batch_size >= 1,
            "gradient_accumulation": self.gradient_accumulation >= 1,
            "learning_rate": self.learning_rate > 0,
            "max_length": self.max_length >= 16,
            "checkpoint_every": self.checkpoint_every >= 1,
            "lora_r": self.method == "full" or self.lora_r >= 1,
            "lora_dropout": 0.0 <= self.lora_dropout < 1.0,
            "precision": self.precision in PRECISIONS,
            "lr_schedule": self.lr_schedule in LR_SCHEDULES,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid training settings: {', '.join(bad)} out of range")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lora_config(self) -> Any:
        """The peft ``LoraConfig`` these settings describe."""
        from peft import LoraConfig

        return LoraConfig(
            r=self.lora_r,
            lora_alpha=self.lora_alpha,
            lora_dropout=self.lora_dropout,
            target_modules=self.target_modules,
            task_type="CAUSAL_LM",
        )
