"""Pairs that would teach the wrong thing: answers that are numbers or lists are taken as a user
writes them, anything else that is not text is left out and named by its line, a row without
its columns names its line, and a question asked twice with two answers is a warning that
reaches the terminal of `memo train`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from memo_training.data import ConflictingAnswersWarning, DatasetError, load_qa_dataset
from tests.paths import REPO


def write_lines(path: Path, rows: list[object]) -> Path:
    """One JSON value per line; None writes a blank line (the line numbers still count it)."""
    path.write_text("".join("\n" if row is None else json.dumps(row) + "\n" for row in rows))
    return path


def test_numbers_and_lists_of_answers_are_taken_as_a_user_would_write_them(
    tmp_path: Path,
) -> None:
    path = write_lines(
        tmp_path / "p.jsonl",
        [
            {"question": "When was Ada Vell born?", "answer": 1871},
            {"question": "How deep is the Brask?", "answer": 3.5},
            {"question": "Which towns lie on the Brask?", "answer": ["Orlen", "Tamsk"]},
            {"question": "Which rivers meet at Orlen?", "answer": ["Brask", "Vell", "Ost"]},
            {"question": "Which years?", "answer": [1871, "1902"]},
        ],
    )
    loaded = load_qa_dataset(path)
    assert [p.answer for p in loaded.pairs] == [
        "1871",
        "3.5",
        "Orlen and Tamsk",
        "Brask, Vell and Ost",
        "1871 and 1902",
    ]
    assert not loaded.skipped and not loaded.conflicts


def test_answers_and_questions_that_are_not_text_are_left_out_and_named_by_their_line(
    tmp_path: Path,
) -> None:
    path = write_lines(
        tmp_path / "p.jsonl",
        [
            {"question": "Is Orlen a town?", "answer": True},
            None,
            {"question": "What is Orlen?", "answer": {"kind": "town"}},
            {"question": "Which towns?", "answer": [["Orlen"], "Tamsk"]},
            {"question": "Who was Ada Vell?", "answer": None},
            {"question": 42, "answer": "The answer."},
            {"question": "What is the Brask?", "answer": "A river."},
        ],
    )
    loaded = load_qa_dataset(path)
    assert [(p.question, p.answer) for p in loaded.pairs] == [("What is the Brask?", "A river.")]
    assert loaded.skipped == {"answer_not_text": 3, "empty_answer": 1, "question_not_text": 1}
    assert loaded.skipped_rows == [
        "row 1: answer_not_text (got true: give text, a number or a list of them)",
        'row 3: answer_not_text (got {"kind": "town"}: give text, a number or a list of them)',
        'row 4: answer_not_text (got [["Orlen"], "Tamsk"]: give text, a number or a list of them)',
        "row 5: empty_answer",
        "row 6: question_not_text (got 42: give the question as text)",
    ]


def test_a_row_without_a_question_or_answer_names_its_file_and_line(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "p.jsonl",
        [{"question": "What is Orlen?", "answer": "A town."}, None, {"question": "Who?"}],
    )
    where = re.escape(f"{path}:3")
    with pytest.raises(DatasetError, match=rf"^{where}: the row has no 'question' or 'answer'"):
        load_qa_dataset(path)
    listed = tmp_path / "p.json"
    listed.write_text(json.dumps([{"question": "Who?", "answer": "Ada."}, {"answer": "Ada."}]))
    where = re.escape(f"{listed} row 2")
    with pytest.raises(DatasetError, match=rf"^{where}: the row has no 'question'"):
        load_qa_dataset(listed)


def test_a_question_asked_twice_with_two_answers_is_a_warning_naming_both_lines(
    tmp_path: Path,
) -> None:
    path = write_lines(
        tmp_path / "p.jsonl",
        [
            {"question": "Where was Ada Vell born?", "answer": "Orlen."},
            {"question": "What is the Brask?", "answer": "A river."},
            None,
            {"question": "  where was ADA VELL   born? ", "answer": "Tamsk."},
            {"question": "What is the Brask?", "answer": "a  river."},  # the same answer again
        ],
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = load_qa_dataset(path)
    said = [str(w.message) for w in caught if w.category is ConflictingAnswersWarning]
    assert said == loaded.conflicts and len(said) == 1
    assert said[0].startswith(
        f"{path}:1 and {path}:4 ask 'Where was Ada Vell born?' with different answers, "
        "'Orlen.' and 'Tamsk.'"
    )
    assert len(loaded.pairs) == 4  # a warning: every pair is still trained


def test_memo_train_shows_the_conflict_and_the_rows_it_left_out(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    path = write_lines(
        tmp_path / "p.jsonl",
        [
            {"question": "Where was Ada Vell born?", "answer": "Orlen."},
            {"question": "Is Orlen a town?", "answer": True},
            {"question": "Where was Ada Vell born?", "answer": "Tamsk."},
        ],
    )
    memo = "from evals.cli import app; app()"
    options = ["--epochs", "1", "--batch-size", "2", "--max-length", "64"]
    done = subprocess.run(
        [sys.executable, "-c", memo, "train", str(path), "--out", str(tmp_path / "m")]
        + ["--base", f"local:{tiny_llama_dir}", *options],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "300", "PYTHONWARNINGS": ""},
    )
    assert done.returncode == 0, done.stderr
    said = f"warning: {path}:1 and {path}:3 ask 'Where was Ada Vell born?' with different"
    assert said in done.stdout
    assert "ConflictingAnswersWarning" not in done.stdout + done.stderr
    assert f"skipped {path} row 2: answer_not_text (got true" in done.stdout
