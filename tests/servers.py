"""Starting real local servers for integration tests."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path

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
