"""A persistent cache of GENERATOR calls, so that a killed synthesis run started again redoes no
finished call and, since every later step reads the same replies, writes the same dataset.

One SQLite file (WAL journal: a row is either fully written or absent), keyed by a hash of the
generator spec, the schema and the messages."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from memo_graph.files import writing_to

_WHAT = "the GENERATOR call cache"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY,
    reply TEXT NOT NULL
)
"""


def call_key(generator: str, schema_name: str, messages: list[tuple[str, str]]) -> str:
    payload = json.dumps([generator, schema_name, messages], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


class CallCache:
    """Thread-safe get/put of JSON replies by key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        with writing_to(path.parent, _WHAT):
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT reply FROM calls WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        return dict(json.loads(row[0]))

    def put(self, key: str, reply: dict[str, Any]) -> None:
        with self._lock, writing_to(self.path.parent, _WHAT):
            self._db.execute(
                "INSERT OR REPLACE INTO calls (key, reply) VALUES (?, ?)",
                (key, json.dumps(reply, ensure_ascii=False)),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
