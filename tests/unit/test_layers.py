"""The packages are layers that point one way: ``memo_graph`` (the graphs, the MEMORY tool, the
models) imports neither ``memo_training`` nor ``evals``, and ``memo_training`` never imports
``evals``. Each package's modules are all imported in a Python that cannot import the layers
above it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.paths import REPO

IMPORT_EVERY_MODULE = textwrap.dedent(
    """
    import importlib, importlib.abc, pkgutil, sys
    PACKAGE, ABOVE = sys.argv[1], sys.argv[2].split(",")

    class Above(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ABOVE:
                raise ModuleNotFoundError(f"{name} is a layer above {PACKAGE}", name=name)
            return None

    sys.meta_path.insert(0, Above())
    package = importlib.import_module(PACKAGE)
    modules = [m.name for m in pkgutil.walk_packages(package.__path__, PACKAGE + ".")]
    for name in modules:
        importlib.import_module(name)
    print(len(modules), "modules")
    """
)


@pytest.mark.parametrize(
    ("package", "above"),
    [("memo_graph", "memo_training,evals"), ("memo_training", "evals")],
)
def test_a_package_imports_no_layer_above_it(package: str, above: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERY_MODULE, package, above],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "modules" in done.stdout


def test_the_memo_app_holds_every_package_s_commands() -> None:
    from evals.cli import app

    names = {c.name or c.callback.__name__ for c in app.registered_commands if c.callback}
    assert {"chat", "ask", "synthesize"} <= names  # memo_graph
    assert {"train", "merge", "serve", "add", "update", "forget"} <= names  # memo_training
    assert {"eval", "demo"} <= names  # evals
    assert [g.name for g in app.registered_groups] == ["library"]
