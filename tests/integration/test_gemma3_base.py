"""Gemma 3 270M, a base model from PyPI part packages, as a MEMORY base (``local:gemma3-270m``):
converted with Gemma's turn format, trained answer-only, asked through the local engine."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from memo_graph import LocalChatModel
from memo_graph.models.chat_templates import GEMMA_END_OF_TURN
from memo_graph.models.packaged import GEMMA3_270M
from memo_graph.models.weights import resolve_weights
from memo_training.config import TrainConfig
from memo_training.data import load_qa_dataset
from memo_training.encoding import IGNORE_INDEX, AnswerOnlyEncoder
from memo_training.trainer import train_memory

pytestmark = pytest.mark.integration

try:
    importlib.metadata.distribution(GEMMA3_270M.distribution)
except importlib.metadata.PackageNotFoundError:
    pytest.skip(
        f"Gemma 3 270M is not installed: {GEMMA3_270M.install_hint}", allow_module_level=True
    )

REFERENCE = (
    Path(__file__).resolve().parents[2] / "evals" / "data" / "invented" / "reference_qa.jsonl"
)
SPEC = f"local:{GEMMA3_270M.name}"


@pytest.fixture(scope="module")
def gemma_dir() -> Path:
    return resolve_weights(GEMMA3_270M.name).base_dir


def test_converted_with_turns_and_the_full_vocabulary(gemma_dir: Path) -> None:
    config = json.loads((gemma_dir / "config.json").read_text())
    assert (config["model_type"], config["vocab_size"]) == ("gemma3_text", 262_144)
    tokenizer = AutoTokenizer.from_pretrained(gemma_dir)
    assert tokenizer.chat_template is not None and tokenizer.eos_token == GEMMA_END_OF_TURN
    end_of_turn = tokenizer.convert_tokens_to_ids(GEMMA_END_OF_TURN)
    generation = json.loads((gemma_dir / "generation_config.json").read_text())
    assert end_of_turn in generation["eos_token_id"]


def test_answer_labels_decode_to_the_answers(gemma_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(gemma_dir)
    encoder = AnswerOnlyEncoder(tokenizer, max_length=128)
    for pair in load_qa_dataset(REFERENCE).pairs[:40]:
        example = encoder.encode(pair)
        assert example is not None
        labelled = [t for t in example.labels if t != IGNORE_INDEX]
        assert tokenizer.decode(labelled[:-1]) == pair.answer
        assert tokenizer.convert_ids_to_tokens(labelled[-1]) == GEMMA_END_OF_TURN


def test_trains_and_answers_through_the_local_engine(tmp_path: Path) -> None:
    qa = tmp_path / "qa.jsonl"
    qa.write_text("".join(REFERENCE.read_text().splitlines(keepends=True)[:8]))
    config = TrainConfig(epochs=1, batch_size=8, max_length=128, learning_rate=1e-3)
    trained = train_memory(qa, tmp_path / "memory", base=SPEC, config=config, progress=False)
    assert trained.artifact.manifest["base"]["spec"] == SPEC
    assert trained.artifact.manifest["metrics"]["steps"] == 1
    memory = LocalChatModel(model=str(tmp_path / "memory"), max_tokens=16)
    reply = memory.invoke(load_qa_dataset(qa).pairs[0].question)
    assert isinstance(reply.content, str)
    assert reply.usage_metadata is not None and reply.usage_metadata["output_tokens"] <= 16
    tokenizer = memory.engine.tokenizer
    assert tokenizer.convert_tokens_to_ids(GEMMA_END_OF_TURN) in memory.engine.eos_ids
