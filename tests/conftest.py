"""Shared fixtures: a tiny randomly initialised llama with the SmolLM2 tokenizer (unit tests)
and the real embedded model (integration tests)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.servers import SERVER_LOGS
from tests.tiny_models import FAMILIES, build_tiny_model

os.environ.setdefault("LANGGRAPH_CLI_NO_ANALYTICS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The commands' output is checked for the temporary paths it names, which run long (longer
# under pytest-xdist, whose workers each get a folder): a wide terminal keeps rich from
# breaking a path across lines. Tests of the narrow layout set their own width.
os.environ.setdefault("COLUMNS", "240")


def _share_the_cores_among_workers() -> None:
    """Under pytest-xdist, each worker (and every command its tests start, which inherits the
    environment) computes on its share of the cores: a worker per core each running one torch
    thread per core would fight over them and be slower than one worker alone."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers <= 1:
        return
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


_share_the_cores_among_workers()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests first, longest first, each followed by a short one. pytest-xdist hands each
    worker the next two tests in this order, so the long tests start at once on different
    workers instead of queueing behind each other at the end. Run without workers, the order
    changes only when each test runs."""

    def minutes(item: pytest.Item) -> float:
        marker = item.get_closest_marker("heavy")
        return float(marker.kwargs["minutes"]) if marker else 0.0

    heavy = sorted((item for item in items if minutes(item)), key=minutes, reverse=True)
    light = [item for item in items if not minutes(item)]
    ordered: list[pytest.Item] = []
    for index, item in enumerate(heavy):
        ordered.append(item)
        if index < len(light):
            ordered.append(light[index])
    ordered.extend(light[len(heavy) :])
    items[:] = ordered


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model("llama", tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def terse_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny llama that writes the shortest reply it may (tests of commands' flow)."""
    return build_tiny_model("llama", tmp_path_factory.mktemp("terse-llama"), terse=True)


@pytest.fixture(scope="session", params=FAMILIES)
def tiny_family_dir(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A tiny model of each family (llama, qwen2, gemma3, lfm2) with its own chat template."""
    return build_tiny_model(request.param, tmp_path_factory.mktemp(f"tiny-{request.param}"))


@pytest.fixture(scope="session")
def embedded_dir() -> Path:
    from memo_graph.models.weights import resolve_weights

    return resolve_weights(None).base_dir


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report: pytest.TestReport = yield
    module = getattr(item, "module", None)
    log = SERVER_LOGS.get(module.__name__) if module is not None else None
    if report.failed and log is not None and log.exists():
        report.sections.append(("server log, last lines", log.read_text(errors="replace")[-6000:]))
    return report
