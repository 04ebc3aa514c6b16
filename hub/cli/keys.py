"""`hub keys`: key-encryption key rotation, and retirement (what makes erasure final)."""

from __future__ import annotations

import typer

from hub.audit.service import record
from hub.cli.context import emit_json, runtime, schema_needed
from hub.crypto import service as keys
from hub.crypto.envelope import CiphertextInvalid
from hub.crypto.epochs import retire as retire_epoch
from hub.crypto.keyring import AddsVersions, KeyringError
from hub.db.session import transaction

app = typer.Typer(help="Key-encryption keys.", no_args_is_help=True)


@app.command()
def rotate(
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Rotate the key-encryption key and rewrap every data key under the current version.

    File keyring (the default): adds a new version to the keyring file, then rewraps.
    Environment keyring (HUB_KEK_PROVIDER=env): add the new version to HUB_KEK_KEYS first
    (e.g. "1:old,2:new"; the highest version is current) and give it to every hub process,
    then run this to rewrap under it. Keep the old versions in HUB_KEK_KEYS until this
    reports nothing left under them.

    Data ciphertexts are not touched: only the data keys are rewrapped.
    """
    rt = runtime()
    try:
        keyring = rt.keyring
        added = keyring.add_version() if isinstance(keyring, AddsVersions) else None
        current = keyring.current_version
        # the new version is on disk before any data key is wrapped under it
        with schema_needed(rt), transaction(rt.sessions) as db:
            rewrapped = keys.rewrap_all(db=db, keyring=keyring)
            by_version = keys.count_by_version(db=db)
            record(
                db,
                actor="cli",
                action="keys.rotated",
                object_type="keyring",
                details={
                    "provider": rt.settings.kek_provider,
                    "kek_version": current,
                    "added_version": added is not None,
                    "rewrapped": rewrapped,
                },
            )
    except KeyringError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    except CiphertextInvalid as exc:
        # a wrapped key that does not open under its version: nothing was committed
        typer.echo(f"rotation stopped, nothing changed in the database: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        rt.dispose()
    total = sum(by_version.values())
    if json_output:
        emit_json(
            {
                "provider": rt.settings.kek_provider,
                "kek_version": current,
                "added_version": added is not None,
                "rewrapped": rewrapped,
                "data_keys": total,
            }
        )
        return
    what = "new" if added is not None else "from HUB_KEK_KEYS"
    typer.echo(f"key-encryption key version {current} ({what})")
    typer.echo(f"rewrapped {rewrapped} data keys; {total} data keys in all")
    if added is None and rewrapped == 0:
        typer.echo(
            "nothing to rewrap: to rotate, add a higher version to HUB_KEK_KEYS first", err=True
        )


@app.command()
def retire(
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Make erasures final: rewrap every data key under a new key-encryption key version,
    then destroy every older version. Run it daily (cron or a systemd timer).

    Until it runs, a copy of the database made before a case was erased (a backup, a dump, a
    SQLite WAL) still opens with the keyring; after it, none made before it does. Restore
    only from backups taken after the latest retirement, and never back up the keyring with
    the database.

    File keyring (the default): the new version is made and the old ones destroyed here.
    Environment keyring: add a newer version to HUB_KEK_KEYS first when this asks for it;
    afterwards remove the versions this names from HUB_KEK_KEYS (and from wherever they are
    kept); the next run marks those erasures final.
    """
    rt = runtime()
    try:
        with schema_needed(rt):
            done = retire_epoch(sessions=rt.sessions, keyring=rt.keyring)
        with transaction(rt.sessions) as db:
            record(
                db,
                actor="cli",
                action="keys.retired",
                object_type="keyring",
                details={
                    "provider": rt.settings.kek_provider,
                    "kek_version": done.current,
                    "added_version": done.added,
                    "rewrapped": done.rewrapped,
                    "destroyed_versions": done.destroyed,
                    "versions_to_remove": done.to_remove,
                    "erasures_final": done.settled,
                    "erasures_pending": done.pending,
                },
            )
    except KeyringError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    except CiphertextInvalid as exc:
        typer.echo(f"retirement stopped, no key destroyed: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        rt.dispose()
    if json_output:
        emit_json(
            {
                "provider": rt.settings.kek_provider,
                "kek_version": done.current,
                "added_version": done.added,
                "rewrapped": done.rewrapped,
                "destroyed_versions": done.destroyed,
                "versions_to_remove": done.to_remove,
                "erasures_final": done.settled,
                "erasures_pending": done.pending,
            }
        )
        return
    typer.echo(f"key-encryption key version {done.current}; rewrapped {done.rewrapped} data keys")
    if done.destroyed:
        typer.echo(f"destroyed versions {', '.join(map(str, done.destroyed))}")
    if done.to_remove:
        typer.echo(
            f"remove versions {', '.join(map(str, done.to_remove))} from HUB_KEK_KEYS now",
            err=True,
        )
    typer.echo(f"{done.settled} erasures made final; {done.pending} pending")
