"""`hub demo`: demo organisations, clients and users, their credentials, and the story.

Credentials are printed one labelled value to a line and never wrapped by the program, so each
can be copied whole however narrow the terminal (a terminal that folds a long line still
copies it as one).
"""

from __future__ import annotations

from typing import Any

import typer

from hub.cli.context import emit_json, runtime, unit_of_work
from hub.cli.listen import base_url
from hub.db import migrate
from hub.demo import story
from hub.demo.seed import DemoCredentials, seed
from hub.runtime import Runtime

_LABEL = 16  # "client_secret: " and a space: the values start in one column


def seed_and_print(rt: Runtime, *, url: str, as_json: bool = False) -> DemoCredentials:
    """Seed, then print the credentials for a hub about to listen at `url`."""
    with unit_of_work(rt) as db:
        creds = seed(db=db, policy=rt.policy, keyring=rt.keyring)
    if as_json:
        emit_json(credentials_json(creds))
    else:
        print_credentials(creds, url, running=True)
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


def credentials_lines(creds: DemoCredentials, url: str, *, running: bool) -> list[str]:
    """What `print_credentials` prints, line by line; `url` is where the hub answers."""

    def field(name: str, value: str, indent: str = "  ") -> str:
        return f"{indent}{name + ':':{_LABEL}}{value}"

    lines = ["Demo organisations (their client secrets are new on every run)"]
    for key, org_id in creds.organizations.items():
        client_id, secret = creds.clients[key]
        lines += [
            "",
            creds.names[key],
            field("id", org_id),
            field("client_id", client_id),
            field("client_secret", secret),
        ]
    lines += ["", f"Demo console users, at {creds.names['iom_sub']}"]
    for email, role, password in creds.users:
        lines += [
            "",
            f"  {role}",
            field("email", email, "    "),
            field("password", password, "    "),
        ]
    client_id, secret = creds.clients["iom_sub"]
    if running:
        heading = ["Try it, as the sub-office's partner system:"]
    else:
        heading = [
            "Try it, as the sub-office's partner system, once `hub serve` runs",
            f"(without --demo, which makes new secrets; it answers at {url} by default):",
        ]
    lines += [
        "",
        *heading,
        f"  CLIENT_ID='{client_id}'",
        f"  CLIENT_SECRET='{secret}'",
        '  curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials \\',
        f"    {url}/oauth/token",
        "  curl -s -H 'Authorization: Bearer <access_token>' \\",
        f"    {url}/v1/organizations",
        f"API documentation:  {url}/docs",
        f"Console for people: {url}/console",
        "  (a consent officer sets up a second factor, an authenticator app, at the first",
        "  sign-in; a referral waits for review)",
    ]
    return lines


def print_credentials(creds: DemoCredentials, url: str, *, running: bool) -> None:
    # plain lines on purpose: a rich table folds long values to the terminal's width
    for line in credentials_lines(creds, url, running=running):
        typer.echo(line)


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
        print_credentials(creds, base_url(), running=False)
        typer.echo("\nThe story, through the API:")
    try:
        ids = story.tell(rt, creds, say)
    except story.StoryError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        emit_json(credentials_json(creds) | {"story": {"steps": steps, **ids}})
