"""SFT of tiny random models of four families: answer-only labels, artifacts, bad input."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

from memo_graph import LocalChatModel
from memo_training.artifact import ArtifactError, load_artifact
from memo_training.config import PRESETS, TrainConfig
from memo_training.data import DatasetError, QAPair, load_qa_dataset
from memo_training.encoding import IGNORE_INDEX, AnswerOnlyEncoder, Example
from memo_training.loss import answer_only_loss
from memo_training.trainer import (
    _load_model,
    attention_kernel,
    learning_rate_scheduler,
    resolved_precision,
    train_memory,
)

PAIRS = [
    ("Who founded the village of Orlenby?", "Mira Talvesk founded Orlenby in 1702."),
    ("What does the Brask river carry?", "The Brask carries silt from the Quenmoor hills."),
    ("Where was Ilo Denhart born?", "Ilo Denhart was born in Vessaro."),
    ("Which guild did Pell Amrow lead?", "Pell Amrow led the Lantern Guild of Orlenby."),
] * 3
FAST = TrainConfig(epochs=2, batch_size=4, max_length=128, checkpoint_every=2, learning_rate=1e-3)


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture
def qa_file(tmp_path: Path) -> Path:
    rows = [{"question": q, "answer": a, "step": "explicit", "doc_ids": ["d1"]} for q, a in PAIRS]
    return write_jsonl(tmp_path / "qa.jsonl", rows)


def test_labels_are_exactly_the_answer_and_end_of_turn(tiny_family_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_family_dir)
    encoder = AnswerOnlyEncoder(tokenizer, max_length=256)
    for question, answer in PAIRS[:4]:
        example = encoder.encode(QAPair(question, answer))
        assert example is not None
        labelled = [t for t in example.labels if t != IGNORE_INDEX]
        assert tokenizer.decode(labelled, skip_special_tokens=True) == answer
        end_of_turn = tokenizer.convert_ids_to_tokens(labelled[-1])
        assert end_of_turn in ("<|im_end|>", "<end_of_turn>")
        # Everything before the answer is prompt, and carries no label.
        first = example.labels.index(labelled[0])
        assert all(label == IGNORE_INDEX for label in example.labels[:first])


def test_long_questions_are_shortened_and_long_answers_dropped(tiny_llama_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama_dir)
    encoder = AnswerOnlyEncoder(tokenizer, max_length=64)
    long_question = QAPair("Tell me " + "about the river " * 40 + "?", "The Brask.")
    example = encoder.encode(long_question)
    assert example is not None and len(example.input_ids) <= 64
    labelled = [t for t in example.labels if t != IGNORE_INDEX]
    assert tokenizer.decode(labelled, skip_special_tokens=True) == "The Brask."
    assert encoder.encode(QAPair("Why?", "Because " * 80)) is None
    assert dict(encoder.report) == {"question_shortened": 1, "answer_too_long": 1}


def test_train_writes_a_loadable_artifact(
    tiny_family_dir: Path, qa_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "memory"
    result = train_memory(
        qa_file, out, base=f"local:{tiny_family_dir}", config=FAST, progress=False
    )
    artifact = load_artifact(out)
    assert artifact.kind == "lora"
    assert {"adapter_config.json", "adapter_model.safetensors", "memo.json", "README.md"} <= {
        p.name for p in out.iterdir()
    }
    losses = artifact.manifest["metrics"]["epoch_loss"]
    assert len(losses) == 2 and losses[1] < losses[0], "the loss must fall on repeated data"
    assert artifact.manifest["dataset"]["pairs"] == len(PAIRS)
    assert result.report == {}
    assert not (tmp_path / ".memory.work").exists()
    # The artifact serves through the embedded chat model: base plus adapter.
    reply = LocalChatModel(model=str(out), max_tokens=4).invoke(PAIRS[0][0])
    assert isinstance(reply.content, str)
    # A finished run started again does nothing.
    again = train_memory(qa_file, out, base=f"local:{tiny_family_dir}", config=FAST, progress=False)
    assert again.already_done


def test_full_fine_tuning_writes_full_weights(
    tiny_llama_dir: Path, qa_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "full"
    config = TrainConfig.from_preset("full", epochs=1, batch_size=4, max_length=128)
    train_memory(qa_file, out, base=f"local:{tiny_llama_dir}", config=config, progress=False)
    assert load_artifact(out).kind == "full"
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()


def test_bad_datasets(tmp_path: Path, tiny_llama_dir: Path) -> None:
    with pytest.raises(DatasetError, match="no dataset at"):
        load_qa_dataset(tmp_path / "missing.jsonl")
    empty = write_jsonl(tmp_path / "empty.jsonl", [])
    with pytest.raises(DatasetError, match="no usable"):
        load_qa_dataset(empty)
    # what `memo synthesize` writes when no pair came out: a dataset saved with no rows
    from datasets import Dataset, DatasetDict

    DatasetDict({"train": Dataset.from_list([])}).save_to_disk(tmp_path / "none" / "dataset")
    with pytest.raises(DatasetError, match="no usable"):
        load_qa_dataset(tmp_path / "none")
    blanks = write_jsonl(
        tmp_path / "blanks.jsonl",
        [
            {"question": "", "answer": "x"},
            {"question": "q", "answer": " "},
            {"question": "q", "answer": "a"},
        ],
    )
    loaded = load_qa_dataset(blanks)
    assert len(loaded.pairs) == 1 and dict(loaded.skipped) == {
        "empty_question": 1,
        "empty_answer": 1,
    }
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"question": "q", "answer": "a"}\n{not json\n')
    with pytest.raises(DatasetError, match="line 2"):
        load_qa_dataset(broken)
    wrong = write_jsonl(tmp_path / "wrong.jsonl", [{"q": "x", "a": "y"}])
    with pytest.raises(DatasetError, match="no 'question' or 'answer'"):
        load_qa_dataset(wrong)
    only_long = write_jsonl(
        tmp_path / "long.jsonl", [{"question": "Why?", "answer": "Because " * 200}]
    )
    with pytest.raises(DatasetError, match="fits max_length"):
        train_memory(
            only_long, tmp_path / "m", base=f"local:{tiny_llama_dir}", config=FAST, progress=False
        )


def test_training_on_a_memory_is_refused(
    tiny_llama_dir: Path, qa_file: Path, tmp_path: Path
) -> None:
    first = tmp_path / "first"
    train_memory(qa_file, first, base=f"local:{tiny_llama_dir}", config=FAST, progress=False)
    with pytest.raises(ArtifactError, match="not a base model"):
        train_memory(
            qa_file, tmp_path / "second", base=f"local:{first}", config=FAST, progress=False
        )
    with pytest.raises(ArtifactError, match="no memory artifact"):
        load_artifact(tmp_path / "nowhere")


def test_hugging_face_dataset_on_disk(tmp_path: Path) -> None:
    from datasets import Dataset, DatasetDict

    data = Dataset.from_list([{"question": q, "answer": a, "step": "x"} for q, a in PAIRS])
    DatasetDict({"train": data}).save_to_disk(str(tmp_path / "ds"))
    loaded = load_qa_dataset(tmp_path / "ds")
    assert len(loaded.pairs) == len(PAIRS)
    assert (
        loaded.fingerprint
        == load_qa_dataset(
            write_jsonl(tmp_path / "same.jsonl", [{"question": q, "answer": a} for q, a in PAIRS])
        ).fingerprint
    )


def test_auto_precision_is_bf16_where_the_hardware_multiplies_it_fast(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    assert resolved_precision("auto") == "bf16"
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert resolved_precision("auto") == "fp32"
    assert (resolved_precision("bf16"), resolved_precision("fp32")) == ("bf16", "fp32")
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(precision="fp8").validate()  # type: ignore[arg-type]


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_training_learns_in_either_precision_and_records_it(
    precision: str, tiny_llama_dir: Path, qa_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "memory"
    config = replace(FAST, precision=precision)
    train_memory(qa_file, out, base=f"local:{tiny_llama_dir}", config=config, progress=False)
    metrics = load_artifact(out).manifest["metrics"]
    assert metrics["precision"] == precision
    assert metrics["epoch_loss"][1] < metrics["epoch_loss"][0]


def test_an_artifact_older_than_a_setting_counts_as_trained_with_its_default(
    tiny_llama_dir: Path, qa_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "memory"
    train_memory(qa_file, out, base=f"local:{tiny_llama_dir}", config=FAST, progress=False)
    manifest = json.loads((out / "memo.json").read_text())
    del manifest["hyperparameters"]["precision"]
    (out / "memo.json").write_text(json.dumps(manifest))
    again = train_memory(qa_file, out, base=f"local:{tiny_llama_dir}", config=FAST, progress=False)
    assert again.already_done
    with pytest.raises(ArtifactError, match="precision 'auto' instead of 'fp32'"):
        train_memory(
            qa_file,
            out,
            base=f"local:{tiny_llama_dir}",
            config=replace(FAST, precision="fp32"),
            progress=False,
        )


def test_the_learning_rate_warms_up_then_holds_or_decays_to_zero() -> None:
    def rates(schedule: str) -> list[float]:
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        scheduler = learning_rate_scheduler(optimizer, schedule, warmup_steps=2, total_steps=10)
        seen = []
        for _ in range(11):
            seen.append(round(scheduler.get_last_lr()[0], 3))
            optimizer.step()
            scheduler.step()
        return seen

    assert rates("constant") == [0.0, 0.5] + [1.0] * 9
    assert rates("linear") == [0.0, 0.5, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0.0]
    cosine = rates("cosine")
    assert cosine[:3] == [0.0, 0.5, 1.0] and cosine[6] == 0.5 and cosine[10] == 0.0
    assert all(a >= b for a, b in zip(cosine[2:], cosine[3:], strict=False))
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainConfig(lr_schedule="step").validate()  # type: ignore[arg-type]


def test_training_with_a_decaying_learning_rate_learns(
    tiny_llama_dir: Path, qa_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "memory"
    config = replace(FAST, lr_schedule="linear")
    train_memory(qa_file, out, base=f"local:{tiny_llama_dir}", config=config, progress=False)
    manifest = load_artifact(out).manifest
    assert manifest["hyperparameters"]["lr_schedule"] == "linear"
    assert manifest["metrics"]["epoch_loss"][1] < manifest["metrics"]["epoch_loss"][0]


def test_short_examples_on_a_cpu_train_with_plain_attention_and_the_same_loss(
    tiny_family_dir: Path,
) -> None:
    import torch

    from memo_training.batching import collate
    from memo_training.trainer import normalise_base_spec

    cpu = torch.device("cpu")
    assert attention_kernel(cpu, 128) == "eager"
    assert attention_kernel(cpu, 1024) == "sdpa"  # a length^2 matrix per layer would not fit
    assert attention_kernel(torch.device("cuda"), 128) == "sdpa"
    tokenizer = AutoTokenizer.from_pretrained(tiny_family_dir)
    examples = AnswerOnlyEncoder(tokenizer, 128).encode_all([QAPair(q, a) for q, a in PAIRS[:4]])
    batch = collate(examples, int(tokenizer.pad_token_id or 0))  # rows of unequal length
    _, weights = normalise_base_spec(f"local:{tiny_family_dir}")
    losses = {}
    for longest in (128, 1024):
        torch.manual_seed(0)  # the same adapter initialisation for both kernels
        trained_on = [Example([0] * longest, [IGNORE_INDEX] * longest)]  # chooses the kernel
        model = _load_model(weights, TrainConfig(), cpu, trained_on)
        kernel = model.get_base_model().config._attn_implementation
        assert kernel == attention_kernel(cpu, longest)
        losses[kernel] = float(answer_only_loss(model, **batch)[0].detach())
    assert losses["eager"] == pytest.approx(losses["sdpa"], rel=1e-4)


def test_adapters_train_without_dropout_unless_the_papers_preset_is_chosen() -> None:
    assert TrainConfig().lora_dropout == 0.0
    assert TrainConfig().lora_config().lora_dropout == 0.0
    for preset in ("lora-small", "lora-large"):
        assert TrainConfig.from_preset(preset).lora_dropout == PRESETS[preset]["lora_dropout"]
        assert PRESETS[preset]["lora_dropout"] == 0.05
    with pytest.raises(ValueError, match="lora_dropout"):
        TrainConfig(lora_dropout=1.0).validate()


async def test_training_from_async_code_runs_in_a_process_of_its_own(
    tiny_llama_dir: Path, qa_file: Path, tmp_path: Path
) -> None:
    from memo_training.async_training import atrain_memory

    out = tmp_path / "memory"
    result = await atrain_memory(
        qa_file, out, base=f"local:{tiny_llama_dir}", config=FAST, progress=False
    )
    assert result.artifact.manifest["metrics"]["steps"] > 0 and not result.already_done
    assert result.artifact.path == out
    again = await atrain_memory(
        qa_file, out, base=f"local:{tiny_llama_dir}", config=FAST, progress=False
    )
    assert again.already_done
    # The child's errors are raised here as themselves, with their message.
    with pytest.raises(DatasetError, match="missing.jsonl"):
        await atrain_memory(tmp_path / "missing.jsonl", tmp_path / "other", progress=False)
    with pytest.raises(ArtifactError, match="other data or settings"):
        await atrain_memory(
            qa_file,
            out,
            base=f"local:{tiny_llama_dir}",
            config=replace(FAST, epochs=3),
            progress=False,
        )
