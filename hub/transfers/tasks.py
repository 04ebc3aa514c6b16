"""The transfer flow's part in the outbox handlers: a consent officer's decision reaches
transfers through their flow (`hub.lifecycle.tasks`), a consent withdrawal through the consent's
listeners (`hub.consent.tasks`): `install()` connects both."""

from __future__ import annotations

from hub.consent.tasks import on_withdrawal
from hub.consent.withdrawal import on_preview
from hub.lifecycle import decisions as decided
from hub.transfers import sending


def install() -> None:
    decided.register(sending.FLOW)
    on_withdrawal(sending.cancel_for_withdrawal)
    # what a withdrawal would do, told before it is done: the same rule as the listener's
    on_preview(sending.preview)
