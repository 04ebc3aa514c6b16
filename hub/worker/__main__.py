"""`python -m hub.worker`: `hub worker` alone, without importing the rest of the CLI (the
embedded worker of `hub serve` starts faster)."""

import typer

from hub.cli.worker import PASSTHROUGH, worker

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command(context_settings=PASSTHROUGH)(worker)
app()
