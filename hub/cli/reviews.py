"""`hub reviews`: operators' steps on consent officers' reviews."""

from __future__ import annotations

import typer

from hub.cli.context import cli_actor, emit_json, runtime, unit_of_work
from hub.reviews.sealing import Sealed, seal_clear_justifications
from hub.runtime import Runtime

app = typer.Typer(help="Reviews held for consent officers.", no_args_is_help=True)


def seal_justifications_step(rt: Runtime, *, actor: str) -> Sealed:
    """The one-time step `hub db upgrade` and `hub serve` run after the schema is current."""
    with unit_of_work(rt) as db:
        return seal_clear_justifications(db=db, keyring=rt.keyring, actor=actor)


@app.command("seal-justifications")
def seal_justifications(
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Seal the justifications written before they were sealed (migration 0009).

    Each is sealed with its case's data key, so erasing the case erases it; one whose case is
    already erased is dropped. Run by `hub db upgrade` and `hub serve` too; a second run finds
    nothing to do. Audited as counts, never the text.
    """
    done = seal_justifications_step(runtime(), actor=cli_actor())
    if json_output:
        emit_json({"sealed": done.sealed, "dropped": done.dropped})
        return
    typer.echo(f"{done.sealed} justifications sealed; {done.dropped} of erased cases dropped")
