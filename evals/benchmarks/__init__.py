"""Benchmark loaders: each reads local files into a ``Benchmark`` (documents and questions)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from evals.benchmarks.browsecomp_plus import load_browsecomp_plus
from evals.benchmarks.generic import load_generic, load_invented
from evals.benchmarks.musique import load_musique
from evals.benchmarks.narrativeqa import load_narrativeqa
from evals.benchmarks.records import Benchmark, BenchmarkError, Document, Question
from evals.benchmarks.twowiki import load_2wiki

LOADERS: dict[str, Callable[[Path], Benchmark]] = {
    "musique": load_musique,
    "2wiki": load_2wiki,
    "narrativeqa": load_narrativeqa,
    "browsecomp-plus": load_browsecomp_plus,
    "generic": load_generic,
}


def load_benchmark(
    name: str,
    data: str | Path | None = None,
    corpus: str | Path | None = None,
    scope: str | None = None,
) -> Benchmark:
    """``invented`` needs no data; every other benchmark reads ``data``. ``corpus`` and
    ``scope`` are 2wiki's: its passage pool, and whether questions are asked against it all."""
    if (corpus is not None or scope is not None) and name != "2wiki":
        raise BenchmarkError(f"--corpus and --scope apply to 2wiki only, not {name}")
    if name == "invented":
        return load_invented()
    if name not in LOADERS:
        raise BenchmarkError(
            f"unknown benchmark {name!r}; choose one of invented, {', '.join(LOADERS)}"
        )
    if data is None:
        raise BenchmarkError(f"--data is required for {name}: the path of its local files")
    if name == "2wiki":
        return load_2wiki(Path(data), corpus, scope)
    return LOADERS[name](Path(data))


__all__ = [
    "LOADERS",
    "Benchmark",
    "BenchmarkError",
    "Document",
    "Question",
    "load_benchmark",
]
