"""`memo ask` end to end on a tiny local model playing both roles."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from memo_graph.cli import app


def ask(memory: str, executive: str, *extra: str) -> Result:
    """`memo ask` with budgets of one turn per stage."""
    arguments = ["ask", "Who founded the glassworks?", "--memory", memory]
    arguments += ["--executive", executive, "--identification-turns", "1", "--seeking-turns", "1"]
    return CliRunner().invoke(app, [*arguments, *extra])


def test_ask_prints_answer_trail_and_cost(tiny_llama_dir: Path) -> None:
    result = ask(str(tiny_llama_dir), f"local:{tiny_llama_dir}")
    assert result.exit_code == 0, result.output
    assert "answer:" in result.output and "justification:" in result.output
    assert "grounding" in result.output and "Q:" in result.output
    assert "executive:" in result.output and "memory:" in result.output


def test_ask_json_output_is_the_output_state(tiny_llama_dir: Path) -> None:
    result = ask(f"local:{tiny_llama_dir}", f"local:{tiny_llama_dir}", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert {"answer", "justification", "trail", "cost", "candidates", "errors"} <= set(out)


def test_ask_with_a_missing_artifact_says_what_to_do(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["ask", "Who?", "--memory", str(tmp_path / "nothing-here")])
    assert result.exit_code == 2
    assert "nothing-here" in result.output


def test_ask_refuses_a_zero_budget() -> None:
    result = CliRunner().invoke(app, ["ask", "Who?", "--seeking-turns", "0"])
    assert result.exit_code == 2
    assert "seeking_turns" in result.output
