"""Strings that did not come from our code (file names, titles, model replies) reach the
terminal with their control characters made visible: a file name cannot clear the screen or
change its colours, piped or not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evals.cli import app
from memo_graph.printable import visible

ESCAPES = "\033[2J\033[31m"


def test_visible_writes_control_characters_as_escapes_and_keeps_text() -> None:
    assert visible(f"a{ESCAPES}b") == "a\\x1b[2J\\x1b[31mb"
    assert visible("tab\tand\nnewline stay") == "tab\tand\nnewline stay"
    assert visible("over\rwrite\x07\x9b\u202e") == "over\\x0dwrite\\x07\\x9b\\u202e"
    assert visible("Zürich, 東京, Αθήνα") == "Zürich, 東京, Αθήνα"


@pytest.mark.parametrize("corpus_file", ["named", "titled"])
def test_synthesize_dry_run_prints_no_escape_from_a_corpus(
    tmp_path: Path, corpus_file: str
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    if corpus_file == "named":
        (corpus / f"evil{ESCAPES}.txt").write_text("")  # skipped as empty: its name is printed
        (corpus / "good.txt").write_text("Marie Curie was born in Warsaw in 1867.")
    else:
        records = [{"title": f"T{ESCAPES}", "text": "Marie Curie was born in Warsaw."}, {"x": 1}]
        (corpus / f"list{ESCAPES}.json").write_text(json.dumps(records))
    result = CliRunner().invoke(
        app, ["synthesize", str(corpus), "--out", str(tmp_path / "out"), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "\033" not in result.output
    assert "\\x1b[2J" in result.output


def test_an_error_naming_a_path_with_escapes_prints_them_visibly(tmp_path: Path) -> None:
    pairs = tmp_path / "qa.jsonl"
    pairs.write_text(json.dumps({"question": "Who?", "answer": "Nobody."}) + "\n")
    taken = tmp_path / f"taken{ESCAPES}"
    taken.write_text("a file of the user's")
    result = CliRunner().invoke(app, ["train", str(pairs), "--out", str(taken)])
    assert result.exit_code == 2, result.output
    assert "\033" not in result.output and "\\x1b[31m" in result.output
