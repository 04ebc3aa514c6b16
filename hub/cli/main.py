"""The `hub` command."""

from __future__ import annotations

import typer

from hub.cli import (
    audit,
    channels,
    clients,
    db,
    deliveries,
    demo,
    keys,
    orgs,
    serve,
    users,
    worker,
)
from hub.policy.loader import PolicyError

app = typer.Typer(
    help="Interagency referral and data-sharing hub.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(audit.app, name="audit")
app.add_typer(channels.app, name="channels")
app.add_typer(clients.app, name="clients")
app.add_typer(db.app, name="db")
app.add_typer(deliveries.app, name="deliveries")
app.add_typer(keys.app, name="keys")
app.add_typer(orgs.orgs, name="orgs")
app.add_typer(orgs.agreements, name="agreements")
app.add_typer(users.app, name="users")
app.command()(serve.serve)
app.command()(demo.demo)
app.command(context_settings=worker.PASSTHROUGH)(worker.worker)
app.command(context_settings=worker.PASSTHROUGH)(worker.beat)


def main() -> None:
    try:
        app()
    except PolicyError as exc:
        # a malformed policy file stops any command that needs it; the message names the line
        typer.echo(str(exc), err=True)
        raise SystemExit(2) from None
