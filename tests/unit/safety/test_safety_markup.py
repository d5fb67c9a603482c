"""Text that our code did not write (model replies, paths, titles, errors) is printed as it is:
rich markup in it is neither applied nor able to crash a command."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import memo_graph.protocol
from memo_graph import cli_support as cli
from memo_graph.cli import app

HOSTILE = "[/b] [bold red]loud[/] [link=http://x]y[/link] :thumbs_up: [/]"


class MarkupGraph:
    """Stands in for the protocol graph: one exchange and a final state full of markup."""

    async def astream(self, *_: Any, **__: Any) -> AsyncIterator[tuple[Any, str, Any]]:
        exchange = {
            "stage": "grounding",
            "question": f"Q {HOSTILE}",
            "answer": f"A {HOSTILE}",
            "confident": True,
            "sent": True,
        }
        yield (), "custom", {"exchange": exchange}
        yield (
            (),
            "custom",
            {"exchange": {**exchange, "sent": False, "reasoning": f"not sent {HOSTILE}"}},
        )
        yield (
            (),
            "values",
            {
                "answer": f"answer {HOSTILE}",
                "justification": f"because {HOSTILE}",
                "entity": f"entity {HOSTILE}",
                "identified": True,
                "errors": [f"note {HOSTILE}"],
                "cost": {},
            },
        )


def test_ask_prints_markup_in_replies_literally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memo_graph.protocol, "graph", MarkupGraph())
    result = CliRunner().invoke(app, ["ask", "Who?", "--memory", "local", "--executive", "local"])
    assert result.exit_code == 0, result.output
    printed = " ".join(result.output.split())
    for shown in ("Q: Q", "A: A", "answer: answer", "justification: because", "entity: entity"):
        assert f"{shown} {HOSTILE}" in printed, shown
    assert f"Q {HOSTILE} (not sent {HOSTILE})" in printed
    assert f"note: note {HOSTILE}" in printed


@pytest.mark.parametrize("name", ["c_[old]", "x[/red]", "[bold]y"])
def test_paths_with_brackets_print_whole(tmp_path: Path, name: str) -> None:
    missing = tmp_path / name / "corpus"
    result = CliRunner().invoke(
        app, ["synthesize", str(missing), "--out", str(tmp_path / "out"), "--chunk-unit", "words"]
    )
    assert result.exit_code == 2
    assert str(missing) in result.output.replace("\n", "")
    assert "MarkupError" not in result.output


@pytest.mark.parametrize("width", [200, 40])
def test_tables_print_cells_literally_wide_or_narrow(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    from evals import cli as eval_cli

    monkeypatch.setattr(cli.console, "_width", width)
    eval_cli._print_table([{"system": HOSTILE, "f1": 0.5}], ["system", "f1"], title="t")
    printed = " ".join(capsys.readouterr().out.split())
    assert HOSTILE in printed and "0.500" in printed


def test_errors_with_markup_print_literally(capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    with pytest.raises(typer.Exit):
        cli.fail(ValueError(f"bad {HOSTILE}"))
    assert f"bad {HOSTILE}" in " ".join(capsys.readouterr().out.split())
