"""Starting real local servers for integration tests."""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# Test module name -> log file of the server it started; failing tests show its tail.
SERVER_LOGS: dict[str, Path] = {}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(
    server: subprocess.Popen[bytes], url: str, what: str, timeout: float = 180
) -> None:
    """Poll ``url`` until it answers; fail with the server's log tail if it dies or stalls."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start (exit code {server.poll()})") from None
            time.sleep(0.5)


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


@contextmanager
def langsmith_receiver() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    """A loopback stand-in for the LangSmith API: (its URL, the requests it received)."""
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", Receiver.received
    finally:
        server.shutdown()


class _FixedReply(BaseHTTPRequestHandler):
    """Answers every POST with the server's ``status`` and ``body``; with ``drip`` set, sends
    the headers of a long reply, then one byte of it a second until the server stops."""

    server: _FixedReplyServer

    def log_message(self, *_: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests += 1
        reply = self.server
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(10**6 if reply.drip else len(reply.body)))
        self.end_headers()
        if not reply.drip:
            self.wfile.write(reply.body)
            return
        self.wfile.flush()
        try:
            while not reply.stopped.wait(1.0):
                self.wfile.write(b" ")
                self.wfile.flush()
        except OSError:
            pass  # the client gave up and closed the connection


class _FixedReplyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, status: int, body: bytes, drip: bool) -> None:
        super().__init__(("127.0.0.1", 0), _FixedReply)
        self.status, self.body, self.drip = status, body, drip
        self.stopped = threading.Event()
        self.requests = 0


@contextmanager
def fixed_reply_server(
    status: int = 200, body: bytes = b"", *, drip: bool = False
) -> Iterator[_FixedReplyServer]:
    """A loopback OpenAI-compatible endpoint that answers every request the same way: HTTP
    ``status`` with ``body``, or (``drip``) headers then one byte a second, never finishing.
    Its base URL is ``f"http://127.0.0.1:{server.server_port}/v1"``."""
    server = _FixedReplyServer(status, body, drip)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.stopped.set()
        server.shutdown()
        server.server_close()
