"""`hub channels`: how each organisation receives its referrals."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from hub.cli.context import cli_actor, emit_json, parse, runtime, unit_of_work
from hub.connectors import channels as service
from hub.connectors.schemas import ChannelKind, ChannelSet
from hub.organizations import service as organizations

app = typer.Typer(help="Delivery channels of organisations.", no_args_is_help=True)


def _show(read: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(read)
        return
    for name in ("organization_id", "kind", "url", "signing", "has_secret", "encryption"):
        if read.get(name) is not None:
            typer.echo(f"{name + ':':17}{read[name]}")


@app.command("set")
def set_channel(
    org: str = typer.Option(..., "--org", help="Organisation id"),
    kind: ChannelKind = typer.Option(..., "--kind", help="inbox, webhook or fhir"),
    url: str | None = typer.Option(None, "--url", help="Webhook URL, or the FHIR base URL"),
    secret: str | None = typer.Option(
        None,
        "--secret",
        help="webhook: HMAC key (else bodies are signed with the hub's JWS key); fhir: bearer "
        "token. `-` reads it from stdin (keeps it out of the process list).",
    ),
    encryption_jwk_file: Path | None = typer.Option(
        None, "--encryption-jwk-file", help="webhook: the recipient's public JWK (JWE)"
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Set the organisation's channel (URLs are checked: https, no private addresses)."""
    if secret == "-":  # noqa: S105 (the stdin marker, not a secret)
        secret = sys.stdin.readline().rstrip("\r\n")
    jwk = None
    if encryption_jwk_file is not None:
        try:
            jwk = json.loads(encryption_jwk_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            typer.echo(f"error: cannot read a JWK from {encryption_jwk_file}", err=True)
            raise typer.Exit(1) from None
    data = parse(ChannelSet, kind=kind, url=url, secret=secret, encryption_jwk=jwk)
    rt = runtime()
    with unit_of_work(rt) as db:
        organizations.get_or_raise(db=db, organization_id=org)
        row = service.set_channel(
            db=db,
            keyring=rt.keyring,
            settings=rt.settings,
            organization_id=org,
            data=data,
            actor=cli_actor(),
        )
        read = service.read(org, row).model_dump(mode="json")
    _show(read, as_json)


@app.command("show")
def show(
    org: str = typer.Option(..., "--org", help="Organisation id"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The organisation's channel (inbox when none was set); secrets are never shown."""
    rt = runtime()
    with unit_of_work(rt) as db:
        organizations.get_or_raise(db=db, organization_id=org)
        read = service.get_read(db=db, organization_id=org).model_dump(mode="json")
    _show(read, as_json)
