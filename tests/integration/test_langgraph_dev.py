"""The protocol graph served by a real ``langgraph dev`` server (as LangGraph Studio uses it),
driven through ``langgraph-sdk``, with the embedded model as EXECUTIVE and MEMORY."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_client

from tests.servers import SERVER_LOGS, free_port, wait_until_up

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
# Small budgets: the embedded model writes about 15 tokens a second on two cores.
CONTEXT = {
    "identification_turns": 1,
    "seeking_turns": 1,
    "max_subquestions": 2,
    "executive_max_tokens": 96,
}
QUERY = {"query": "Which city is the capital of France?"}


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    executable = shutil.which("langgraph")
    if executable is None:
        pytest.fail("the langgraph CLI is missing: pip install -e '.[dev]'")
    port = free_port()
    log = tmp_path_factory.mktemp("langgraph-dev") / "server.log"  # outside the watched tree
    SERVER_LOGS[__name__] = log
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANGSMITH_")}
    env.update(LANGGRAPH_CLI_NO_ANALYTICS="1", LANGSMITH_TRACING="false")
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [executable, "dev", "--no-browser", "--no-reload", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_up(server, f"{url}/ok", "langgraph dev")
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n{log.read_text()[-3000:]}") from None
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


@pytest.fixture
async def client(server_url: str) -> AsyncIterator[Any]:
    yield get_client(url=server_url, api_key=None)


@pytest.mark.parametrize(
    ("graph_id", "setting"), [("memo", "identification_turns"), ("synthesis", "chunk_overlap")]
)
async def test_studio_lists_the_graph_and_its_settings(
    client: Any, graph_id: str, setting: str
) -> None:
    assistants = await client.assistants.search(graph_id=graph_id)
    assert assistants, f"langgraph.json must declare the {graph_id} graph"
    schemas = await client.assistants.get_schemas(assistants[0]["assistant_id"])
    assert setting in str(schemas.get("context_schema"))


async def test_runs_wait_returns_the_answer_and_trail(client: Any) -> None:
    # Sampled replies may end the run early on a confirmed direct reply; here every stage runs.
    context = {**CONTEXT, "end_on_confirmed_reply": False}
    out = await client.runs.wait(None, "memo", input=QUERY, context=context)
    assert out["answer"]
    assert out["justification"]
    assert [e["stage"] for e in out["trail"]].count("grounding") >= 1
    # grounding, identification, seeking and the final answer each ask the EXECUTIVE once
    assert out["cost"]["executive_calls"] >= 4
    assert out["cost"]["memory_calls"] == sum(e["sent"] for e in out["trail"])


async def test_runs_stream_sends_exchanges_as_they_happen(client: Any) -> None:
    custom, values = [], []
    async for part in client.runs.stream(
        None,
        "memo",
        input=QUERY,
        context=CONTEXT,
        stream_mode=["custom", "values"],
        stream_subgraphs=True,
    ):
        if part.event.startswith("custom"):
            custom.append(part.data["exchange"])
        elif part.event == "values":
            values.append(part.data)
    assert custom and custom[0]["stage"] == "grounding"
    assert {e["stage"] for e in custom} <= {"grounding", "identification", "seeking"}
    assert values[-1]["answer"]
    assert len(values[-1]["trail"]) == len(custom)


async def test_bad_settings_fail_the_run_with_the_reason(client: Any) -> None:
    thread = await client.threads.create()
    run = await client.runs.create(
        thread["thread_id"], "memo", input=QUERY, context={"identification_turns": 0}
    )
    await client.runs.join(thread["thread_id"], run["run_id"])
    finished = await client.runs.get(thread["thread_id"], run["run_id"])
    assert finished["status"] == "error"


async def test_synthesis_runs_on_the_server(client: Any, tmp_path: Path) -> None:
    (tmp_path / "curie.txt").write_text("Marie Curie was born in Warsaw in 1867.")
    out = tmp_path / "out"
    context = {
        "steps": ["extraction"],
        "chunk_unit": "words",
        "chunk_size": 50,
        "chunk_overlap": 5,
        "max_tokens": 64,
    }
    source = {"source": str(tmp_path / "curie.txt"), "out": str(out)}
    result = await client.runs.wait(None, "synthesis", input=source, context=context)
    assert result["report"]["extraction"]["generator_calls"] >= 2
    assert result["report"]["consolidation"]["ran"] is False
    assert (out / "report.json").exists() and (out / "qa.jsonl").exists()
