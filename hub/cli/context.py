"""What every CLI command needs: the settings, a runtime, and JSON output."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from hub.api.problems import Problem
from hub.runtime import Runtime
from hub.settings import InvalidSettings, load_settings
from hub.wording import plain_message

ModelT = TypeVar("ModelT", bound=BaseModel)


def runtime(*, served_at: str | None = None) -> Runtime:
    """The runtime of the settings; `served_at` is the URL `hub serve` listens at, the public
    URL unless HUB_PUBLIC_URL says otherwise."""
    # every model, whichever command runs: a model's foreign keys and relationships name
    # tables of other domains, which the mapper must know before the first query. Imported
    # here, with the database, so that a command's --help does not pay for them
    import hub.models  # noqa: F401

    try:
        settings = load_settings()
    except InvalidSettings as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if served_at is not None and "public_url" not in settings.model_fields_set:
        # the default names port 8000: a hub served elsewhere would issue tokens, and send
        # links, for an address nobody answers at
        settings = settings.model_copy(update={"public_url": served_at})
    return Runtime(settings)


def emit_json(obj: dict[str, Any]) -> None:
    """Exactly one JSON object on stdout, as the command-line contract says."""
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


@contextmanager
def unit_of_work(rt: Runtime) -> Iterator[Session]:
    """A transaction for one command; a refused request exits 1 with the problem on stderr."""
    try:
        with schema_needed(rt), rt.sessions.begin() as db:
            yield db
    except Problem as exc:
        typer.echo(f"error: {exc.title}" + (f": {exc.detail}" if exc.detail else ""), err=True)
        raise typer.Exit(1) from None


@contextmanager
def schema_needed(rt: Runtime) -> Iterator[None]:
    """Database work that needs the tables: without them, exit 1 saying what to run."""
    try:
        yield
    except (OperationalError, ProgrammingError):
        # a fresh data folder (no `hub serve` or `hub db upgrade` yet) has no tables: say so
        # rather than print a traceback; any other database error is raised as it is. Alembic
        # is imported only then: it costs every command a good part of its start-up
        from hub.db import migrate

        if migrate.is_current(rt.engine):
            raise
        typer.echo("the database is not at the current schema: run `hub db upgrade`", err=True)
        raise typer.Exit(1) from None


def cli_actor() -> str:
    """Who ran the command, as the audit log records it."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def parse(schema: type[ModelT], **values: Any) -> ModelT:
    """Validate command-line input with the same schema the API uses."""
    try:
        return schema(**values)
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "input"
            typer.echo(f"error: {field}: {plain_message(err)}", err=True)
        raise typer.Exit(1) from None
