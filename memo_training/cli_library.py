"""The library commands of ``memo``: ``memo library init`` and ``show``, ``memo add``,
``update`` and ``forget`` (a memory kept current, :mod:`memo_training.library`). The commands
are plain functions; ``memo_training.cli`` registers them on its app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from memo_graph.cli_options import config_options
from memo_graph.cli_support import BASE_HELP, errors_as_one_line, given, option, say
from memo_graph.synthesis.state import SynthesisContext
from memo_training import library as memo_library
from memo_training.config import TrainConfig
from memo_training.library import LibrarySettings

library_app = typer.Typer(
    help="A memory kept current: documents added, updated and forgotten.", no_args_is_help=True
)
LibraryPath = Annotated[Path, typer.Argument(help="A memory library (memo library init).")]
PairsOption = Annotated[
    Path | None,
    typer.Option(
        help="QA pairs (.jsonl or a saved dataset) whose provenance document_ids name the "
        "documents."
    ),
]
GeneratorOption = Annotated[
    str | None,
    option(SynthesisContext, "generator", help="GENERATOR of the pairs, without --pairs."),
]
MinRecallOption = Annotated[
    float | None,
    typer.Option(help="Recall each document needs to publish; default: the library's."),
]


def _print_lines(lines: list[str]) -> None:
    for line in lines:
        say("{}", line)


def _print_report(report: memo_library.LibraryReport) -> None:
    """The report; exit code 1 when documents given were left out for want of pairs, so that a
    script sees that they are not in the memory (what was taken is published all the same)."""
    _print_lines(report.lines())
    if report.left_out:
        raise typer.Exit(code=1)


@library_app.command("init")
@config_options(LibrarySettings, into="settings", exclude=("training",))
@config_options(
    TrainConfig, into="training", only=("epochs", "batch_size", "learning_rate", "max_length")
)
def library_init(
    library: Annotated[Path, typer.Argument(help="Directory of the new library.")],
    base: Annotated[
        str | None,
        option(memo_library.init, "base", help=BASE_HELP),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full/--lora",
            help="Shards train full weights (the 'full' preset) instead of LoRA; full shards "
            "merge with less loss (README, lifecycle).",
        ),
    ] = False,
    settings: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
) -> None:
    """Make an empty memory library: its ledger, and the settings every shard trains with."""
    with errors_as_one_line():
        chosen = LibrarySettings(
            training=TrainConfig.chosen("full" if full else None, **(training or {})),
            **(settings or {}),
        )
        path = memo_library.init(library, settings=chosen, **given(base=base))
    say("library {} ready; add documents with: memo add {} CORPUS", path, path)


@library_app.command("show")
def library_show(library: LibraryPath) -> None:
    """The library's documents, shards, pairs, recall and current memory."""
    with errors_as_one_line():
        view = memo_library.show(library)
    _print_lines(view.lines())


def add(
    library: LibraryPath,
    corpus: Annotated[str, typer.Argument(help="Directory, glob or file of documents.")],
    pairs: PairsOption = None,
    generator: GeneratorOption = None,
    min_recall: MinRecallOption = None,
) -> None:
    """Add a corpus's new and changed documents: one shard trained on their pairs, merged with
    the others into the current memory. Documents already held as they are change nothing; a
    document no pair draws on is not added (exit code 1): add it again with pairs."""
    chosen = given(pairs=pairs, generator=generator, min_recall=min_recall)
    with errors_as_one_line():
        report = memo_library.add(library, corpus, progress=True, **chosen)
    _print_report(report)


def update(
    library: LibraryPath,
    corpus: Annotated[str, typer.Argument(help="The corpus as it is now.")],
    pairs: PairsOption = None,
    generator: GeneratorOption = None,
    min_recall: MinRecallOption = None,
) -> None:
    """Make the library hold the corpus as it is now: forget the documents it lost, replace
    the changed ones, add the new ones (exit code 1 when one had no pairs: see memo add)."""
    chosen = given(pairs=pairs, generator=generator, min_recall=min_recall)
    with errors_as_one_line():
        report = memo_library.update(library, corpus, progress=True, **chosen)
    _print_report(report)


def forget(
    library: LibraryPath,
    ids: Annotated[list[str], typer.Argument(help="Document ids (memo library show).")],
    min_recall: MinRecallOption = None,
) -> None:
    """Remove documents from the memory: the shards that learnt from them are trained again
    without their pairs, then merged again."""
    with errors_as_one_line():
        report = memo_library.forget(library, ids, progress=True, **given(min_recall=min_recall))
    _print_lines(report.lines())
