"""`hub orgs` and `hub agreements`: organisations and what may flow between them."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from hub.cli.context import cli_actor, emit_json, parse, runtime, unit_of_work
from hub.organizations import service
from hub.organizations.schemas import AgreementCreate, AgreementRead, OrganizationCreate

orgs = typer.Typer(help="Organisations.", no_args_is_help=True)
agreements = typer.Typer(help="Data sharing agreements.", no_args_is_help=True)


def _split(value: str) -> list[str]:
    return [v for v in value.replace(",", " ").split() if v]


@orgs.command("add")
def add_org(
    name: str = typer.Option(..., "--name"),
    kind: str | None = typer.Option(
        None, "--kind", help="iom_office, government, un_agency or ngo (not with --operator)"
    ),
    operator: bool = typer.Option(
        False,
        "--operator",
        help="The hub's operator: its clients and people hold `admin` (every organisation) "
        "and nothing else; it takes no part in data sharing",
    ),
    parent: str | None = typer.Option(None, "--parent", help="Parent IOM office id"),
    services: str = typer.Option("", "--services", help="Service types offered, space separated"),
    country: str | None = typer.Option(None, "--country", help="ISO 3166 alpha-2 code"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Add an organisation (a partner with --kind, or the hub's operator with --operator)."""
    if operator == (kind is not None) or (operator and (parent or services or country)):
        typer.echo(
            "error: give either --kind (a partner) or --operator alone (the hub's operator)",
            err=True,
        )
        raise typer.Exit(2)
    rt = runtime()
    if operator:
        with unit_of_work(rt) as db:
            org = service.create_operator(db=db, actor=cli_actor(), name=name)
            result = {"id": org.id, "name": org.name, "kind": org.kind, "parent_id": None}
    else:
        data = parse(
            OrganizationCreate,
            name=name,
            kind=kind,
            parent_id=parent,
            services=_split(services),
            country=country,
        )
        with unit_of_work(rt) as db:
            org = service.create(db=db, policy=rt.policy, actor=cli_actor(), data=data)
            result = {
                "id": org.id,
                "name": org.name,
                "kind": org.kind,
                "parent_id": org.parent_id,
            }
    if as_json:
        emit_json(result)
    else:
        typer.echo(f"organisation {result['name']} ({result['kind']}): {result['id']}")


@orgs.command("list")
def list_orgs(as_json: bool = typer.Option(False, "--json")) -> None:
    """List organisations."""
    rt = runtime()
    with unit_of_work(rt) as db:
        rows = [
            {"id": o.id, "name": o.name, "kind": o.kind, "parent_id": o.parent_id}
            for o in service.get_all(db=db, with_operator=True)
        ]
    if as_json:
        emit_json({"items": rows})
    else:
        for row in rows:
            typer.echo(f"{row['id']}  {row['kind']:<10}  {row['name']}")


@agreements.command("add")
def add_agreement(
    from_id: str = typer.Option(..., "--from", help="Organisation data flows from"),
    to_id: str = typer.Option(..., "--to", help="Organisation data flows to"),
    purposes: str = typer.Option(..., "--purposes", help="Purposes, space separated"),
    categories: str = typer.Option(..., "--categories", help="Data categories, space separated"),
    valid_from: datetime | None = typer.Option(None, "--valid-from"),
    valid_until: datetime | None = typer.Option(None, "--valid-until"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Add a data sharing agreement from one organisation to another."""
    rt = runtime()
    data = parse(
        AgreementCreate,
        from_organization_id=from_id,
        to_organization_id=to_id,
        purposes=_split(purposes),
        categories=_split(categories),
        valid_from=_aware(valid_from),
        valid_until=_aware(valid_until),
    )
    with unit_of_work(rt) as db:
        agreement = service.create_agreement(db=db, policy=rt.policy, actor=cli_actor(), data=data)
        result = AgreementRead.model_validate(agreement).model_dump(mode="json")
    if as_json:
        emit_json(result)
    else:
        typer.echo(f"agreement {result['id']}: {from_id} -> {to_id}")


def _aware(value: datetime | None) -> datetime | None:
    # a date typed on the command line without a zone is taken as UTC
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
