"""A question the protocol cannot ask is reported in the command line's words."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from memo_graph.cli import app

UNREACHABLE = "openai-compatible:m@http://127.0.0.1:9/v1"


@pytest.mark.parametrize("question", ["", "   \n\t"])
def test_memo_ask_with_an_empty_question_says_to_give_one(question: str) -> None:
    result = CliRunner().invoke(
        app, ["ask", question, "--executive", UNREACHABLE, "--memory", UNREACHABLE]
    )
    assert result.exit_code == 2, result.output
    assert result.output.strip() == "error: the question is empty; give a question to ask."
