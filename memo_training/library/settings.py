"""How a memory library trains, merges and checks its shards: fixed when it is made."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from memo_training.config import (
    LR_SCHEDULES,
    MERGE_DENSITY,
    MERGE_METHOD,
    MERGE_METHODS,
    MERGE_OUTPUT,
    MERGE_RANK,
    LrSchedule,
    MergeMethod,
    MergeOutput,
    TrainConfig,
)
from memo_training.library.ledger import LibraryError


@dataclass(frozen=True)
class LibrarySettings:
    """How a library trains and merges; fixed when it is made (``init``)."""

    shard_size: int | None = field(
        default=None,
        metadata={"description": "Documents per shard; none: one shard per add."},
    )
    merge_method: MergeMethod = field(
        default=MERGE_METHOD,
        metadata={"description": "How shards merge: " + " or ".join(MERGE_METHODS) + "."},
    )
    merge_density: float = field(
        default=MERGE_DENSITY,
        metadata={"description": "TIES rho when merging.", "flag": "--density"},
    )
    merge_output: MergeOutput = field(
        default=MERGE_OUTPUT,
        metadata={
            "description": "full (exact weights) or lora (an adapter of merge_rank: libraries "
            "on one base then share its weights when served)."
        },
    )
    merge_rank: int = field(
        default=MERGE_RANK, metadata={"description": "Adapter rank of a LoRA merge output."}
    )
    training: TrainConfig = field(
        default_factory=TrainConfig,
        metadata={"description": "How each shard (and the consolidation) trains."},
    )
    consolidation_epochs: int | None = field(
        default=None,
        metadata={
            "description": "Epochs the merge of several shards then trains on all the "
            "library's pairs, which brings back most of what merging loses (README, "
            "lifecycle); forgetting stays exact, the forgotten pairs being in neither. 0: the "
            "merge is the memory; none: 2 for a full-weight merge, 0 for a LoRA one."
        },
    )
    consolidation_lr_schedule: LrSchedule = field(
        default="linear",
        metadata={
            "description": "The consolidation's learning rate after warmup: decayed to zero "
            "(linear), which varies less from one training to the next than held (constant)."
        },
    )
    probe_pairs: int = field(
        default=5,
        metadata={"description": "Pairs per document asked after training (0: no check)."},
    )
    min_recall: float = field(
        default=0.1,
        metadata={
            "description": "Recall of its probed pairs under which a document stops the new "
            "memory from being published."
        },
    )
    cite_sources: bool = field(
        default=True,
        metadata={
            "description": "Train each answer to end with the titles of the documents it comes "
            "from (memo_graph.memory.sources), so that the memory's replies cite them."
        },
    )

    def validate(self) -> None:
        if self.shard_size is not None and self.shard_size < 1:
            raise LibraryError(f"shard_size must be at least 1, not {self.shard_size}")
        if self.merge_method not in MERGE_METHODS:
            raise LibraryError(
                f"merge_method must be one of {', '.join(MERGE_METHODS)}, not {self.merge_method!r}"
            )
        if not 0 < self.merge_density <= 1:
            raise LibraryError(f"merge_density must be in (0, 1], not {self.merge_density}")
        if self.merge_output not in ("full", "lora") or self.merge_rank < 1:
            raise LibraryError("merge_output must be full or lora, and merge_rank at least 1")
        if self.merge_output == "lora" and self.training.method != "lora":
            raise LibraryError(
                "merge_output lora re-factors LoRA shards, and these train full weights: give "
                "training method lora, or merge_output full."
            )
        if self.consolidation_epochs is not None and self.consolidation_epochs < 0:
            raise LibraryError(
                f"consolidation_epochs must be 0 or more, not {self.consolidation_epochs}"
            )
        if self.merge_output == "lora" and self.consolidation_epochs:
            raise LibraryError(
                "consolidation trains the merged weights, and merge_output lora keeps an "
                "adapter: give merge_output full, or consolidation_epochs 0."
            )
        if self.consolidation_lr_schedule not in LR_SCHEDULES:
            raise LibraryError(
                f"consolidation_lr_schedule must be one of {', '.join(LR_SCHEDULES)}, "
                f"not {self.consolidation_lr_schedule!r}"
            )
        if self.probe_pairs < 0 or not 0 <= self.min_recall <= 1:
            raise LibraryError("probe_pairs must be 0 or more, and min_recall in [0, 1]")
        self.training.validate()

    @property
    def consolidation(self) -> int:
        """Epochs of training on all pairs after a merge of several shards."""
        if self.consolidation_epochs is not None:
            return self.consolidation_epochs
        return 2 if self.merge_output == "full" else 0

    @property
    def consolidation_training(self) -> TrainConfig:
        """How the consolidation trains: the shards' settings, its own epochs and schedule."""
        return replace(
            self.training, epochs=self.consolidation, lr_schedule=self.consolidation_lr_schedule
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LibrarySettings:
        # Libraries made before consolidation existed go on merging alone; those made before
        # its schedule, on one epoch at a constant rate.
        data = {"consolidation_epochs": 0, **data}
        if "consolidation_lr_schedule" not in data:
            data["consolidation_lr_schedule"] = "constant"
            if data["consolidation_epochs"] is None:
                data["consolidation_epochs"] = (
                    1 if data.get("merge_output", MERGE_OUTPUT) == "full" else 0
                )
        return cls(**{**data, "training": TrainConfig(**data["training"])})
