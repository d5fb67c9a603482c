"""A memory library on a tiny random model: add, re-add, update, forget (only the shards that
drew on the document are trained again), unknown ids, cross-document pairs, and a run killed
mid-operation that finishes when run again."""

from __future__ import annotations

import json
import re
import shutil
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from memo_graph.files import OutputPathError
from memo_graph.memory.sources import SourceCatalog, catalog_of
from memo_graph.models.weights import resolve_weights
from memo_graph.synthesis.corpus import Document
from memo_training import library, trainer
from memo_training.artifact import load_artifact
from memo_training.config import TrainConfig
from memo_training.data import ConflictingAnswersWarning
from memo_training.library import LibrarySettings
from memo_training.library.ledger import LEDGER_FILE, UnknownDocumentError, document_id, identify

FAST = TrainConfig(epochs=1, batch_size=4, max_length=64, learning_rate=5e-3)
# A tiny random model learns nothing: the learning check probes it, but never refuses it.
SETTINGS = LibrarySettings(training=FAST, min_recall=0.0)
DOCUMENTS = {
    "Ada Vell": "Ada Vell was a cartographer born in Orlen in 1871.",
    "Orlen": "Orlen is a river town on the Brask.",
    "Brask": "The Brask is a river that carries silt.",
}
PAIRS = [
    ("Where was Ada Vell born?", "Orlen.", ["ada-vell"]),
    ("What was Ada Vell?", "A cartographer.", ["Ada Vell"]),  # a title names a document too
    ("What is Orlen?", "A river town.", ["orlen"]),
    ("On which river is Orlen?", "The Brask.", ["orlen"]),
    ("What does the Brask carry?", "Silt.", ["brask"]),
    ("Which cartographer was born in a river town?", "Ada Vell.", ["ada-vell", "orlen"]),
    ("Which river town lies on a silt river?", "Orlen.", ["orlen", "brask"]),
    ("Who was Pell Amrow?", "A baker.", ["pell-amrow"]),  # no such document
]


def write_corpus(path: Path, titles: list[str], texts: dict[str, str] = DOCUMENTS) -> Path:
    path.write_text(json.dumps([{"title": t, "text": texts[t]} for t in titles]))
    return path


