"""`hub retention`: the hub's own retention of closed cases (`hub.retention`)."""

from __future__ import annotations

import typer

from hub.cli.context import cli_actor, emit_json, runtime, schema_needed
from hub.retention import service

app = typer.Typer(help="The hub's retention of closed cases.", no_args_is_help=True)


@app.command()
def run(
    dry_run: bool = typer.Option(False, "--dry-run", help="List what is due and change nothing."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Purge the closed cases past the policy's retention (`retention.closed_cases`): each is
    crypto-shredded by the same erasure as DELETE /v1/cases/{id}, the organisations its data
    went to are told, and the audit keeps ids and codes (`case.purged`, reason `retention`).

    Prints each case due: its id, closure reason, when it was closed and when it fell due;
    never anything of its data. The scheduler runs the same every HUB_RETENTION_RUN_SECONDS.
    """
    rt = runtime()
    try:
        with schema_needed(rt):
            report = service.run(rt, dry_run=dry_run, actor=cli_actor())
    finally:
        rt.dispose()
    if json_output:
        emit_json(report.as_dict())
    else:
        for item in report.due:
            typer.echo(
                f"{item.case_id}\t{item.closure_reason or '-'}\t"
                f"closed {item.closed_at.isoformat()}\tdue {item.due_at.isoformat()}"
            )
        verb = "would be purged" if dry_run else "purged"
        count = len(report.due) if dry_run else len(report.purged)
        typer.echo(f"{count} closed cases {verb}")
        if report.skipped:
            typer.echo(f"{len(report.skipped)} skipped (reopened or erased meanwhile)")
    if report.failed:
        typer.echo(f"{len(report.failed)} failed: " + " ".join(report.failed), err=True)
        raise typer.Exit(1)
