"""`hub clients`: OAuth clients of partner systems."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from hub.auth import clients as service
from hub.cli.context import cli_actor, emit_json, runtime, unit_of_work

app = typer.Typer(help="OAuth clients of partner systems.", no_args_is_help=True)


@app.command("add")
def add(
    org: str = typer.Option(..., "--org", help="Organisation id"),
    scopes: str = typer.Option(..., "--scopes", help='Scopes, space separated: "s1 s2"'),
    name: str = typer.Option("", "--name", help="A label for the client"),
    jwks_file: Path | None = typer.Option(
        None, "--jwks-file", help="Public keys (JWKS) for private_key_jwt; then no secret"
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Register a client; its secret is printed once and never stored in clear."""
    jwks = None
    if jwks_file is not None:
        try:
            jwks = json.loads(jwks_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            typer.echo(f"error: cannot read a JWKS from {jwks_file}: {exc}", err=True)
            raise typer.Exit(1) from None
    rt = runtime()
    with unit_of_work(rt) as db:
        client, secret = service.create_client(
            db=db, organization_id=org, scope=scopes, name=name, jwks=jwks, actor=cli_actor()
        )
        result: dict[str, str | None] = {"client_id": client.client_id, "scope": client.scope}
    if secret is not None:
        result["client_secret"] = secret
    if as_json:
        emit_json(result)
        return
    typer.echo(f"client_id:     {result['client_id']}")
    if secret is not None:
        typer.echo(f"client_secret: {secret}   (shown once: store it now)")
    typer.echo(f"scope:         {result['scope']}")


@app.command("revoke")
def revoke(client_id: str) -> None:
    """Revoke a client: no new tokens; tokens it holds are refused at once."""
    rt = runtime()
    with unit_of_work(rt) as db:
        service.revoke_client(db=db, client_id=client_id, actor=cli_actor())
    typer.echo(f"client {client_id} revoked")
