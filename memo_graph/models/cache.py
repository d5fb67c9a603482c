"""Where memo-graph keeps what it makes once and reuses: converted weights, fetched models."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """The cache directory: $MEMO_GRAPH_CACHE, else $XDG_CACHE_HOME/memo-graph, else ~/.cache."""
    explicit = os.environ.get("MEMO_GRAPH_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "memo-graph"
