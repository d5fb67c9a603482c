"""Shared fixtures: a tiny randomly initialised llama with the SmolLM2 tokenizer (unit tests)
and the real embedded model (integration tests)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.servers import SERVER_LOGS
from tests.tiny_models import FAMILIES, build_tiny_model

os.environ.setdefault("LANGGRAPH_CLI_NO_ANALYTICS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


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
    """A tiny model of each family (llama, qwen2, gemma3) with its own chat template."""
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
