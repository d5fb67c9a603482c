"""With LANGSMITH_API_KEY set, the real LangSmith client uploads the evaluation: a small HTTP
receiver on loopback stands in for the LangSmith API and records what the client posts."""

from __future__ import annotations

import gzip
import json
import threading
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from evals.pipeline import EvalSettings, Models, evaluate
from tests.unit.test_eval_runner import reading_executive

pytestmark = pytest.mark.integration


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]] = []

    def log_message(self, *_: Any) -> None:
        pass

    def _reply(self, body: Any, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            return gzip.decompress(raw)
        if encoding == "zstd":
            import zstandard

            return zstandard.ZstdDecompressor().decompressobj().decompress(raw)
        return raw

    def do_GET(self) -> None:  # noqa: N802
        self.received.append(("GET", self.path, b""))
        path = self.path.split("?")[0]
        if path.endswith(("/datasets", "/examples")):
            self._reply([])
        else:
            self._reply({})

    def do_POST(self) -> None:  # noqa: N802
        body = self._body()
        self.received.append(("POST", self.path, body))
        now = datetime.now(timezone.utc).isoformat()
        path = self.path.split("?")[0]
        payload = json.loads(body) if body.startswith(b"{") else {}
        if path.endswith("/datasets"):
            self._reply(
                {
                    "id": str(uuid.uuid4()),
                    "name": payload.get("name"),
                    "created_at": now,
                    "modified_at": now,
                    "tenant_id": str(uuid.uuid4()),
                    "data_type": "kv",
                }
            )
        elif path.endswith("/sessions"):
            self._reply(_session(payload))
        else:
            self._reply({})

    def do_PATCH(self) -> None:  # noqa: N802
        body = self._body()
        self.received.append(("PATCH", self.path, body))
        if "/sessions/" in self.path:
            self._reply(_session(json.loads(body or b"{}")))
        else:
            self._reply({})


def _session(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(payload.get("id") or uuid.uuid4()),
        "name": payload.get("name") or "experiment",
        "start_time": datetime.now(timezone.utc).isoformat(),
        "tenant_id": str(uuid.uuid4()),
        "reference_dataset_id": payload.get("reference_dataset_id"),
    }


@pytest.fixture
def receiver(monkeypatch):
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("LANGSMITH_API_KEY", "lsv2-test-key")
    monkeypatch.setenv("LANGSMITH_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    yield Receiver.received
    server.shutdown()


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
