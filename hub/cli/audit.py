"""`hub audit`: verify the audit chain, sign checkpoints, hand out the public key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import typer

from hub.audit.chain import ChainBroken
from hub.audit.published import checkpoint_doc
from hub.audit.signing import AuditKeyError, load_public_key
from hub.audit.tasks import STALE_INTERVALS, make_checkpoint, witness
from hub.audit.verify import Expectation
from hub.audit.verify import verify as verify_log
from hub.cli.context import emit_json, runtime, schema_needed

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@app.command()
def verify(
    public_key: list[Path] = typer.Option(
        [],
        "--public-key",
        help="PEM public key to check checkpoint signatures with (repeatable, e.g. old keys "
        "after a key change); default: the hub's own key.",
    ),
    expect: list[str] = typer.Option(
        [],
        "--expect",
        metavar="SEQ:HASH",
        help="A checkpoint kept outside the hub (a partner's copy, a printout): the chain must "
        "hold that entry with that hash. Repeatable.",
    ),
    stale_intervals: int = typer.Option(
        STALE_INTERVALS,
        "--stale-after-intervals",
        min=0,
        help="Fail when entries have waited longer than this many checkpoint intervals "
        "(HUB_AUDIT_CHECKPOINT_SECONDS) for a signed checkpoint; 0 turns the check off.",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Check every entry's hash and link, the head, the chain of signed checkpoints, the
    disclosure log, the checkpoints given with --expect and this hub's own record of its last
    checkpoint, and that no entry has waited too long for a checkpoint.

    Exits 0 when intact, 1 naming the first broken entry and the reason.
    """
    try:
        expectations = [Expectation.parse(text) for text in expect]
    except ValueError as exc:
        typer.echo(f"error: --expect {exc}", err=True)
        raise typer.Exit(2) from None
    rt = runtime()
    try:
        if public_key:
            keys = [load_public_key(p.read_bytes(), source=str(p)) for p in public_key]
        else:
            keys = [rt.audit_key.public_key]
        own = witness(rt.settings).read()
        if own is not None:
            expectations.append(Expectation(own.seq, own.hash))
        interval = timedelta(seconds=rt.settings.audit_checkpoint_seconds)
        # a read-only walk: nothing to commit, and the snapshot ends with the transaction
        with schema_needed(rt), rt.sessions() as db, db.begin():
            report = verify_log(
                db=db,
                public_keys=keys,
                expect=expectations,
                stale_after=interval * stale_intervals if stale_intervals else None,
            )
    except (AuditKeyError, OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        rt.dispose()
    if json_output:
        emit_json(report.as_dict())
    elif report.ok:
        typer.echo(
            f"audit chain intact: {report.entries} entries, head at {report.head_seq}, "
            f"{report.checkpoints} signed checkpoints, {report.disclosures} disclosures, "
            f"{report.expectations} outside checkpoints matched"
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
    allow_stale: bool = typer.Option(
        False,
        "--allow-stale",
        help="Sign even though entries have waited long for a checkpoint and this hub has no "
        "record of its last one. Only after checking the chain against copies kept outside "
        "(hub audit verify --expect).",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Sign a checkpoint of the chain's head now (the scheduler does this periodically).

    The chain is checked from the last checkpoint first; a break is refused, not signed.
    """
    rt = runtime()
    try:
        with schema_needed(rt):
            cp = make_checkpoint(rt, allow_stale=allow_stale)
    except AuditKeyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except ChainBroken as exc:
        typer.echo(f"refused to sign: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        rt.dispose()
    if json_output:
        made = {} if cp is None else {"id": cp.id, **checkpoint_doc(cp)}
        emit_json({"created": cp is not None, **made})
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
