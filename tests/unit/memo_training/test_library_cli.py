"""The library from the command line (memo library init/show, memo add/update/forget), from an
agent (MemoryTool.from_library), and with pairs synthesized for the new documents only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import evals.cli
from memo_graph import MemoryTool
from memo_graph.synthesis import SynthesisContext
from memo_training import library
from memo_training.config import TrainConfig
from memo_training.library import LibrarySettings
from memo_training.library.ledger import LEDGER_FILE
from tests.synthesis_run import scripted_generator
from tests.unit.memo_training.test_library import DOCUMENTS, SETTINGS, write_corpus, write_pairs

FAST_OPTIONS = [
    *("--epochs", "1", "--batch-size", "4", "--max-length", "64", "--lr", "5e-3"),
    *("--min-recall", "0"),
]


def memo(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(evals.cli.app, [str(a) for a in args], env={"COLUMNS": "300"})
    return result.exit_code, result.output


def test_the_library_commands_on_a_tiny_model(terse_llama_dir: Path, tmp_path: Path) -> None:
    lib, pairs = tmp_path / "lib", write_pairs(tmp_path / "pairs.jsonl")
    first = write_corpus(tmp_path / "first.json", ["Ada Vell", "Orlen"])
    code, out = memo("library", "init", lib, "--base", f"local:{terse_llama_dir}", *FAST_OPTIONS)
    assert code == 0, out
    assert library.show(lib).settings == SETTINGS

    code, out = memo("add", lib, first, "--pairs", pairs)
    assert code == 0, out
    assert "added: ada-vell, orlen" in out and "shards trained: shard-0001" in out
    code, out = memo("add", lib, first, "--pairs", pairs)
    assert code == 0 and "no document to add, update or forget" in out, out

    everything = write_corpus(tmp_path / "all.json", list(DOCUMENTS))
    code, out = memo("update", lib, everything, "--pairs", pairs)
    assert code == 0 and "added: brask" in out and "kept: shard-0001" in out, out
    assert "trained on all their pairs (consolidated)" in out
    assert library.current_memory(lib).name.startswith("consolidated-")

    code, out = memo("forget", lib, "brask")
    assert code == 0 and "forgotten: brask" in out and "shards removed: shard-0002" in out, out
    code, out = memo("library", "show", lib)
    assert code == 0, out
    assert "ada-vell: 'Ada Vell', 3 pairs, shard-0001" in out and "forgotten: brask" in out
    assert f"current memory: {library.current_memory(lib)}" in out

    before = (lib / LEDGER_FILE).read_bytes()
    code, out = memo("forget", lib, "nobody")
    assert code == 2 and out.startswith("error: ") and "no document 'nobody'" in out, out
    assert len(out.strip().splitlines()) == 1 and (lib / LEDGER_FILE).read_bytes() == before

    code, out = memo("add", lib, first, "--pairs", pairs, "--generator", "local")
    assert code == 2 and "not both" in out, out
    code, out = memo("library", "show", tmp_path)
    assert code == 2 and "is not a memory library" in out, out


def test_init_full_trains_full_weight_shards_with_the_full_preset(
    terse_llama_dir: Path, tmp_path: Path
) -> None:
    base = f"local:{terse_llama_dir}"
    code, out = memo("library", "init", tmp_path / "a", "--base", base, "--full")
    assert code == 0, out
    assert library.show(tmp_path / "a").settings.training == TrainConfig.from_preset("full")
    code, out = memo("library", "init", tmp_path / "b", "--base", base, "--full", "--lr", "1e-4")
    assert code == 0, out
    training = library.show(tmp_path / "b").settings.training
    assert (training.method, training.learning_rate) == ("full", 1e-4)
    code, out = memo("library", "init", tmp_path / "c", "--base", base)
    assert code == 0 and library.show(tmp_path / "c").settings.training.method == "lora", out


def test_the_tool_asks_the_library_s_current_memory(terse_llama_dir: Path, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    library.init(lib, base=f"local:{terse_llama_dir}", settings=SETTINGS)
    corpus = write_corpus(tmp_path / "c.json", ["Orlen"])
    library.add(lib, corpus, pairs=write_pairs(tmp_path / "p.jsonl"))
    tool = MemoryTool.from_library(lib, max_tokens=4)
    assert tool.backend.model.model == str(library.current_memory(lib))
    message = tool.invoke(
        {"type": "tool_call", "id": "1", "name": tool.name, "args": {"questions": "What is Orlen?"}}
    )
    assert [reply["question"] for reply in message.artifact] == ["What is Orlen?"]


def test_the_generator_route_synthesizes_the_new_documents_only(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    library.init(lib, base=f"local:{tiny_llama_dir}", settings=SETTINGS)
    context = SynthesisContext(
        steps=["extraction"], chunk_unit="words", chunk_size=40, chunk_overlap=5
    )
    generator = scripted_generator()
    first = write_corpus(tmp_path / "first.json", ["Ada Vell"])
    report = library.add(lib, first, generator=generator, synthesis=context)
    assert report.added == ["ada-vell"] and report.pairs_added > 0 and not report.skipped_pairs
    calls = generator.calls

    both = write_corpus(tmp_path / "both.json", ["Ada Vell", "Orlen"])
    report = library.add(lib, both, generator=generator, synthesis=context)
    assert report.added == ["orlen"] and report.trained == ["shard-0002"]
    assert generator.calls - calls == calls  # one document each time, as many calls
    ledger = json.loads((lib / LEDGER_FILE).read_text())
    drawn = {
        s: {i for p in pairs for i in p["document_ids"]} for s, pairs in ledger["shards"].items()
    }
    assert drawn == {"shard-0001": {"ada-vell"}, "shard-0002": {"orlen"}}
    assert not (lib / "work").exists()  # the synthesis run is removed once its pairs are held


def test_library_init_without_options_uses_the_settings_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[tuple[str, LibrarySettings | None]] = []

    def init(lib: Path, base: str = "not given", settings: LibrarySettings | None = None) -> Path:
        seen.append((base, settings))
        return lib

    monkeypatch.setattr(library, "init", init)
    code, out = memo("library", "init", tmp_path / "lib")
    assert code == 0, out
    assert seen == [("not given", LibrarySettings())]  # init's own default base applies
    code, out = memo("library", "init", tmp_path / "lib", "--no-cite-sources", "--shard-size", "2")
    assert code == 0, out
    assert seen[-1] == ("not given", LibrarySettings(cite_sources=False, shard_size=2))


def test_memo_add_names_documents_left_out_for_want_of_pairs_and_exits_1(
    terse_llama_dir: Path, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    library.init(lib, base=f"local:{terse_llama_dir}", settings=SETTINGS)
    corpus = write_corpus(tmp_path / "c.json", ["Ada Vell", "Orlen", "Brask"])
    only_ada = write_pairs(
        tmp_path / "ada.jsonl", [("Who was Ada Vell?", "A cartographer.", ["ada-vell"])]
    )
    code, out = memo("add", lib, corpus, "--pairs", only_ada)
    assert code == 1, out
    assert "added: ada-vell" in out
    assert "2 documents had no pairs and were not added: brask, orlen; give pairs for them" in out
    code, out = memo("add", lib, corpus, "--pairs", write_pairs(tmp_path / "all.jsonl"))
    assert code == 0 and "added: brask, orlen" in out, out


def test_a_directory_with_other_files_is_not_offered_to_memo_library_init(
    tmp_path: Path,
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    code, out = memo("library", "show", tmp_path)
    assert code == 2 and "is not a memory library" in out, out
    assert f"init {tmp_path} " not in out and "init NEW_DIRECTORY" in out
