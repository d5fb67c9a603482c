"""Reading benchmark files with errors that say which file and what to do."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from evals.benchmarks.records import BenchmarkError


def shared_data_dir() -> Path:
    """Where the real benchmark files are kept, never committed: ``$MEMO_SHARED_DATA``, else
    ``../shared/data`` beside the checkout."""
    default = Path(__file__).resolve().parents[3] / "shared" / "data"
    return Path(os.environ.get("MEMO_SHARED_DATA", default))


def require(path: Path, what: str) -> Path:
    if not path.exists():
        raise BenchmarkError(f"{what} not found: {path}")
    return path


def read_json(path: Path) -> Any:
    try:
        return json.loads(require(path, "benchmark file").read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BenchmarkError(f"{path} is not valid UTF-8 JSON: {exc}") from exc


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    try:
        lines = require(path, "benchmark file").read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise BenchmarkError(f"{path} is not UTF-8 text: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BenchmarkError(f"{path}:{number} is not a JSON line: {exc}") from exc
        if not isinstance(row, dict):
            raise BenchmarkError(f"{path}:{number} is not a JSON object")
        rows.append(row)
    return rows


def read_records(path: Path) -> list[dict[str, Any]]:
    """A JSON list or a JSONL file of objects."""
    if path.suffix == ".jsonl":
        return read_jsonl(path)
    data = read_json(path)
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise BenchmarkError(f"{path} must hold a JSON list of objects")
    return data


def field(record: dict[str, Any], *names: str, where: str) -> Any:
    """The first of ``names`` present in ``record``."""
    for name in names:
        if name in record:
            return record[name]
    raise BenchmarkError(f"{where}: no {' or '.join(repr(n) for n in names)} field")


_SLUG = re.compile(r"[^a-z0-9]+")


def content_id(title: str, text: str) -> str:
    """A stable id for a passage that has none: its title's slug and a hash of its text."""
    digest = hashlib.sha1(f"{title}\n{text}".encode()).hexdigest()[:10]
    return f"{_SLUG.sub('-', title.lower()).strip('-')[:40]}-{digest}"
