"""What code below the composition root may use of the running hub: the `Services` interface.

`hub.runtime.Runtime` builds these from settings (in the CLI, the app factory and a worker); every
other module receives them typed as `Services` (or a narrower protocol of its own layer, such as
`hub.audit.signing.AuditServices`), so nothing below the faces imports the runtime that holds
them all, and a test can hand in only what a function uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    # types only: the audit's command-line checks import this without Celery installed
    from celery import Celery
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from hub.crypto.keyring import KeyEncryptionKeys
    from hub.policy.loader import Policy
    from hub.settings import Settings


class Services(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def sessions(self) -> sessionmaker[Session]:
        """One transaction each (`with services.sessions.begin() as db`)."""
        ...

    @property
    def policy(self) -> Policy: ...

    @property
    def keyring(self) -> KeyEncryptionKeys: ...

    @property
    def celery(self) -> Celery:
        """The broker's client: what the outbox sends, and what readiness probes."""
        ...
