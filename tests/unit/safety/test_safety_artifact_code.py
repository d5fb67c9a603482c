"""Nothing runs from an artifact: a model directory that asks for its own Python code is
refused in one line, and a memory whose manifest points at other base weights is not loaded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from evals.cli import app
from memo_graph.errors import ModelLoadError
from memo_graph.models.artifact import ArtifactError
from memo_graph.models.loading import load_causal_lm, load_tokenizer
from memo_graph.models.weights import resolve_weights
from memo_training.config import TrainConfig
from memo_training.trainer import train_memory

PAIRS = [{"question": "Who founded Orlenby?", "answer": "Mira Talvesk founded Orlenby."}] * 4
PLANTED = """
import pathlib
pathlib.Path(__file__).with_name("RAN").write_text("the artifact's code ran")
from transformers import PretrainedConfig

class PlantedConfig(PretrainedConfig):
    model_type = "planted"
"""


def run(*arguments: str) -> Result:
    return CliRunner().invoke(app, list(arguments), input="y\ny\ny\n")


def one_line(result: Result) -> str:
    return " ".join(result.output.split())


@pytest.fixture
def planted_model(tmp_path: Path, tiny_llama_dir: Path) -> Path:
    """A model directory whose config names an unknown model_type and ships its own code."""
    folder = tmp_path / "planted"
    shutil.copytree(tiny_llama_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(
        model_type="planted",
        architectures=["PlantedModel"],
        auto_map={
            "AutoConfig": "planted.PlantedConfig",
            "AutoModelForCausalLM": "planted.PlantedModel",
        },
    )
    (folder / "config.json").write_text(json.dumps(config))
    tokenizer = json.loads((folder / "tokenizer_config.json").read_text())
    tokenizer.pop("tokenizer_class", None)
    tokenizer["auto_map"] = {"AutoTokenizer": ["planted.PlantedTokenizer", None]}
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer))
    (folder / "planted.py").write_text(PLANTED)
    return folder


def test_loading_a_model_with_its_own_code_is_refused_and_runs_nothing(
    planted_model: Path,
) -> None:
    with pytest.raises(ModelLoadError, match="never runs code"):
        load_causal_lm(planted_model)
    with pytest.raises(ModelLoadError, match="never runs code"):
        load_tokenizer(planted_model)
    assert not (planted_model / "RAN").exists()


def test_chat_with_a_model_that_ships_code_is_one_line_even_when_the_user_says_yes(
    planted_model: Path,
) -> None:
    result = run("chat", "-m", f"local:{planted_model}", "hello")
    assert result.exit_code == 2, result.output
    assert "never runs code" in one_line(result)
    assert "Traceback" not in result.output and "[y/N]" not in result.output
    assert not (planted_model / "RAN").exists()


@pytest.fixture
def memory(tmp_path: Path, tiny_llama_dir: Path) -> Path:
    """A LoRA memory trained on the tiny llama, its base named by a path."""
    pairs = tmp_path / "qa.jsonl"
    pairs.write_text("".join(json.dumps(row) + "\n" for row in PAIRS))
    memory = tmp_path / "memory"
    config = TrainConfig(epochs=1, batch_size=4, max_length=64)
    train_memory(pairs, memory, base=f"local:{tiny_llama_dir}", config=config, progress=False)
    return memory


def test_a_memory_whose_manifest_points_at_other_base_weights_is_refused(
    memory: Path, tmp_path: Path, tiny_llama_dir: Path
) -> None:
    assert resolve_weights(memory).adapter_dir == memory.resolve()

    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(tiny_llama_dir, elsewhere)
    from safetensors.torch import load_file, save_file

    weights = load_file(str(elsewhere / "model.safetensors"))
    name = next(iter(weights))
    weights[name] = weights[name] + 1
    save_file(weights, str(elsewhere / "model.safetensors"), metadata={"format": "pt"})
    manifest = json.loads((memory / "memo.json").read_text())
    manifest["base"]["spec"] = f"local:{elsewhere}"
    (memory / "memo.json").write_text(json.dumps(manifest))

    with pytest.raises(ArtifactError, match="not the ones the memory"):
        resolve_weights(memory)
    result = run("ask", "Who founded Orlenby?", "--memory", str(memory), "--executive", "local")
    assert result.exit_code == 2, result.output
    assert "not the ones the memory" in one_line(result)


def test_a_memory_whose_manifest_cannot_be_read_is_refused_not_loaded_as_an_adapter(
    memory: Path,
) -> None:
    for broken in ("{", "[]"):
        (memory / "memo.json").write_text(broken)
        with pytest.raises(ArtifactError, match="memo.json"):
            resolve_weights(memory)
