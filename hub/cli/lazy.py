"""Subcommands whose code is imported only when they run.

Importing every subcommand's module means importing the whole application (FastAPI, Celery,
every domain): about two seconds and 170 MB before `hub --help` prints a line. The group
below knows each subcommand by name and one line of help, and imports its module when that
subcommand is looked up to run (or to show its own help).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

# lets `hub worker --max-tasks-per-child 100` reach Celery untouched
PASSTHROUGH: dict[str, Any] = {"allow_extra_args": True, "ignore_unknown_options": True}


@dataclass(frozen=True)
class Lazy:
    """A subcommand: `target` is "module:attribute", a Typer app (a group of commands) or a
    function (one command); `help` is the line the group's listing shows, which a test keeps
    equal to the first paragraph of the command's own help."""

    name: str
    target: str
    help: str
    context_settings: Mapping[str, Any] = field(default_factory=dict)

    def load(self) -> Any:
        module, _, attribute = self.target.partition(":")
        found: typer.Typer | Callable[..., Any] = getattr(
            importlib.import_module(module), attribute
        )
        if isinstance(found, typer.Typer):
            command: Any = typer.main.get_group(found)
        else:
            one = typer.Typer(add_completion=False)
            one.command(self.name, context_settings=dict(self.context_settings))(found)
            command = typer.main.get_command(one)
        command.name = self.name
        return command

    def listed(self) -> TyperCommand:
        # what a listing needs (name and help) without importing anything
        return TyperCommand(self.name, help=self.help)


def first_paragraph(text: str | None) -> str:
    """A help text's first paragraph on one line, as a group's listing shows it."""
    return " ".join(inspect.cleandoc(text or "").split("\n\n")[0].split())


class LazyGroup(TyperGroup):
    """A Typer group whose subcommands, named in `lazy`, are imported when looked up."""

    lazy: ClassVar[Mapping[str, Lazy]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in self.lazy if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        spec = self.lazy.get(cmd_name)
        if found is not None or spec is None:
            return found
        if self._listing:
            return spec.listed()
        self.commands[cmd_name] = command = spec.load()
        return command

    @contextmanager
    def _only_listing(self) -> Iterator[None]:
        self._listing = True
        try:
            yield
        finally:
            self._listing = False

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with self._only_listing():
            super().format_help(ctx, formatter)

    def shell_complete(self, ctx: Any, incomplete: str) -> Any:
        with self._only_listing():
            return super().shell_complete(ctx, incomplete)


def lazy_group(*commands: Lazy) -> type[LazyGroup]:
    """A LazyGroup class holding these subcommands, in this order, for `typer.Typer(cls=...)`."""
    return type("HubGroup", (LazyGroup,), {"lazy": {c.name: c for c in commands}})
