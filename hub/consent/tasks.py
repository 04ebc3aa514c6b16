"""The outbox handler of a consent withdrawal: every domain that acts on one is told, in the
transaction that marks the message done.

A domain listens with `on_withdrawal(fn)`, `fn(db=, runtime=, consent_id=, series_id=,
case_id=)`, from its own `install()`, which `hub.wiring` calls as the hub starts: referrals
(`hub.referrals.cascade`) and transfers (`hub.transfers.sending`) cancel what rested on the
consent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from hub.consent.service import WITHDRAWN_TOPIC
from hub.outbox.service import handler

if TYPE_CHECKING:
    from hub.services import Services

Listener = Callable[..., Any]
LISTENERS: list[Listener] = []


def on_withdrawal(listener: Listener) -> Listener:
    if listener not in LISTENERS:
        LISTENERS.append(listener)
    return listener


def consent_withdrawn(db: Session, runtime: Services, payload: dict[str, Any]) -> None:
    ids = {k: payload[k] for k in ("consent_id", "series_id", "case_id")}
    for listener in LISTENERS:
        listener(db=db, runtime=runtime, **ids)


def install() -> None:
    handler(WITHDRAWN_TOPIC)(consent_withdrawn)
