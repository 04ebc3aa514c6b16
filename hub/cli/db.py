"""`hub db`: schema migrations."""

from __future__ import annotations

import typer

from hub.cli.context import runtime
from hub.db import migrate

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Apply Alembic migrations up to head."""
    rt = runtime()
    migrate.upgrade(rt.engine)
    typer.echo("database at head", err=True)
