"""What every ``memo`` command shares: literal printing, one-line errors, and options whose
defaults are read from the settings they go to (one source for every default)."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import os
import warnings
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from memo_graph.errors import MemoError, MemoWarning
from memo_graph.files import write_failure
from memo_graph.printable import visible

console = Console(emoji=False)


BASE_HELP = "Base model: local, local:PATH, local:gemma3-270m or a Hub id (hf:ORG/NAME)."


def say(template: str, *values: object, one_line: bool = False) -> None:
    """Print our own markup ``template`` with ``values`` filled in as literal text: answers,
    paths, titles and errors are never read as markup. ``one_line`` leaves the wrapping to the
    terminal, so that a long line stays one line for a program that reads it. Control
    characters in ``values`` are shown as escapes, never sent to the terminal."""
    shown = (escape(visible(str(v))) for v in values)
    console.print(template.format(*shown), soft_wrap=one_line)


def fail(error: BaseException) -> None:
    say("[bold red]error:[/] {}", error, one_line=True)
    raise typer.Exit(code=2)


@contextlib.contextmanager
def warnings_as_lines() -> Iterator[None]:
    """Our own warnings printed at once as ``warning:`` lines, without Python's prefix."""
    shown = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], *args: Any, **kw: Any) -> None:
        if issubclass(category, MemoWarning):
            say("[yellow]warning:[/] {}", message, one_line=True)
        else:
            shown(message, category, *args, **kw)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown


@contextlib.contextmanager
def errors_as_one_line() -> Iterator[None]:
    """Every command's failures the user can fix (ours, bad settings, a remote model that
    timed out, cannot be reached or answered an HTTP error) end as one line on the terminal
    and exit code 2."""
    from memo_graph.models.remote import status_failure, transport_failure

    try:
        yield
    except (MemoError, ValueError) as exc:
        fail(exc)
    except Exception as exc:
        what = transport_failure(exc)
        if what is not None:
            fail(
                RuntimeError(
                    f"a remote model {what} ({type(exc).__name__}: {exc}). Check its URL, API "
                    "key and network, or raise --timeout."
                )
            )
        answered = status_failure(exc)
        if answered is not None:
            fail(RuntimeError(f"a remote model {answered}"))
        unwritable = write_failure(exc, disk_only=True)
        if unwritable is None and isinstance(exc, OSError) and exc.filename:
            fail(RuntimeError(f"{exc.filename}: {exc.strerror or exc}. Check the path and its "
                              "permissions."))  # fmt: skip
        if unwritable is None:
            raise
        fail(
            RuntimeError(
                f"cannot write an output: {unwritable} ({exc}). Free space or make it "
                "writable, then run the same command again."
            )
        )


@contextlib.contextmanager
def remote_failures_named(
    role: str, spec: str, timeout_s: float | None, retries: int | None
) -> Iterator[None]:
    """A failure of the model ``spec`` (playing ``role``) that its server can be blamed for,
    raised as a :class:`RemoteModelError` naming both (``timeout_s`` / ``retries``: what the user
    gave, None for the defaults)."""
    from memo_graph.models import spec as model_spec
    from memo_graph.models.remote import remote_error

    try:
        yield
    except MemoError:
        raise
    except Exception as exc:
        named = remote_error(
            role,
            spec,
            exc,
            model_spec.REMOTE_TIMEOUT_S if timeout_s is None else timeout_s,
            model_spec.REMOTE_RETRIES if retries is None else retries,
        )
        if named is None:
            raise
        raise named from exc


def _library_progress_bars_off() -> None:
    """Our progress bars and lines only: transformers' weight loading and datasets' saving draw
    bars of their own between ours. A user's own setting of the variable is kept."""
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()


def common_options(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    """The options of every ``memo`` app, before its command (the app's callback)."""
    _library_progress_bars_off()
    if version:
        from memo_graph import __version__

        console.print(__version__)
        raise typer.Exit()


def memo_app(help: str) -> typer.Typer:
    """An app of ``memo`` commands with the options every one has."""
    app = typer.Typer(name="memo", help=help, no_args_is_help=True, pretty_exceptions_enable=False)
    app.callback()(common_options)
    return app


def given(**options: Any) -> dict[str, Any]:
    """The options the user set; the others keep the defaults of the settings they go to."""
    return {name: value for name, value in options.items() if value is not None}


def memory_spec(memory: str) -> str:
    """A directory given to --memory means a memory artifact loaded in process."""
    if memory == "local" or ":" in memory.split("/")[0]:
        return memory
    return f"local:{memory}"


def default_of(owner: Any, name: str) -> Any:
    """The default of parameter ``name`` of a function, of field ``name`` of a dataclass, or
    the module constant ``name``."""
    if inspect.ismodule(owner):
        return getattr(owner, name)
    if dataclasses.is_dataclass(owner):
        for field in dataclasses.fields(owner):
            if field.name == name:
                if field.default_factory is not dataclasses.MISSING:
                    return field.default_factory()
                return field.default
        raise KeyError(f"{owner!r} has no field {name!r}")
    return inspect.signature(owner).parameters[name].default


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return "none" if value is None else str(value)


def option(owner: Any, name: str, *flags: str, help: str | None = None, **settings: Any) -> Any:
    """A ``typer.Option`` that defaults to None (so only what the user gave is passed on) and
    whose --help shows the default of ``owner``'s ``name``. Its help is the field's own
    description unless ``help`` is given."""
    if help is None and dataclasses.is_dataclass(owner):
        fields = {field.name: field for field in dataclasses.fields(owner)}
        help = fields[name].metadata.get("description")
    return typer.Option(*flags, help=help, show_default=_shown(default_of(owner, name)), **settings)
