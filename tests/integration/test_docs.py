"""The documentation site builds with no warning (``mkdocs build --strict``: every link and
reference resolves, the API pages import what they document), its CLI reference holds every
command of the ``memo`` app, and the README stays an entrance, not a manual."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from evals.cli import app
from tests.paths import REPO

pytestmark = pytest.mark.integration
README_MOST_LINES = 250


def test_the_site_builds_strictly_with_every_command_in_its_cli_reference(tmp_path: Path) -> None:
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    cli = (site / "reference" / "cli" / "index.html").read_text()
    command = typer.main.get_command(app)
    assert isinstance(command, typer.core.TyperGroup)
    for name in command.commands:
        assert f"memo {name}" in cli, name
    api = (site / "reference" / "api" / "index.html").read_text()
    assert "train_memory" in api and "MemoryTool" in api and "build_protocol" in api


def test_the_readme_is_short() -> None:
    lines = (REPO / "README.md").read_text().splitlines()
    assert len(lines) <= README_MOST_LINES, len(lines)
