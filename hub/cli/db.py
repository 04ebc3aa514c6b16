"""`hub db`: schema migrations."""

from __future__ import annotations

import typer

from hub.cli.context import cli_actor, runtime
from hub.db import migrate

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Apply Alembic migrations up to head, then the steps that need the keyring (justifications
    from before migration 0009 sealed: `hub reviews seal-justifications`)."""
    rt = runtime()
    migrate.upgrade(rt.engine)
    typer.echo("database at head", err=True)
    # imported once the schema is there: it brings the reviews' services (and FastAPI's types)
    from hub.cli.reviews import seal_justifications_step

    done = seal_justifications_step(rt, actor=cli_actor())
    if done.sealed or done.dropped:
        typer.echo(
            f"{done.sealed} justifications sealed; {done.dropped} of erased cases dropped",
            err=True,
        )
