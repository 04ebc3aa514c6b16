"""What every CLI command needs: the settings, a runtime, and JSON output."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

from hub.runtime import Runtime
from hub.settings import InvalidSettings, load_settings


def runtime() -> Runtime:
    try:
        return Runtime(load_settings())
    except InvalidSettings as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def emit_json(obj: dict[str, Any]) -> None:
    """Exactly one JSON object on stdout, as the command-line contract says."""
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()
