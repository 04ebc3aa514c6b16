"""`hub demo`: demo organisations, clients and users, their credentials, and the story."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from hub.cli.context import emit_json, runtime, unit_of_work
from hub.db import migrate
from hub.demo import story
from hub.demo.seed import DemoCredentials, seed
from hub.runtime import Runtime


def seed_and_print(rt: Runtime, *, as_json: bool = False) -> DemoCredentials:
    with unit_of_work(rt) as db:
        creds = seed(db=db, policy=rt.policy, keyring=rt.keyring)
    if as_json:
        emit_json(credentials_json(creds))
    else:
        print_credentials(creds, rt.settings.public_url)
    return creds


def credentials_json(creds: DemoCredentials) -> dict[str, Any]:
    return {
        "organizations": [
            {
                "key": key,
                "id": org_id,
                "name": creds.names[key],
                "client_id": creds.clients[key][0],
                "client_secret": creds.clients[key][1],
            }
            for key, org_id in creds.organizations.items()
        ],
        "users": [{"email": e, "role": r, "password": p} for e, r, p in creds.users],
    }


def print_credentials(creds: DemoCredentials, public_url: str) -> None:
    console = Console(stderr=False, highlight=False)
    table = Table(title="Demo organisations (secrets are new on every run)")
    for column in ("organisation", "id", "client_id", "client_secret"):
        table.add_column(column, overflow="fold")
    for key, org_id in creds.organizations.items():
        client_id, secret = creds.clients[key]
        table.add_row(creds.names[key], org_id, client_id, secret)
    console.print(table)
    users = Table(title="Demo console users")
    for column in ("email", "role", "password"):
        users.add_column(column)
    for email, role, password in creds.users:
        users.add_row(email, role, password)
    console.print(users)
    client_id, secret = creds.clients["iom_sub"]
    console.print(
        "Try it:\n"
        f"  curl -s -u '{client_id}:{secret}' -d grant_type=client_credentials "
        f"{public_url}/oauth/token\n"
        f"  curl -s -H 'Authorization: Bearer <access_token>' {public_url}/v1/organizations\n"
        f"API documentation: {public_url}/docs\n"
        f"Console for people: {public_url}/console (a consent officer sets up a second "
        "factor, an authenticator app, at the first sign-in; a referral waits for review)",
        soft_wrap=True,
    )


def demo(as_json: bool = typer.Option(False, "--json")) -> None:
    """Seed the demo organisations and tell the hub's story through its API, step by step:
    registration with consent, a referral to an NGO and its answer, a case transfer."""
    rt = runtime()
    if rt.settings.is_sqlite:
        migrate.upgrade(rt.engine)
    with unit_of_work(rt) as db:
        creds = seed(db=db, policy=rt.policy, keyring=rt.keyring)
    steps: list[str] = []

    def say(line: str) -> None:
        steps.append(line)
        if not as_json:
            typer.echo(line)

    if not as_json:
        print_credentials(creds, rt.settings.public_url)
        typer.echo("\nThe story, through the API:")
    try:
        ids = story.tell(rt, creds, say)
    except story.StoryError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        emit_json(credentials_json(creds) | {"story": {"steps": steps, **ids}})
