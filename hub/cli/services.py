"""`hub services import|export FILE`: the service directory as HSDS 3.0 JSON, or CSV (by the
file's extension, or --format)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from hub.cli.context import cli_actor, emit_json, runtime, schema_needed, unit_of_work

app = typer.Typer(help="The service directory (HSDS JSON or CSV).", no_args_is_help=True)


def _format(path: Path, given: str | None) -> str:
    chosen = given or ("csv" if path.suffix.lower() == ".csv" else "json")
    if chosen not in ("json", "csv"):
        typer.echo("error: --format is json or csv", err=True)
        raise typer.Exit(2)
    return chosen


@app.command("export")
def export(
    file: Path = typer.Argument(..., help="Where to write the directory"),
    fmt: str | None = typer.Option(None, "--format", help="json (HSDS 3.0) or csv"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Write every service of the directory to FILE."""
    from hub.service_directory import hsds

    chosen = _format(file, fmt)
    rt = runtime()
    with schema_needed(rt), rt.sessions() as db:
        if chosen == "csv":
            text = hsds.export_csv(db)
            count = max(text.count("\n") - 1, 0)
        else:
            doc = hsds.export_json(db)
            text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
            count = len(doc["services"])
    file.write_text(text, encoding="utf-8")
    if as_json:
        emit_json({"exported": count, "format": chosen, "file": str(file)})
    else:
        typer.echo(f"{count} services written to {file} ({chosen})")


@app.command("import")
def import_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="HSDS JSON or CSV"),
    fmt: str | None = typer.Option(None, "--format", help="json (HSDS 3.0) or csv"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Add or update the services in FILE (all or nothing: one refused record changes
    nothing). A service whose id is known is updated; an organisation is found by id or name."""
    from hub.service_directory import hsds

    chosen = _format(file, fmt)
    text = file.read_text(encoding="utf-8")
    try:
        if chosen == "csv":
            records = hsds.csv_records(text)
        else:
            doc = json.loads(text)
            records = doc.get("services") if isinstance(doc, dict) else doc
            if not isinstance(records, list):
                raise ValueError("no list of services")
    except ValueError as exc:
        # json.JSONDecodeError is a ValueError; the file's content is not echoed
        typer.echo(f"error: {file} is not a directory in {chosen}: {type(exc).__name__}", err=True)
        raise typer.Exit(1) from None
    rt = runtime()
    try:
        with unit_of_work(rt) as db:
            counts = hsds.import_records(
                db=db, policy=rt.policy, actor=cli_actor(), records=records
            )
    except hsds.ImportRefused as exc:
        for n, why in exc.problems:
            typer.echo(f"error: record {n}: {why}", err=True)
        typer.echo("nothing was imported", err=True)
        raise typer.Exit(1) from None
    if as_json:
        emit_json(counts)
    else:
        typer.echo(f"{counts['added']} services added, {counts['updated']} updated")
