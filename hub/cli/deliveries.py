"""`hub deliveries`: the delivery of referrals, its dead letters, and redelivery."""

from __future__ import annotations

import typer

from hub.cli.context import cli_actor, emit_json, runtime, unit_of_work
from hub.delivery import service
from hub.delivery.schemas import DeliveryStatus

app = typer.Typer(help="Deliveries of referrals to their recipients.", no_args_is_help=True)


@app.command("list")
def list_deliveries(
    status: DeliveryStatus | None = typer.Option(None, "--status", help="e.g. dead"),
    org: str | None = typer.Option(None, "--org", help="Sender organisation id"),
    limit: int = typer.Option(50, "--limit", min=1, max=200),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Deliveries, newest first."""
    rt = runtime()
    with unit_of_work(rt) as db:
        items, _ = service.get_page(
            db=db, status=status, organization_id=org, cursor=None, limit=limit
        )
    if as_json:
        emit_json({"items": [item.model_dump(mode="json") for item in items]})
        return
    for item in items:
        typer.echo(
            f"{item.id}  {item.status:9}  {item.channel:7}  attempts={item.attempts}  "
            f"referral={item.referral_id}  error={item.last_error or '-'}"
        )


@app.command("redeliver")
def redeliver(
    delivery_id: str,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Queue a dead delivery again (same delivery id; the consent gate is asked again)."""
    rt = runtime()
    with unit_of_work(rt) as db:
        delivery = service.get_any(db=db, delivery_id=delivery_id)
        redone = service.redeliver(
            db=db,
            keyring=rt.keyring,
            policy=rt.policy,
            delivery=delivery,
            actor=cli_actor(),
            organization_id=None,
        )
        result = service.read(redone).model_dump(mode="json")
    if as_json:
        emit_json(result)
        return
    typer.echo(f"delivery {delivery_id} queued again")
