"""`hub users`: people who use the web console.

Every command that changes something accepts `--json` and then prints exactly one JSON object.
A user is named by id or by e-mail; an unknown one is a plain message on stderr and exit 1.
Passwords are read from standard input, never from the command line.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.cli.context import cli_actor, emit_json, runtime, unit_of_work
from hub.organizations.models import Organization
from hub.users import second_factor, service
from hub.users.models import User

app = typer.Typer(help="Console users.", no_args_is_help=True)


def _read_password() -> str:
    if sys.stdin.isatty():
        return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


def _user(db: Session, ref: str) -> User:
    user = service.get_by_ref(db=db, ref=ref)
    if user is None:
        typer.echo(f"error: no user {ref}", err=True)
        raise typer.Exit(1)
    return user


def _row(user: User, organizations: dict[str, str]) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role,
        "organization_id": user.organization_id,
        "organization": organizations.get(user.organization_id),
        "second_factor": second_factor.is_enrolled(user),
        "disabled": user.disabled_at is not None,
        "locked": service.is_locked(user),
        "last_signin_at": user.last_signin_at.isoformat() if user.last_signin_at else None,
    }


@app.command("add")
def add(
    org: str = typer.Option(..., "--org", help="Organisation id"),
    email: str = typer.Option(..., "--email"),
    role: str = typer.Option(..., "--role", help="case_worker, consent_officer or admin"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Add a user; the password is read from standard input (never from the command line)."""
    password = _read_password()
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


@app.command("list")
def list_users(
    org: str | None = typer.Option(None, "--org", help="Only this organisation's people"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """People, by organisation then e-mail: role, second factor, disabled, locked, last sign-in."""
    rt = runtime()
    with unit_of_work(rt) as db:
        people = service.get_all(db=db, organization_id=org)
        ids = {u.organization_id for u in people}
        found = db.execute(
            select(Organization.id, Organization.name).where(Organization.id.in_(ids))
        )
        names = {organization_id: name for organization_id, name in found}
        rows = [_row(u, names) for u in people]
    if as_json:
        emit_json({"items": rows})
        return
    for row in rows:
        flags = [
            name
            for name, on in (
                ("2fa", row["second_factor"]),
                ("disabled", row["disabled"]),
                ("locked", row["locked"]),
            )
            if on
        ]
        typer.echo(
            f"{row['id']}  {row['email']}  {row['role']}  {row['organization'] or '-'}"
            f"  {' '.join(flags) or '-'}  last sign-in {row['last_signin_at'] or 'never'}"
        )


@app.command("disable")
def disable(
    user_ref: str = typer.Argument(..., metavar="USER", help="User id or e-mail"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Stop a person signing in; every session of theirs ends now."""
    rt = runtime()
    with unit_of_work(rt) as db:
        user = _user(db, user_ref)
        ended = service.disable(db=db, actor=cli_actor(), user=user)
        result = {"id": user.id, "email": user.email, "disabled": True, "sessions_revoked": ended}
    if as_json:
        emit_json(result)
    else:
        typer.echo(f"user {result['email']} disabled; {ended} session(s) ended")


@app.command("enable")
def enable(
    user_ref: str = typer.Argument(..., metavar="USER", help="User id or e-mail"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Let a disabled person sign in again."""
    rt = runtime()
    with unit_of_work(rt) as db:
        user = _user(db, user_ref)
        service.enable(db=db, actor=cli_actor(), user=user)
        result = {"id": user.id, "email": user.email, "disabled": False}
    if as_json:
        emit_json(result)
    else:
        typer.echo(f"user {result['email']} enabled")


@app.command("reset-password")
def reset_password(
    user_ref: str = typer.Argument(..., metavar="USER", help="User id or e-mail"),
    reset_second_factor: bool = typer.Option(
        False,
        "--reset-second-factor",
        help="Also forget their authenticator and recovery codes (they enrol again)",
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Set a new password (read from standard input); ends every session and lifts the lock."""
    password = _read_password()
    rt = runtime()
    with unit_of_work(rt) as db:
        user = _user(db, user_ref)
        if reset_second_factor:
            second_factor.reset(db=db, user=user, actor=cli_actor())
        ended = service.reset_password(db=db, actor=cli_actor(), user=user, password=password)
        result = {
            "id": user.id,
            "email": user.email,
            "sessions_revoked": ended,
            "second_factor_reset": reset_second_factor,
        }
    if as_json:
        emit_json(result)
    else:
        extra = "; second factor reset" if reset_second_factor else ""
        typer.echo(f"password of {result['email']} reset; {ended} session(s) ended{extra}")
