"""`hub users`: people who use the web console."""

from __future__ import annotations

import sys

import typer

from hub.cli.context import cli_actor, emit_json, runtime, unit_of_work
from hub.users import service

app = typer.Typer(help="Console users.", no_args_is_help=True)


@app.command("add")
def add(
    org: str = typer.Option(..., "--org", help="Organisation id"),
    email: str = typer.Option(..., "--email"),
    role: str = typer.Option(..., "--role", help="case_worker, consent_officer or admin"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Add a user; the password is read from standard input (never from the command line)."""
    if sys.stdin.isatty():
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    rt = runtime()
    with unit_of_work(rt) as db:
        user = service.create(
            db=db,
            actor=cli_actor(),
            organization_id=org,
            email=email,
            password=password,
            role=role,
        )
        result = {"id": user.id, "email": user.email, "role": user.role, "organization_id": org}
    if as_json:
        emit_json(result)
    else:
        typer.echo(f"user {result['email']} ({result['role']}): {result['id']}")
