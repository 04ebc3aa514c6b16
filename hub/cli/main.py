"""The `hub` command.

Nothing here imports a subcommand's code: each is loaded when it runs (hub.cli.lazy), so
`hub --help` and `hub audit verify` do not pay for the web application or the worker.
"""

from __future__ import annotations

import sys

import typer

from hub.cli.lazy import PASSTHROUGH, Lazy, lazy_group

COMMANDS = (
    Lazy("audit", "hub.cli.audit:app", "The tamper-evident audit log."),
    Lazy("channels", "hub.cli.channels:app", "Delivery channels of organisations."),
    Lazy("clients", "hub.cli.clients:app", "OAuth clients of partner systems."),
    Lazy("db", "hub.cli.db:app", "Database schema."),
    Lazy("deliveries", "hub.cli.deliveries:app", "Deliveries of referrals to their recipients."),
    Lazy("keys", "hub.cli.keys:app", "Key-encryption keys."),
    Lazy("orgs", "hub.cli.orgs:orgs", "Organisations."),
    Lazy("agreements", "hub.cli.orgs:agreements", "Data sharing agreements."),
    Lazy("users", "hub.cli.users:app", "Console users."),
    Lazy("services", "hub.cli.services:app", "The service directory (HSDS JSON or CSV)."),
    Lazy("reviews", "hub.cli.reviews:app", "Reviews held for consent officers."),
    Lazy("retention", "hub.cli.retention:app", "The hub's retention of closed cases."),
    Lazy(
        "report",
        "hub.cli.report:report",
        "Print the monthly report of every referral made in the month: counts by dimension, "
        "hours to acknowledge, accept and complete, reasons and reviews; no personal data, "
        'small cells shown as "<5".',
    ),
    Lazy("serve", "hub.cli.serve:serve", "Run the hub."),
    Lazy(
        "demo",
        "hub.cli.demo:demo",
        "Seed the demo organisations and tell the hub's story through its API, step by step: "
        "registration with consent, a referral to an NGO and its answer, a case transfer.",
    ),
    Lazy(
        "worker",
        "hub.cli.worker:worker",
        "Run a Celery worker: outbox messages, and with --beat the schedule too.",
        PASSTHROUGH,
    ),
    Lazy(
        "beat",
        "hub.cli.worker:beat",
        "Run the Celery scheduler: outbox dispatch and audit checkpoints (one per deployment).",
        PASSTHROUGH,
    ),
)

app = typer.Typer(
    cls=lazy_group(*COMMANDS),
    help="Interagency referral and data-sharing hub.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _hub() -> None:
    # a callback makes `app` a group even though no command is registered on it directly
    pass


def main() -> None:
    try:
        app()
    except Exception as exc:
        # a malformed policy file stops any command that needs it; the message names the line.
        # Only a command that loaded the policy can raise PolicyError, so its module is there.
        loader = sys.modules.get("hub.policy.loader")
        if loader is None or not isinstance(exc, loader.PolicyError):
            raise
        typer.echo(str(exc), err=True)
        raise SystemExit(2) from None
