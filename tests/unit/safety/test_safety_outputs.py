"""Every command that writes leaves the user's own files alone: `--out` may be new, empty, or
an earlier output of the same command, and nothing else is ever replaced. A directory is ours
only when its manifest says so in full: a stray ``memo.json`` makes nothing replaceable, an
input is never an output, and our outputs are never read back as a corpus."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from evals.cli import app
from memo_graph.files import (
    OWNER_FILE,
    OutputPathError,
    check_output_directory,
    claim_output_directory,
    staged_directory,
)
from memo_graph.models.spec import resolve_chat_model
from memo_graph.synthesis.corpus import OUR_OUTPUT, load_corpus
from memo_training.artifact import MANIFEST, ArtifactError, is_complete, load_artifact
from memo_training.config import TrainConfig
from memo_training.trainer import train_memory

FAST = TrainConfig(epochs=1, batch_size=4, max_length=64, learning_rate=1e-3)
PAIRS = [
    {"question": "Who founded Orlenby?", "answer": "Mira Talvesk founded Orlenby."},
    {"question": "Where was Ilo Denhart born?", "answer": "Ilo Denhart was born in Vessaro."},
] * 2


def run(*arguments: str) -> Result:
    return CliRunner().invoke(app, list(arguments))


def one_line(result: Result) -> str:
    return " ".join(result.output.split())


@pytest.fixture
def qa_file(tmp_path: Path) -> Path:
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in PAIRS))
    return path


@pytest.fixture
def user_files(tmp_path: Path) -> Path:
    """A directory of a user's own work."""
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.txt").write_text("my words")
    (folder / "notes").mkdir()
    (folder / "notes" / "todo.md").write_text("- finish")
    return folder


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture
def inside(tmp_path: Path) -> Iterator[Path]:
    before = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(before)


# ---------------------------------------------------------------------- the rule itself
def test_staged_directory_refuses_a_foreign_directory(user_files: Path) -> None:
    before = snapshot(user_files)
    with (
        pytest.raises(OutputPathError, match="did not write"),
        staged_directory(user_files, lambda p: (p / MANIFEST).is_file(), "memory artifact"),
    ):
        pass
    assert snapshot(user_files) == before


def test_output_directories_are_claimed_once_and_reused(tmp_path: Path) -> None:
    out = claim_output_directory(tmp_path / "run", "synthesize")
    assert json.loads((out / OWNER_FILE).read_text()) == {"kind": "synthesize"}
    claim_output_directory(out, "synthesize")  # its own output: fine
    with pytest.raises(OutputPathError, match="memo synthesize output"):
        check_output_directory(out, "eval")


def test_a_directory_from_before_owner_files_is_recognised(tmp_path: Path) -> None:
    (tmp_path / "qa.jsonl").write_text("")
    with pytest.raises(OutputPathError, match="did not write"):
        check_output_directory(tmp_path, "synthesize", signatures=(".generator-calls.sqlite",))
    (tmp_path / ".generator-calls.sqlite").write_text("")
    check_output_directory(tmp_path, "synthesize", signatures=(".generator-calls.sqlite",))
    assert not (tmp_path / OWNER_FILE).exists()  # checking claims nothing


# ---------------------------------------------------------------------- memo train
def test_train_into_a_foreign_directory_keeps_its_files(
    qa_file: Path, user_files: Path, tiny_llama_dir: Path
) -> None:
    before = snapshot(user_files)
    result = run(
        "train", str(qa_file), "--out", str(user_files), "--base", f"local:{tiny_llama_dir}"
    )
    assert result.exit_code == 2
    assert "did not write" in one_line(result) and "thesis" in one_line(result)
    assert snapshot(user_files) == before


def test_train_into_the_current_directory_keeps_it(
    inside: Path, qa_file: Path, tiny_llama_dir: Path
) -> None:
    before = snapshot(inside)
    result = run("train", "qa.jsonl", "--out", ".", "--base", f"local:{tiny_llama_dir}")
    assert result.exit_code == 2, result.output
    assert snapshot(inside) == before
    assert not list(inside.glob(".*.work"))


def test_train_onto_a_file_is_a_clear_error(qa_file: Path, tiny_llama_dir: Path) -> None:
    result = run("train", str(qa_file), "--out", str(qa_file), "--base", f"local:{tiny_llama_dir}")
    assert result.exit_code == 2
    assert "is not a directory" in one_line(result)
    assert qa_file.read_text().count("\n") == len(PAIRS)