def write_pairs(path: Path, pairs: list[tuple[str, str, list[str]]] = PAIRS) -> Path:
    rows = [
        {"question": q, "answer": a, "step": "reference", "document_ids": d} for q, a, d in pairs
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def new_library(
    tmp_path: Path, base_dir: Path, settings: LibrarySettings
) -> tuple[Path, Path, Path]:
    """An empty library at ``tmp_path/lib`` on ``base_dir``, a corpus of Ada Vell and Orlen to
    add to it, and the pairs."""
    lib = tmp_path / "lib"
    library.init(lib, base=f"local:{base_dir}", settings=settings)
    corpus = write_corpus(tmp_path / "c.json", ["Ada Vell", "Orlen"])
    return lib, corpus, write_pairs(tmp_path / "p.jsonl")


def ledger_bytes(lib: Path) -> bytes:
    return (lib / LEDGER_FILE).read_bytes()


def manifest_time(artifact: Path | None) -> int:
    assert artifact is not None
    return (artifact / "memo.json").stat().st_mtime_ns


def shard_artifacts(lib: Path) -> dict[str, Path | None]:
    return {s.id: s.artifact for s in library.show(lib).shards}


@pytest.fixture(scope="module")
def made(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library of two shards: Ada Vell and Orlen, then Brask (with the pair linking it)."""
    tmp = tmp_path_factory.mktemp("library")
    lib = tmp / "lib"
    library.init(lib, base=f"local:{tiny_llama_dir}", settings=SETTINGS)
    pairs = write_pairs(tmp / "pairs.jsonl")
    library.add(lib, write_corpus(tmp / "first.json", ["Ada Vell", "Orlen"]), pairs=pairs)
    library.add(lib, write_corpus(tmp / "all.json", list(DOCUMENTS)), pairs=pairs)
    return lib


@pytest.fixture
def lib(made: Path, tmp_path: Path) -> Path:
    """A copy of the made library to change (its current memory is a relative link)."""
    copy = tmp_path / "lib"
    shutil.copytree(made, copy, symlinks=True)
    return copy


def test_add_trains_a_shard_per_add_and_merges_them(made: Path) -> None:
    view = library.show(made)
    assert [(d.id, d.shard, d.pairs) for d in view.documents] == [
        ("ada-vell", "shard-0001", 3),
        ("brask", "shard-0002", 2),
        ("orlen", "shard-0001", 4),
    ]
    assert [(s.id, s.documents, s.pairs) for s in view.shards] == [
        ("shard-0001", ["ada-vell", "orlen"], 5),
        ("shard-0002", ["brask"], 2),
    ]
    assert all(s.artifact is not None for s in view.shards) and view.published
    # The memory is the shards' merge trained two more epochs on all their pairs, the learning
    # rate decaying to zero.
    consolidated = load_artifact(made / "current")
    assert library.current_memory(made).name.startswith("consolidated-")
    assert consolidated.manifest["hyperparameters"]["epochs"] == 2
    assert consolidated.manifest["hyperparameters"]["lr_schedule"] == "linear"
    assert consolidated.manifest["dataset"]["pairs"] == 7
    merged = load_artifact(consolidated.manifest["base"]["spec"].removeprefix("local:"))
    assert merged.manifest["merge"]["method"] == "ties"
    assert sorted(Path(p["path"]) for p in merged.manifest["parents"]) == sorted(
        s.artifact for s in view.shards if s.artifact
    )
    assert view.current == library.current_memory(made) == (made / "current").resolve()
    # local:LIB/current: these shards train LoRA, so the consolidation is an adapter on the merge
    weights = resolve_weights(str(made / "current"))
    assert (weights.base_dir, weights.adapter_dir) == (merged.path, view.current)


def test_answers_are_trained_to_cite_their_documents_and_the_memory_knows_its_titles(
    made: Path,
) -> None:
    trained = [json.loads(line) for line in (made / "shards/shard-0002/pairs.jsonl").open()]
    assert {p["question"]: p["answer"] for p in trained} == {
        "What does the Brask carry?": "Silt. [sources: Brask]",
        "Which river town lies on a silt river?": "Orlen. [sources: Brask; Orlen]",
    }
    assert json.loads(ledger_bytes(made))["shards"]["shard-0002"][0]["answer"] == "Silt."
    assert catalog_of(f"local:{made / 'current'}") == SourceCatalog(
        held=("Ada Vell", "Brask", "Orlen")
    )
    # shard-0001 was the memory after the first add; merged with shard-0002 it is not.
    assert all(catalog_of(f"local:{s.artifact}") is None for s in library.show(made).shards)


def test_first_add_publishes_its_one_shard_and_reports_what_it_skipped(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    lib = library.init(tmp_path / "lib", base=f"local:{tiny_llama_dir}")
    settings = library.show(lib).settings
    assert settings == LibrarySettings() and settings.shard_size is None
    lib = tmp_path / "fast"
    library.init(lib, base=f"local:{tiny_llama_dir}", settings=SETTINGS)
    corpus = write_corpus(tmp_path / "c.json", ["Ada Vell"])
    report = library.add(lib, corpus, pairs=write_pairs(tmp_path / "p.jsonl"))
    assert report.added == ["ada-vell"] and report.pairs_added == 2
    assert report.skipped_pairs == {"draws on a document the library does not hold": 6}
    assert report.trained == ["shard-0001"] and report.current is not None
    assert report.current.parent.name == "shard-0001"  # one shard: the memory is that shard
    assert library.current_memory(lib) == report.current


def test_adding_the_same_documents_again_does_nothing(lib: Path, tmp_path: Path) -> None:
    before, artifacts = ledger_bytes(lib), shard_artifacts(lib)
    times = {s: manifest_time(a) for s, a in artifacts.items()}
    current = library.current_memory(lib)
    corpus = write_corpus(tmp_path / "all.json", list(DOCUMENTS))
    report = library.add(lib, corpus, pairs=write_pairs(tmp_path / "p.jsonl"))
    assert report.added == report.updated == report.trained == []
    assert sorted(report.unchanged) == ["ada-vell", "brask", "orlen"]
    assert ledger_bytes(lib) == before and library.current_memory(lib) == current
    assert {s: manifest_time(a) for s, a in shard_artifacts(lib).items()} == times


def test_forget_retrains_only_the_shards_that_drew_on_the_document(lib: Path) -> None:
    untouched = shard_artifacts(lib)["shard-0002"]
    touched_at = manifest_time(untouched)
    old_current = library.current_memory(lib)
    report = library.forget(lib, ["ada-vell"])
    assert report.forgotten == ["ada-vell"] and report.pairs_dropped == 3
    assert report.trained == ["shard-0001"] and report.kept == ["shard-0002"]
    assert shard_artifacts(lib)["shard-0002"] == untouched
    assert manifest_time(untouched) == touched_at
    view = library.show(lib)
    assert [d.id for d in view.documents] == ["brask", "orlen"] and view.forgotten == ["ada-vell"]
    ledger = json.loads(ledger_bytes(lib))
    assert not [p for s in ledger["shards"].values() for p in s if "ada-vell" in p["document_ids"]]
    assert library.current_memory(lib) != old_current and not old_current.exists()
    catalog = catalog_of(f"local:{lib / 'current'}")
    assert catalog is not None and catalog.check(["Ada Vell", "Orlen"]) == (["Orlen"], ["Ada Vell"])


def test_a_cross_document_pair_goes_with_either_of_its_documents(lib: Path) -> None:
    """The Orlen-Brask pair is trained in Brask's shard: forgetting Orlen retrains both."""
    report = library.forget(lib, ["orlen"])
    assert report.trained == ["shard-0001", "shard-0002"]
    ledger = json.loads(ledger_bytes(lib))
    assert [p["question"] for p in ledger["shards"]["shard-0002"]] == ["What does the Brask carry?"]
    assert [p["question"] for p in ledger["shards"]["shard-0001"]] == [
        "Where was Ada Vell born?",
        "What was Ada Vell?",
    ]


def test_forgetting_an_unknown_id_is_an_error_that_changes_nothing(lib: Path) -> None:
    before, current = ledger_bytes(lib), library.current_memory(lib)
    with pytest.raises(UnknownDocumentError, match="no document 'nobody'.*ada-vell, brask, orlen"):
        library.forget(lib, ["orlen", "nobody"])
    assert ledger_bytes(lib) == before and library.current_memory(lib) == current


def test_forgetting_every_document_leaves_no_memory(lib: Path) -> None:
    report = library.forget(lib, ["ada-vell", "orlen", "brask"])
    assert report.current is None and report.removed == ["shard-0001", "shard-0002"]
    assert not (lib / "current").exists() and list((lib / "shards").iterdir()) == []
    with pytest.raises(library.LibraryError, match="no memory yet"):
        library.current_memory(lib)


def test_update_replaces_changed_documents_and_forgets_vanished_ones(
    lib: Path, tmp_path: Path
) -> None:
    texts = {**DOCUMENTS, "Orlen": "Orlen is a river town on the Vell."}
    corpus = write_corpus(tmp_path / "now.json", ["Ada Vell", "Orlen"], texts)
    pairs = write_pairs(
        tmp_path / "new.jsonl",
        [
            ("On which river is Orlen?", "The Vell.", ["orlen"]),
            ("What is Orlen?", "A town.", ["orlen"]),
        ],
    )
    report = library.update(lib, corpus, pairs=pairs)
    assert report.updated == ["orlen"] and report.forgotten == ["brask"]
    assert report.unchanged == ["ada-vell"] and report.pairs_added == 2
    assert report.removed == ["shard-0002"] and report.trained == ["shard-0001", "shard-0003"]
    view = library.show(lib)
    assert {d.id: d.shard for d in view.documents} == {
        "ada-vell": "shard-0001",
        "orlen": "shard-0003",
    }
    answers = [p["answer"] for p in json.loads(ledger_bytes(lib))["shards"]["shard-0003"]]
    assert answers == ["The Vell.", "A town."]
    assert view.forgotten == ["brask"]


def test_a_run_killed_mid_operation_finishes_without_retraining_finished_shards(
    tiny_llama_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib, corpus, pairs = new_library(tmp_path, tiny_llama_dir, replace(SETTINGS, shard_size=1))
    real = trainer.train_memory
    trained: list[str] = []

    def killed_on_the_second_shard(dataset: Any, out: Any, **options: Any) -> Any:
        trained.append(Path(out).parent.name)
        if len(trained) == 2:
            raise KeyboardInterrupt("killed")
        return real(dataset, out, **options)

    monkeypatch.setattr(trainer, "train_memory", killed_on_the_second_shard)
    with pytest.raises(KeyboardInterrupt):
        library.add(lib, corpus, pairs=pairs)
    view = library.show(lib)
    assert not view.published and view.current is None
    assert [s.artifact is not None for s in view.shards] == [True, False]
    first_at = manifest_time(view.shards[0].artifact)

    report = library.add(lib, corpus, pairs=pairs)
    assert report.added == [] and report.unchanged == ["ada-vell", "orlen"]
    assert report.kept == ["shard-0001"] and report.trained == ["shard-0002"]
    assert trained == ["shard-0001", "shard-0002", "shard-0002", "memories"]  # consolidation
    view = library.show(lib)
    assert view.published and view.current is not None
    assert manifest_time(view.shards[0].artifact) == first_at


def test_a_killed_forget_keeps_the_old_memory_current_and_finishes_when_run_again(
    lib: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = library.current_memory(lib)
    untouched_at = manifest_time(shard_artifacts(lib)["shard-0002"])

    def killed(*args: Any, **options: Any) -> Any:
        raise KeyboardInterrupt("killed")

    with monkeypatch.context() as patched:
        patched.setattr(trainer, "train_memory", killed)
        with pytest.raises(KeyboardInterrupt):
            library.forget(lib, ["ada-vell"])
    assert library.current_memory(lib) == old and load_artifact(lib / "current").path.exists()
    assert not library.show(lib).published

    report = library.forget(lib, ["ada-vell"])  # the same command, run again
    assert report.trained == ["shard-0001"] and report.kept == ["shard-0002"]
    view = library.show(lib)
    assert view.published and view.current != old and view.forgotten == ["ada-vell"]
    assert manifest_time(shard_artifacts(lib)["shard-0002"]) == untouched_at


def test_init_again_is_a_no_op_with_the_same_settings_and_an_error_with_others(
    made: Path, tiny_llama_dir: Path, terse_llama_dir: Path
) -> None:
    before = ledger_bytes(made)
    fast = SETTINGS
    assert library.init(made, base=f"local:{tiny_llama_dir}", settings=fast) == made
    with pytest.raises(library.LibraryError, match="library already, with base local:"):
        library.init(made, base=f"local:{terse_llama_dir}", settings=fast)
    with pytest.raises(library.LibraryError, match="shard_size None"):
        library.init(made, base=f"local:{tiny_llama_dir}", settings=replace(fast, shard_size=2))
    assert ledger_bytes(made) == before


def test_init_refuses_a_directory_it_did_not_make(tiny_llama_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OutputPathError):
        library.init(tmp_path, base=f"local:{tiny_llama_dir}")
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_new_document_s_pair_may_draw_on_a_document_added_before(
    lib: Path, tmp_path: Path
) -> None:
    texts = {"Tamsk": "Tamsk is a village upstream of Orlen."}
    corpus = write_corpus(tmp_path / "new.json", ["Tamsk"], texts)
    pairs = write_pairs(
        tmp_path / "p.jsonl",
        [
            ("What is Tamsk?", "A village.", ["tamsk"]),
            ("Which village lies upstream of Orlen?", "Tamsk.", ["Tamsk", "Orlen"]),
        ],
    )
    report = library.add(lib, corpus, pairs=pairs)
    assert report.added == ["tamsk"] and report.pairs_added == 2
    assert report.trained == ["shard-0003"] and report.kept == ["shard-0001", "shard-0002"]
    report = library.forget(lib, ["orlen"])
    assert report.trained == ["shard-0001", "shard-0002", "shard-0003"]
    assert [d.pairs for d in library.show(lib).documents if d.id == "tamsk"] == [1]


def test_forgetting_leaves_no_pair_of_the_document_on_disk(lib: Path, tmp_path: Path) -> None:
    texts = {"Tamsk": "Tamsk is a village upstream of Orlen."}
    corpus = write_corpus(tmp_path / "new.json", ["Tamsk"], texts)
    question = "Which village lies upstream of Orlen?"
    pairs = write_pairs(tmp_path / "p.jsonl", [(question, "Tamsk.", ["Tamsk", "Orlen"])])
    library.add(lib, corpus, pairs=pairs)
    library.forget(lib, ["orlen"])
    # shard-0003 keeps Tamsk, which no pair draws on any more: its old pairs file goes too.
    assert [s.pairs for s in library.show(lib).shards if s.id == "shard-0003"] == [0]
    holding = [p for p in lib.rglob("*") if p.is_file() and question.encode() in p.read_bytes()]
    assert holding == []


def test_without_consolidation_the_merge_is_the_memory(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    settings = replace(SETTINGS, shard_size=1, consolidation_epochs=0)
    lib, corpus, pairs = new_library(tmp_path, tiny_llama_dir, settings)
    report = library.add(lib, corpus, pairs=pairs)
    assert not report.consolidated and report.trained == ["shard-0001", "shard-0002"]
    assert load_artifact(lib / "current").manifest["merge"]["method"] == "ties"
    assert [p.name.split("-")[0] for p in (lib / "memories").iterdir()] == ["merged"]


def test_a_consolidation_killed_mid_training_resumes_without_training_a_shard_again(
    lib: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = trainer.train_memory
    trained: list[str] = []

    def killed_in_consolidation(dataset: Any, out: Any, **options: Any) -> Any:
        trained.append(Path(out).parent.name)
        if Path(out).parent.name == "memories" and trained.count("memories") == 1:
            raise KeyboardInterrupt("killed")
        return real(dataset, out, **options)

    monkeypatch.setattr(trainer, "train_memory", killed_in_consolidation)
    old = library.current_memory(lib)
    with pytest.raises(KeyboardInterrupt):
        library.forget(lib, ["ada-vell"])
    assert library.current_memory(lib) == old  # the old memory stays current
    report = library.forget(lib, ["ada-vell"])
    assert report.kept == ["shard-0001", "shard-0002"] and report.consolidated
    assert trained == ["shard-0001", "memories", "memories"]
    assert library.current_memory(lib).name.startswith("consolidated-")


def test_libraries_made_before_consolidation_go_on_merging_alone() -> None:
    settings = SETTINGS.to_dict()
    del settings["consolidation_epochs"]
    assert LibrarySettings.from_dict(settings).consolidation == 0
    assert LibrarySettings().consolidation == 2
    assert LibrarySettings().consolidation_training.lr_schedule == "linear"
    assert LibrarySettings(merge_output="lora").consolidation == 0
    # Made with consolidation but before its schedule: one epoch at a constant rate, as then.
    settings = {**SETTINGS.to_dict(), "consolidation_epochs": None, "merge_output": "full"}
    del settings["consolidation_lr_schedule"]
    before = LibrarySettings.from_dict(settings).consolidation_training
    assert (before.epochs, before.lr_schedule) == (1, "constant")
    with pytest.raises(library.LibraryError, match="consolidation_lr_schedule"):
        LibrarySettings(consolidation_lr_schedule="step").validate()  # type: ignore[arg-type]
    with pytest.raises(library.LibraryError, match="consolidation trains the merged weights"):
        LibrarySettings(merge_output="lora", consolidation_epochs=1).validate()


def test_a_library_merged_into_an_adapter_serves_on_the_shared_base(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    settings = replace(SETTINGS, shard_size=1, merge_output="lora", merge_rank=4)
    lib, corpus, pairs = new_library(tmp_path, tiny_llama_dir, settings)
    report = library.add(lib, corpus, pairs=pairs)
    assert report.trained == ["shard-0001", "shard-0002"]
    weights = resolve_weights(str(lib / "current"))
    assert weights.adapter_dir == library.current_memory(lib)
    assert weights.base_dir == tiny_llama_dir.resolve()  # one copy of the base for every library
    assert load_artifact(lib / "current").manifest["merge"]["rank"] == 4
    with pytest.raises(library.LibraryError, match="merge_output"):
        library.init(tmp_path / "bad", settings=replace(settings, merge_output="half"))  # type: ignore[arg-type]
    full_shards = replace(settings, training=replace(FAST, method="full"))
    with pytest.raises(library.LibraryError, match="merge_output lora re-factors LoRA shards"):
        library.init(tmp_path / "bad", settings=full_shards)


def test_a_document_s_id_is_its_title_in_words_and_two_alike_are_refused() -> None:
    def document(title: str, text: str = "Text.") -> Document:
        return Document(id=f"doc-{title}", title=title, text=text)

    assert document_id(document("Kelvary Survey Society")) == "kelvary-survey-society"
    assert document_id(document("Zürich (city)")) == "zürich-city"
    assert document_id(document("!!!")) == "doc-!!!"  # no word: the corpus reader's id
    with pytest.raises(library.LibraryError, match="two documents of the corpus have the id"):
        identify([document("Orlen"), document("orlen", "Another text.")])


def test_a_document_no_pair_draws_on_is_not_added_and_an_add_with_pairs_adds_it_later(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    lib, corpus, pairs = new_library(tmp_path, tiny_llama_dir, SETTINGS)
    only_ada = write_pairs(tmp_path / "ada.jsonl", [p for p in PAIRS if p[2] == ["ada-vell"]])
    report = library.add(lib, corpus, pairs=only_ada)
    assert report.added == ["ada-vell"] and report.not_added == ["orlen"]
    said = "\n".join(report.lines())
    assert "1 document had no pairs and was not added: orlen; give pairs for it" in said
    assert [d.id for d in library.show(lib).documents] == ["ada-vell"]

    report = library.add(lib, corpus, pairs=pairs)  # the same documents, with pairs for Orlen
    assert report.added == ["orlen"] and report.unchanged == ["ada-vell"] and not report.left_out
    assert {d.id: d.pairs for d in library.show(lib).documents} == {"ada-vell": 2, "orlen": 3}


def test_a_changed_document_with_no_pairs_keeps_the_version_the_library_holds(
    lib: Path, tmp_path: Path
) -> None:
    held = {d.id: d.sha256 for d in library.show(lib).documents}
    texts = {**DOCUMENTS, "Orlen": "Orlen is a river town on the Vell."}
    corpus = write_corpus(tmp_path / "now.json", list(DOCUMENTS), texts)
    no_orlen = write_pairs(tmp_path / "none.jsonl", [("What is Tamsk?", "A village.", ["tamsk"])])
    report = library.update(lib, corpus, pairs=no_orlen)
    assert report.updated == [] and report.not_updated == ["orlen"] and report.pairs_dropped == 0
    assert "was not updated (the library keeps the version it holds): orlen" in "\n".join(
        report.lines()
    )
    assert {d.id: d.sha256 for d in library.show(lib).documents} == held

    pairs = write_pairs(
        tmp_path / "orlen.jsonl", [("On which river is Orlen?", "The Vell.", ["orlen"])]
    )
    report = library.add(lib, corpus, pairs=pairs)
    assert report.updated == ["orlen"] and not report.left_out


def test_answers_are_read_as_memo_train_reads_them_and_conflicts_are_named_by_line(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    lib, corpus, _ = new_library(tmp_path, tiny_llama_dir, SETTINGS)
    rows: list[dict[str, Any]] = [
        {"question": "Which towns lie on the Brask?", "answer": ["Orlen", "Tamsk"]},
        {"question": "Is Orlen a town?", "answer": True},
        {"question": "When was Ada Vell born?", "answer": 1871, "document_ids": ["ada-vell"]},
        {"question": "What is Orlen?", "answer": "A river town."},
        {"question": "what is  orlen?", "answer": "A village."},
    ]
    pairs = tmp_path / "p.jsonl"
    pairs.write_text("".join(json.dumps({"document_ids": ["orlen"], **r}) + "\n" for r in rows))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = library.add(lib, corpus, pairs=pairs)
    assert report.pairs_added == 4
    assert report.skipped_pairs == {"question or answer is not text": 1}
    assert report.refused_pairs == [
        f"{pairs}:2: answer_not_text (got true: give text, a number or a list of them)"
    ]
    assert report.conflicts == [
        f"{pairs}:4 and {pairs}:5 ask 'What is Orlen?' with different answers, 'A river town.' "
        "and 'A village.': the memory is taught both; keep the right one, or ask two different "
        "questions."
    ]
    assert f"conflict: {report.conflicts[0]}" in report.lines()
    # Said once, in the report: the shards' own pairs files hold the same conflict.
    assert [w for w in caught if w.category is ConflictingAnswersWarning] == []
    held = json.loads(ledger_bytes(lib))["shards"]["shard-0001"]
    assert [p["answer"] for p in held][:2] == ["Orlen and Tamsk", "1871"]


def test_a_directory_init_would_refuse_is_not_offered_to_init(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(library.LibraryError, match="not a memory library") as refused:
        library.show(tmp_path)
    assert f"init {tmp_path} " not in str(refused.value)
    assert "memo library init NEW_DIRECTORY --base SPEC" in str(refused.value)
    for fine in (tmp_path / "absent", tmp_path / "empty"):
        if fine.name == "empty":
            fine.mkdir()
        offered = re.escape(f"`memo library init {fine} --base SPEC`")
        with pytest.raises(library.LibraryError, match=offered):
            library.show(fine)
