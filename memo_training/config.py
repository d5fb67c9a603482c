"""Training settings, with the paper's values as presets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
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

# DESIGN.md: LoRA r=16/alpha=32 for the 14B memory, r=8/alpha=16 for ~1B, dropout 0.05; full SFT
# at lr 2e-5.
PAPER_LORA_DROPOUT = 0.05
PRESETS: dict[str, dict[str, Any]] = {
    "lora-small": {"method": "lora", "lora_r": 8, "lora_alpha": 16, "learning_rate": 2e-4,
                   "lora_dropout": PAPER_LORA_DROPOUT},
    "lora-large": {"method": "lora", "lora_r": 16, "lora_alpha": 32, "learning_rate": 2e-4,
                   "lora_dropout": PAPER_LORA_DROPOUT},
    "full": {"method": "full", "learning_rate": 2e-5},
}  # fmt: skip


@dataclass(frozen=True)
class TrainConfig:
    method: Method = "lora"
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    """Dropout on each adapter's input (the paper's presets: 0.05). No dropout by default: a MEMORY
    is meant to memorise, and on a CPU drawing the masks took a third of a LoRA step
    (README, training speed)."""
    target_modules: str | list[str] = "all-linear"
    """Every attention and MLP projection, whatever the architecture calls them."""
    learning_rate: float = 2e-4
    epochs: int = 3
    batch_size: int = 8
    gradient_accumulation: int = 1
    warmup_ratio: float = 0.05
    """Linear warmup over this share of the steps, then ``lr_schedule``."""
    lr_schedule: LrSchedule = "constant"
    """After warmup: the learning rate held (constant), or decayed to zero by the last step
    (linear, cosine: what transformers' Trainer does by default)."""
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    max_length: int = 1024
    seed: int = 0
    checkpoint_every: int = 50
    """Optimizer steps between checkpoints: a killed run loses at most this many."""
    precision: Precision = "auto"
    """bf16 mixed precision (fp32 weights, bf16 matrix products) or fp32 throughout; auto:
    bf16 where the hardware runs it fast (a CUDA GPU with bf16, a CPU with AMX), else fp32."""

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