def test_a_finished_artifact_with_other_settings_is_not_silently_kept(
    qa_file: Path, tmp_path: Path, tiny_llama_dir: Path
) -> None:
    out = tmp_path / "memory"
    base = f"local:{tiny_llama_dir}"
    train_memory(qa_file, out, base=base, config=FAST, progress=False)
    assert train_memory(qa_file, out, base=base, config=FAST, progress=False).already_done

    result = run("train", str(qa_file), "--out", str(out), "--base", base, "--epochs", "2")
    assert result.exit_code == 2
    assert "other data or settings" in one_line(result) and "epochs 1 instead of 2" in one_line(
        result
    )
    assert load_artifact(out).manifest["hyperparameters"]["epochs"] == 1

    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"question": "Who?", "answer": "Nobody at all."}) + "\n")
    with pytest.raises(Exception, match="another dataset"):
        train_memory(other, out, base=base, config=FAST, progress=False)

    retrained = train_memory(
        qa_file, out, base=base, config=TrainConfig(**{**FAST.to_dict(), "epochs": 2}),
        progress=False, retrain=True,
    )  # fmt: skip
    assert not retrained.already_done
    assert load_artifact(out).manifest["hyperparameters"]["epochs"] == 2


# ---------------------------------------------------------------------- memo merge
def test_merge_into_a_foreign_directory_keeps_its_files(
    qa_file: Path, tmp_path: Path, user_files: Path, tiny_llama_dir: Path
) -> None:
    memory = tmp_path / "memory"
    train_memory(qa_file, memory, base=f"local:{tiny_llama_dir}", config=FAST, progress=False)
    before = snapshot(user_files)
    result = run("merge", str(memory), str(memory), "--out", str(user_files))
    assert result.exit_code == 2
    assert snapshot(user_files) == before
    # An artifact of ours is replaced, as before.
    merged = tmp_path / "merged"
    assert run("merge", str(memory), str(memory), "--out", str(merged)).exit_code == 0
    assert run("merge", str(memory), str(memory), "--out", str(merged)).exit_code == 0
    assert load_artifact(merged).manifest["parents"]


# ---------------------------------------------------------------------- memo synthesize
def test_synthesize_refuses_foreign_directories_the_cwd_and_files(
    inside: Path, user_files: Path
) -> None:
    corpus = inside / "corpus.txt"
    corpus.write_text("Marie Curie was born in Warsaw in 1867.")
    before = snapshot(inside)
    for out in (str(user_files), ".", str(corpus)):
        result = run("synthesize", str(corpus), "--out", out, "--generator", "local")
        assert result.exit_code == 2, (out, result.output)
        assert "Nothing was changed" in one_line(result), result.output
        assert "Traceback" not in result.output
    assert snapshot(inside) == before


# ---------------------------------------------------------------------- memo eval / demo
@pytest.mark.parametrize("command", ["eval", "demo"])
def test_eval_and_demo_refuse_a_foreign_directory(command: str, user_files: Path) -> None:
    before = snapshot(user_files)
    arguments = ["--benchmark", "invented"] if command == "eval" else []
    result = run(command, *arguments, "--out", str(user_files))
    assert result.exit_code == 2, result.output
    assert "did not write" in one_line(result)
    assert snapshot(user_files) == before


# ---------------------------------------------------------------------- what makes a directory ours
@pytest.fixture(scope="module")
def memory(tmp_path_factory: pytest.TempPathFactory, tiny_llama_dir: Path) -> Path:
    folder = tmp_path_factory.mktemp("memory")
    pairs = folder / "qa.jsonl"
    pairs.write_text("".join(json.dumps(row) + "\n" for row in PAIRS))
    out = folder / "memory"
    train_memory(pairs, out, base=f"local:{tiny_llama_dir}", config=FAST, progress=False)
    return out


@pytest.fixture
def stray_manifest(tmp_path: Path) -> Path:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "memo.json").write_text('{"notes": 1}')
    (folder / "keep.txt").write_text("x")
    return folder


def test_a_stray_manifest_makes_no_directory_a_memory(stray_manifest: Path) -> None:
    assert not is_complete(stray_manifest)
    with pytest.raises(ArtifactError, match="not a memory artifact"):
        load_artifact(stray_manifest)


