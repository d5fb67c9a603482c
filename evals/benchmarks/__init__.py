"""Benchmark loaders: each reads local files into a ``Benchmark`` (documents and questions)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from evals.benchmarks.browsecomp_plus import load_browsecomp_plus
from evals.benchmarks.generic import load_generic, load_invented
from evals.benchmarks.musique import load_musique
from evals.benchmarks.narrativeqa import load_narrativeqa
from evals.benchmarks.records import Benchmark, BenchmarkError, Document, Question

LOADERS: dict[str, Callable[[Path], Benchmark]] = {
    "musique": load_musique,
    "narrativeqa": load_narrativeqa,
    "browsecomp-plus": load_browsecomp_plus,
    "generic": load_generic,
}


def load_benchmark(name: str, data: str | Path | None = None) -> Benchmark:
    """``invented`` needs no data; every other benchmark reads ``data``."""
    if name == "invented":
        return load_invented()
    if name not in LOADERS:
        raise BenchmarkError(
            f"unknown benchmark {name!r}; choose one of invented, {', '.join(LOADERS)}"
        )
    if data is None:
        raise BenchmarkError(f"--data is required for {name}: the path of its local files")
    return LOADERS[name](Path(data))


__all__ = [
    "LOADERS",
    "Benchmark",
    "BenchmarkError",
    "Document",
    "Question",
    "load_benchmark",
]
