"""notebooks/quickstart.ipynb, executed as a user would run it (a real Jupyter kernel), with
the embedded model in every role."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.integration

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "quickstart.ipynb"


def _text(cell: nbformat.NotebookNode) -> str:
    """What the cell printed and returned (not its stderr: progress bars, warnings)."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("name") == "stdout":
            parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def test_notebook_is_committed_with_outputs_cleared() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.heavy(minutes=4)
def test_quickstart_runs_the_whole_flow(tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any failure

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    synthesis, training, tool, protocol, comparison = (_text(cell) for cell in code[1:])
    assert int(synthesis.split()[0]) > 0, synthesis  # "<N> pairs, for example: ..."
    assert "loss" in training
    assert "In which year was Orvane Tessaly born?" in tool
    assert "A:" in protocol and "[grounding]" in protocol
    for system in ("closed book", "MEMORY alone", "MEMO (protocol + MEMORY)", "BM25 RAG"):
        assert system in comparison
    assert (tmp_path / "memo-quickstart" / "memory" / "memo.json").exists()