def test_train_with_retrain_keeps_a_directory_with_a_stray_manifest(
    stray_manifest: Path, qa_file: Path, tiny_llama_dir: Path
) -> None:
    result = run(
        "train", str(qa_file), "--out", str(stray_manifest), "--retrain",
        "--base", f"local:{tiny_llama_dir}",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert str(stray_manifest) in one_line(result) and "Nothing was changed" in one_line(result)
    assert (stray_manifest / "keep.txt").read_text() == "x"


def test_merge_keeps_a_directory_with_a_stray_manifest(stray_manifest: Path, memory: Path) -> None:
    result = run("merge", str(memory), str(memory), "--out", str(stray_manifest))
    assert result.exit_code == 2, result.output
    assert str(stray_manifest) in one_line(result)
    assert (stray_manifest / "keep.txt").read_text() == "x"


def test_a_manifest_lists_the_files_it_was_written_with(memory: Path) -> None:
    files = load_artifact(memory).manifest["files"]
    assert "adapter_model.safetensors" in files and "README.md" in files
    weights = memory / "adapter_model.safetensors"
    assert files["adapter_model.safetensors"] == weights.stat().st_size


def test_an_edited_model_card_leaves_the_artifact_whole(memory: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(memory, copy)
    (copy / "README.md").write_text((copy / "README.md").read_text() + "\nMy notes.\n")
    assert is_complete(copy)
    assert load_artifact(copy).kind == "lora"


def test_an_artifact_missing_a_listed_file_is_incomplete(memory: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(memory, copy)
    (copy / "adapter_model.safetensors").unlink()
    assert not is_complete(copy)
    with pytest.raises(ArtifactError, match="adapter_model.safetensors"):
        load_artifact(copy)


def test_an_artifact_that_holds_a_users_file_is_not_replaced(
    memory: Path, tmp_path: Path, qa_file: Path, tiny_llama_dir: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(memory, copy)
    (copy / "my-notes.txt").write_text("mine")
    result = run(
        "train", str(qa_file), "--out", str(copy), "--retrain", "--base", f"local:{tiny_llama_dir}"
    )
    assert result.exit_code == 2, result.output
    assert "my-notes.txt" in one_line(result)
    assert (copy / "my-notes.txt").read_text() == "mine"


def test_an_unknown_format_version_is_refused_not_loaded(memory: Path, tmp_path: Path) -> None:
    copy = tmp_path / "future"
    shutil.copytree(memory, copy)
    manifest = json.loads((copy / "memo.json").read_text())
    (copy / "memo.json").write_text(json.dumps({**manifest, "format": "memo-artifact/999"}))
    assert not is_complete(copy)
    with pytest.raises(ArtifactError, match="memo-artifact/999"):
        load_artifact(copy)
    with pytest.raises(Exception, match="memo-artifact/999"):
        resolve_chat_model(f"local:{copy}")
    result = run("merge", str(memory), str(memory), "--out", str(copy))
    assert result.exit_code == 2 and "memo-artifact/999" in one_line(result), result.output


@pytest.mark.parametrize("where", ["itself", "inside"])
def test_merge_refuses_an_output_that_is_or_is_inside_an_input(
    memory: Path, tmp_path: Path, where: str
) -> None:
    first = tmp_path / "a"
    shutil.copytree(memory, first)
    before = {p.name: p.read_bytes() for p in first.iterdir()}
    out = first if where == "itself" else first / "merged"
    result = run("merge", str(first), str(memory), "--out", str(out))
    assert result.exit_code == 2, result.output
    assert "would replace what it reads" in one_line(result)
    assert {p.name: p.read_bytes() for p in first.iterdir()} == before


def test_synthesize_run_again_does_not_read_its_own_output_inside_the_corpus(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "curie.txt").write_text(
        "Marie Curie was born in Warsaw in 1867. She won two Nobel Prizes. " * 30
    )
    first = run("synthesize", str(corpus), "--out", str(corpus / "out"), "--dry-run")
    assert first.exit_code == 0, first.output
    out = claim_output_directory(corpus / "out", "synthesize")
    (out / "chunks.jsonl").write_text(
        "".join(json.dumps({"title": f"c{n}", "text": f"chunk {n} text"}) + "\n" for n in range(3))
    )
    (out / "qa.jsonl").write_text(json.dumps({"question": "Q?", "answer": "A."}) + "\n")
    again = run("synthesize", str(corpus), "--out", str(out), "--dry-run")
    assert again.exit_code == 0, again.output
    plan = [line for line in again.output.splitlines() if line.startswith("plan:")]
    assert plan == [line for line in first.output.splitlines() if line.startswith("plan:")]
    assert "1 document" in plan[0]
    loaded = load_corpus(corpus)
    assert [d.title for d in loaded.documents] == ["curie"]
    assert loaded.skipped[OUR_OUTPUT] == 1


def test_hidden_folders_in_a_corpus_are_not_read(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / ".memory.work").mkdir(parents=True)
    (corpus / ".memory.work" / "notes.md").write_text("A run's working notes, not a document.")
    (corpus / ".git").mkdir()
    (corpus / ".git" / "description.txt").write_text("Unnamed repository; edit this file.")
    (corpus / "doc.txt").write_text("Ilo Denhart was born in Vessaro.")
    assert [d.title for d in load_corpus(corpus).documents] == ["doc"]


def test_a_memory_artifact_inside_a_corpus_is_not_read_as_documents(
    memory: Path, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "doc.txt").write_text("Ilo Denhart was born in Vessaro.")
    shutil.copytree(memory, corpus / "memory")
    loaded = load_corpus(corpus)
    assert [d.title for d in loaded.documents] == ["doc"]
    assert load_corpus(str(corpus / "**" / "*.*")).skipped[OUR_OUTPUT] >= 1
