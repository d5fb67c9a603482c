"""Every file, line or record the corpus loader leaves out is named in its report, and one bad
JSONL line costs only that line."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from memo_graph.synthesis.corpus import CorpusError, SkippedItem, load_corpus


def _line(title: str, text: str | None = None) -> str:
    return json.dumps({"title": title} if text is None else {"title": title, "text": text})


def _named(items: list[SkippedItem]) -> dict[str, str]:
    return {item.where: item.reason for item in items}


def test_a_bad_jsonl_line_costs_only_that_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    lines = [
        _line("Pharos", "A lighthouse stood on Pharos."),
        '{"title": "Broken", "text": "cut off',
        "",
        _line("Alexandria", "Alexandria was founded in 331 BC."),
        "[1, 2]",
        _line("No text"),
        _line("Pharos", "A lighthouse stood on Pharos."),
        # U+2028 is legal inside a JSON string and must not split its line.
        _line("Separator", "Before\u2028after."),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    corpus = load_corpus(path)

    assert [d.title for d in corpus.documents] == ["Pharos", "Alexandria", "Separator"]
    assert corpus.skipped == {
        "invalid JSON line": 1,
        "record is not an object": 1,
        "record without text": 1,
        "duplicate document": 1,
    }
    assert _named(corpus.skipped_items) == {
        f"{path}:2": "invalid JSON line",
        f"{path}:5": "record is not an object",
        f"{path}:6": "record without text",
        f"{path}:7": "duplicate document",
    }
    by_reason = {item.reason: item for item in corpus.skipped_items}
    assert "column" in by_reason["invalid JSON line"].detail
    assert by_reason["duplicate document"].detail == f"same as {path}:1"


def test_records_of_a_json_list_are_named_by_index(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text(json.dumps([{"title": "Kept", "text": "Some text."}, {"title": "Empty"}, 7]))
    corpus = load_corpus(path)
    assert [d.title for d in corpus.documents] == ["Kept"]
    assert _named(corpus.skipped_items) == {
        f"{path}[1]": "record without text",
        f"{path}[2]": "record is not an object",
    }


def test_every_skipped_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("Marie Curie was born in Warsaw.")
    (tmp_path / "latin1.txt").write_bytes("café crème".encode("latin-1"))
    (tmp_path / "image.md").write_bytes(b"\x89PNG\x00\x00\x01")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "broken.json").write_text("[{'title': 'x'")
    (tmp_path / "scalar.json").write_text("3")
    (tmp_path / "paper.pdf").write_bytes(b"%PDF-1.7")

    corpus = load_corpus(tmp_path)

    assert [d.title for d in corpus.documents] == ["good"]
    assert _named(corpus.skipped_items) == {
        str(tmp_path / "latin1.txt"): "undecodable file",
        str(tmp_path / "image.md"): "binary file",
        str(tmp_path / "empty.txt"): "empty file",
        str(tmp_path / "broken.json"): "invalid JSON file",
        str(tmp_path / "scalar.json"): "JSON file is not a list of {title, text}",
        str(tmp_path / "paper.pdf"): "unsupported file type .pdf",
    }
    assert Counter(item.reason for item in corpus.skipped_items) == corpus.skipped
    undecodable = next(i for i in corpus.skipped_items if i.reason == "undecodable file")
    assert undecodable.detail == "not UTF-8 at byte 3"


def test_a_file_that_cannot_be_read_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "good.txt").write_text("The Vistula flows north.")
    locked = tmp_path / "locked.txt"
    locked.write_text("never read")
    read_bytes = Path.read_bytes

    def refuse(self: Path) -> bytes:
        # Tests run as root, where file modes do not stop a read.
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    corpus = load_corpus(tmp_path)
    assert [d.title for d in corpus.documents] == ["good"]
    assert corpus.skipped_items == [
        SkippedItem("unreadable file", str(locked), "Permission denied")
    ]


def test_a_directory_that_cannot_be_listed_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "good.txt").write_text("The Vistula flows north.")
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "hidden-from-us.txt").write_text("never read")
    scandir = os.scandir

    def refuse(path: Any) -> Any:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse)
    corpus = load_corpus(tmp_path)
    assert [d.title for d in corpus.documents] == ["good"]
    assert corpus.skipped_items == [
        SkippedItem("unreadable directory", str(locked), "Permission denied")
    ]


def test_a_saved_dataset_names_its_skipped_rows(tmp_path: Path) -> None:
    from datasets import Dataset, DatasetDict

    rows = {"title": ["Pharos", "Blank"], "text": ["A lighthouse stood here.", " "]}
    DatasetDict({"train": Dataset.from_dict(rows)}).save_to_disk(str(tmp_path / "saved"))
    corpus = load_corpus(tmp_path / "saved")
    assert [d.title for d in corpus.documents] == ["Pharos"]
    assert _named(corpus.skipped_items) == {f"{tmp_path / 'saved'}/train[1]": "record without text"}


def test_a_corpus_of_only_bad_lines_is_still_an_error(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text("{oops\n{also bad\n")
    with pytest.raises(CorpusError, match=r"holds no document \(2 invalid JSON line\)"):
        load_corpus(tmp_path)


def test_training_data_skips_name_their_rows(tmp_path: Path) -> None:
    from memo_training.data import load_qa_dataset

    path = tmp_path / "qa.jsonl"
    rows = [{"question": "Who?", "answer": "Mira."}, {"question": "", "answer": "x"}]
    rows.append({"question": "Where?", "answer": " "})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    loaded = load_qa_dataset(path)
    assert len(loaded.pairs) == 1
    assert loaded.skipped_rows == ["row 2: empty_question", "row 3: empty_answer"]
