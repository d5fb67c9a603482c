"""An append-only JSONL record of finished work (predictions, grades), so an evaluation that
was killed resumes where it stopped and never asks a system the same question twice."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class ResultStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        if path.exists():
            text = path.read_text(encoding="utf-8")
            if text and not text.endswith("\n"):  # a line cut short by a crash: redo it
                text = text[: text.rfind("\n") + 1]
                path.write_text(text, encoding="utf-8")
            for line in text.splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                self.records[(record["kind"], record["key"])] = record["value"]

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        return self.records.get((kind, key))

    def put(self, kind: str, key: str, value: dict[str, Any]) -> None:
        self.records[(kind, key)] = value
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"kind": kind, "key": key, "value": value}) + "\n"
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
