"""`hub audit`: verify the audit chain, sign checkpoints, hand out the public key."""

from __future__ import annotations

from pathlib import Path

import typer

from hub.audit import chain
from hub.audit.signing import AuditKeyError, load_public_key
from hub.cli.context import emit_json, runtime
from hub.db.session import transaction

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@app.command()
def verify(
    public_key: list[Path] = typer.Option(
        [],
        "--public-key",
        help="PEM public key to check checkpoint signatures with (repeatable, e.g. old keys "
        "after a key change); default: the hub's own key.",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Check every entry's hash and link, the head and every signed checkpoint.

    Exits 0 when intact, 1 naming the first broken entry and the reason.
    """
    rt = runtime()
    try:
        if public_key:
            keys = [load_public_key(p.read_bytes(), source=str(p)) for p in public_key]
        else:
            keys = [rt.audit_key.public_key]
        # a read-only walk: nothing to commit, and the snapshot ends with the transaction
        with rt.sessions() as db, db.begin():
            report = chain.verify(db=db, public_keys=keys)
    except (AuditKeyError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        rt.dispose()
    if json_output:
        emit_json(report.as_dict())
    elif report.ok:
        typer.echo(
            f"audit chain intact: {report.entries} entries, head at {report.head_seq}, "
            f"{report.checkpoints} signed checkpoints"
        )
        covered = report.checkpointed_seq or 0
        if covered < (report.head_seq or 0):
            typer.echo(
                f"entries {covered + 1} to {report.head_seq} are not yet under a signed checkpoint"
            )
    else:
        typer.echo(
            f"audit chain BROKEN at entry {report.first_broken_seq}: {report.reason} "
            f"({report.detail})"
        )
    if not report.ok:
        raise typer.Exit(1)


@app.command("checkpoint")
def checkpoint_now(
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Sign a checkpoint of the chain's head now (the scheduler does this periodically).

    Keep the printed checkpoints somewhere outside the database as well: that bounds what
    someone who can write to the database could do to the newest entries.
    """
    rt = runtime()
    try:
        key = rt.audit_key
        with transaction(rt.sessions) as db:
            cp = chain.checkpoint(db=db, key=key)
    except AuditKeyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except chain.ChainBroken as exc:
        typer.echo(f"refused to sign: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        rt.dispose()
    if json_output:
        emit_json(
            {"created": False}
            if cp is None
            else {
                "created": True,
                "id": cp.id,
                "seq": cp.seq,
                "hash": cp.hash,
                "at": cp.at.isoformat(),
                "key_id": cp.key_id,
                "signature": cp.signature,
            }
        )
    elif cp is None:
        typer.echo("nothing new since the last checkpoint")
    else:
        typer.echo(f"checkpoint {cp.id} signed at entry {cp.seq} ({cp.hash}) by key {cp.key_id}")


@app.command("public-key")
def public_key_cmd(
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Print the public key (PEM) an auditor needs to check checkpoints."""
    rt = runtime()
    try:
        key = rt.audit_key
    except AuditKeyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        rt.dispose()
    if json_output:
        emit_json({"key_id": key.key_id, "public_key_pem": key.public_pem})
    else:
        typer.echo(key.public_pem, nl=False)
