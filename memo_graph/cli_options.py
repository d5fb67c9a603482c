"""Command-line options made from a settings dataclass, as ``transformers.HfArgumentParser``
makes them: one ``--field-name`` option per field, its help the field's ``description``
metadata, its shown default the field's default (the one source of both), and the command
given only what the user set."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import types
import typing
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

from memo_graph.cli_support import given, option

Command = TypeVar("Command", bound=Callable[..., Any])

_FLAG = "flag"
"""Field metadata: the option's flag when it is not ``--field-name`` (``--lr``)."""


def _option_type(annotation: Any) -> type:
    """What the command line reads: a Literal of strings is read as a string (the settings
    check the value); int, float, str and bool as they are, optional or not."""
    arguments = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(arguments) == 1:
        return _option_type(arguments[0])
    if typing.get_origin(annotation) is typing.Literal:
        return type(typing.get_args(annotation)[0])
    if annotation in (int, float, str, bool):
        return typing.cast(type, annotation)
    raise TypeError(f"no command-line option reads a {annotation!r}")


def _fields(owner: type, only: Iterable[str] | None, exclude: Iterable[str]) -> list[Any]:
    chosen = set(only) if only is not None else None
    left_out = set(exclude)
    found = [
        f
        for f in dataclasses.fields(owner)
        if (chosen is None or f.name in chosen) and f.name not in left_out
    ]
    if chosen is not None and len(found) != len(chosen):
        unknown = chosen - {f.name for f in found}
        raise KeyError(f"{owner.__name__} has no field {', '.join(sorted(unknown))}")
    return found


def _parameter(owner: type, field: Any, kind: type) -> inspect.Parameter:
    flag = field.metadata.get(_FLAG) or "--" + field.name.replace("_", "-")
    if kind is bool:
        flag = f"{flag}/--no-{flag.removeprefix('--')}"
    chosen = option(owner, field.name, flag)
    return inspect.Parameter(
        field.name,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[kind | None, chosen],
    )


def config_options(
    owner: type, *, into: str, only: Iterable[str] | None = None, exclude: Iterable[str] = ()
) -> Callable[[Command], Command]:
    """Give a command an option for each field of the dataclass ``owner`` (those in ``only``,
    all but ``exclude``); the command receives the ones the user set as the dict ``into``."""
    hints = typing.get_type_hints(owner)
    fields = _fields(owner, only, exclude)

    def decorate(command: Command) -> Command:
        own = typing.get_type_hints(command, include_extras=True)
        signature = inspect.signature(command)
        kept = [
            p.replace(annotation=own.get(p.name, p.annotation))
            for p in signature.parameters.values()
            if p.name != into
        ]
        made = [_parameter(owner, f, _option_type(hints[f.name])) for f in fields]
        names = [p.name for p in made]

        @functools.wraps(command)
        def run(**values: Any) -> Any:
            chosen = given(**{name: values.pop(name) for name in names})
            return command(**values, **{into: chosen})

        parameters = kept + made
        run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters}
        return typing.cast(Command, run)

    return decorate
