"""With LANGSMITH_API_KEY set, the real LangSmith client uploads the evaluation: a small HTTP
receiver on loopback (tests/servers.py) stands in for the LangSmith API and records what the
client posts."""

from __future__ import annotations

import pytest

from evals.pipeline import EvalSettings, Models, evaluate
from tests.servers import langsmith_receiver
from tests.unit.evals.test_eval_runner import reading_executive

pytestmark = pytest.mark.integration


@pytest.fixture
def receiver(monkeypatch):
    with langsmith_receiver() as (url, received):
        monkeypatch.setenv("LANGSMITH_API_KEY", "lsv2-test-key")
        monkeypatch.setenv("LANGSMITH_ENDPOINT", url)
        yield received


async def test_the_real_client_posts_runs_and_feedback(tmp_path, receiver) -> None:
    from langsmith import Client

    executive = reading_executive()
    await evaluate(
        EvalSettings(benchmark="invented", out=tmp_path, systems=["oracle"], limit=2),
        Models(executive=executive, judge=executive),
        progress=None,
    )
    Client().flush()  # the background tracing thread sends what it still holds
    posted = b"\n".join(body for method, _, body in receiver if method in ("POST", "PATCH"))
    paths = {path.split("?")[0] for _, path, _ in receiver}
    assert any(p.endswith("/datasets") for p in paths)
    assert any(p.endswith("/sessions") for p in paths)  # the experiment
    # the runs: inputs (the questions) and outputs (the oracle's answers)
    assert b"In which year was Orvane Tessaly born?" in posted
    assert b"Ilsabet Marrow" in posted
    # the feedback: our metrics by key
    for key in (b"exact_match", b"f1", b"judge_correct"):
        assert key in posted, key
    assert any("/feedback" in p or "/runs" in p for p in paths), sorted(paths)
