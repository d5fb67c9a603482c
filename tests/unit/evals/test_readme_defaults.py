"""The defaults the documentation (README.md and docs/) states are the code's: each phrase below
is built from the setting it names, so changing a default without its sentence fails here."""

from __future__ import annotations

import inspect
import re

import pytest

from memo_graph.engine.local_engine import LocalEngine
from memo_graph.memory.backend import MemoryBackend
from memo_graph.models.local_chat import LocalChatModel
from memo_graph.protocol.context import ProtocolContext
from memo_graph.synthesis.quality import GROUNDED_SHARE, KEPT_SHARE
from memo_graph.synthesis.state import SynthesisContext
from memo_training import config as training
from memo_training.config import PRESETS, TrainConfig
from memo_training.library import LibrarySettings
from tests.paths import REPO

DOCUMENTATION = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def _parameter(function: object, name: str) -> object:
    return inspect.signature(function).parameters[name].default  # type: ignore[arg-type]


def _rate(value: float) -> str:
    """A learning rate as the README writes it: 2e-4."""
    return f"{value:.0e}".replace("e-0", "e-")


def _phrases() -> list[str]:
    synthesis, protocol, train = SynthesisContext(), ProtocolContext(), TrainConfig()
    library = LibrarySettings()
    small, large, full = PRESETS["lora-small"], PRESETS["lora-large"], PRESETS["full"]
    cache_mb = _parameter(LocalEngine.__init__, "prefix_cache_bytes") // 2**20  # type: ignore[operator]
    assert synthesis.chunk_unit == "tokens"
    assert LocalChatModel.model_fields["temperature"].default == 0.0
    dropout = f"with dropout {train.lora_dropout}" if train.lora_dropout else "without dropout"
    return [
        f"by tokens ({synthesis.chunk_size} with {synthesis.chunk_overlap} overlap",
        f"(`--concurrency`, {synthesis.concurrency})",
        f"(`retries`, {synthesis.retries})",
        f"(less than {round(GROUNDED_SHARE * 100)}% of its content words there",
        "`temperature` (0 = greedy, the default)",
        f"({cache_mb} MB by default",
        f"(`{train.target_modules}`) {dropout}, "
        f"lr {_rate(train.learning_rate)}, {train.epochs} epochs, "
        f"batch {train.batch_size}, {round(train.warmup_ratio * 100)}% linear warmup then "
        f"{train.lr_schedule}, weight decay {train.weight_decay}, gradient clipping "
        f"{train.max_grad_norm}, length-grouped batches, seed {train.seed}",
        f"`lora-small` (r={small['lora_r']}, alpha={small['lora_alpha']}, dropout "
        f"{small['lora_dropout']}), `lora-large` (r={large['lora_r']}, "
        f"alpha={large['lora_alpha']}, dropout {large['lora_dropout']}), `full` "
        f"(lr {_rate(full['learning_rate'])})",
        f"LoRA r={train.lora_r}/alpha={train.lora_alpha} on the embedded base",
        f"`--checkpoint-every` steps (default {train.checkpoint_every})",
        f"`{training.MERGE_METHOD}` (default, rho {training.MERGE_DENSITY})",
        f"Output `{training.MERGE_OUTPUT}` (default)",
        f"the budget ({protocol.identification_turns} turns)",
        f"`memory_query_temperature`, {protocol.memory_query_temperature:g})",
        f"keeps {round(KEPT_SHARE * 100)}% of the question's content words",
        f'a question that got {protocol.dead_end_after} "I don\'t know"',
        f'demoted after {protocol.demote_after} targeted "I don\'t know", dropped after '
        f"{protocol.drop_after}",
        f"entity ({protocol.seeking_turns} turns)",
        f"the default `{_parameter(MemoryBackend.__init__, 'reply_format')}` sends the bare "
        "question",
        f"asked up to {library.probe_pairs} pairs of every document",
        f"recalls under {library.min_recall:g} of a document's probed pairs",
    ]


@pytest.mark.parametrize("phrase", _phrases())
def test_the_documentation_states_the_default_the_code_has(phrase: str) -> None:
    text = re.sub(r"\s+", " ", " ".join(page.read_text() for page in DOCUMENTATION))
    assert phrase in text, f"the documentation should say {phrase!r} (the code's default)"
