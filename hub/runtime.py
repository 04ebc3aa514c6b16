"""What a running hub holds: settings, the database, keys and the Celery app.

Built once by the CLI, the app factory or a worker from explicit settings, then passed down.
"""

from __future__ import annotations

from functools import cached_property

from celery import Celery
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hub import wiring
from hub.audit import service as audit
from hub.audit.signing import AuditKey, load_audit_key
from hub.auth.keys import SigningKeys
from hub.crypto import service as data_keys
from hub.crypto.keyring import KeyEncryptionKeys, load_keyring
from hub.db import lookups
from hub.db.session import make_engine, make_sessionmaker
from hub.outbox import service as outbox
from hub.outbox.publisher import Publisher
from hub.outbox.service import dispatch_on_commit
from hub.policy.loader import Policy, load_policy
from hub.settings import Settings
from hub.worker.celery_app import make_celery


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        lookups.configure(settings.lookup_cache_seconds)
        self.engine: Engine = make_engine(settings)
        # each session finds the keyring itself (keyed digests, sealed justifications)
        self.sessions: sessionmaker[Session] = make_sessionmaker(
            self.engine, info=data_keys.session_info(lambda: self.keyring)
        )
        # what every transaction does as it ends: append its audit entries, forget its
        # outbox ids (or hand them to the broker), empty the WAL after an erasure
        audit.listen(self.sessions)
        outbox.listen(self.sessions)
        # new outbox messages go to the broker from a thread of this process after their
        # commit (the scheduled dispatcher sends what it misses)
        self.outbox_publisher: Publisher | None = None
        if settings.outbox_dispatch_on_commit:
            self.outbox_publisher = Publisher(self)
            dispatch_on_commit(self, self.outbox_publisher.put)
        wiring.install()

    @cached_property
    def policy(self) -> Policy:
        return load_policy(self.settings.policy_file)

    @cached_property
    def keyring(self) -> KeyEncryptionKeys:
        return load_keyring(self.settings)

    @cached_property
    def audit_key(self) -> AuditKey:
        return load_audit_key(self.settings)

    @cached_property
    def signing_keys(self) -> SigningKeys:
        """The hub's ES256 keys: access tokens, and webhook signatures (same JWKS)."""
        return SigningKeys(keyring=self.keyring, token_seconds=self.settings.access_token_seconds)

    @cached_property
    def celery(self) -> Celery:
        return make_celery(self.settings, task_modules=wiring.TASK_MODULES)

    def dispose(self) -> None:
        if self.outbox_publisher is not None:
            self.outbox_publisher.stop()
        if "celery" in self.__dict__:
            self.celery.close()
        self.engine.dispose()
