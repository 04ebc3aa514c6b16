"""The transactional outbox: record work with the change that causes it, hand it to Celery
after commit, and run each message's handler at most once to completion.

A message moves pending → dispatched (a lease is taken and the broker is told) → running (a
worker claimed it with a token, until its lease ends) → done, in the same transaction as the
handler's effects. The broker is told right after the writing transaction commits, by the
process's background publisher (`dispatch_on_commit`, `hub.outbox.publisher`), and by the
scheduled dispatcher for anything that missed it. A dispatched or running message whose lease
ended is dispatched again, so a lost broker message or a dead worker loses nothing; the claim
token makes duplicates harmless. A message dispatched again while never claimed gets a lease as
long as it has waited, so a backlog is not fed duplicates faster than workers can drain it.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from celery.utils.time import get_exponential_backoff_interval
from sqlalchemy import and_, event, or_, select, update
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from hub.clock import utcnow
from hub.db.base import new_id
from hub.db.inserts import insert_into
from hub.db.session import transaction
from hub.outbox.models import OutboxMessage, OutboxStatus
from hub.settings import Settings
from hub.worker.celery_app import DEFAULT_QUEUE, RUN_OUTBOX_TASK

if TYPE_CHECKING:
    from hub.services import Services

log = logging.getLogger("hub.outbox")

Handler = Callable[[Session, "Services", dict[str, Any]], None]
# called in the transaction that dead-letters a message: (db, runtime, payload, error)
DeadHandler = Callable[[Session, "Services", dict[str, Any], str], None]

TOPIC_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,79}$")
MAX_PAYLOAD_BYTES = 4096
MAX_BACKOFF_SECONDS = 3600
MAX_REASON_CHARS = 200

# the ids a session enqueued in its current transaction (see `dispatch_on_commit`)
NEW_IDS = "hub.outbox.new_ids"
# set in the info of the session factories that forget them as transactions end (`listen`)
FORGETS = "hub.outbox.forgets"

_OUTBOX = OutboxMessage.__table__
_handlers: dict[str, Handler] = {}
_dead_handlers: dict[str, DeadHandler] = {}


class OutboxError(Exception):
    """A handler's failure with a reason safe to store and log (no personal data)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RetryableError(OutboxError):
    """A transient failure (a partner down, a timeout): the message is tried again later,
    not before `retry_after` seconds when the failing party asked for that much."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentError(OutboxError):
    """A failure no retry will fix: the message is dead-lettered at once."""


class UnknownTopic(RetryableError):
    """No handler registered (a worker that predates the topic): retried, then dead."""


class ClaimLost(Exception):
    """The message was given to another worker (this one outlived its lease)."""


class InvalidPayload(ValueError):
    pass


@dataclass(frozen=True)
class Claimed:
    id: str
    topic: str
    payload: dict[str, Any]
    attempts: int
    token: str


def handler(topic: str, *, on_dead: DeadHandler | None = None) -> Callable[[Handler], Handler]:
    """Register `fn(db, runtime, payload)` as the handler of `topic`.

    `on_dead(db, runtime, payload, error)` runs in the transaction that dead-letters one of
    its messages, so the domain learns of it (a delivery given up on) with no gap.

    The handler runs inside the transaction that marks the message done: it must not commit,
    and everything it writes is kept only if the message completes. On SQLite its first
    statement takes the database's write lock until then: slow calls (a partner's server)
    belong before it where the handler can manage that.
    """
    if not TOPIC_RE.match(topic):
        raise ValueError(f"invalid outbox topic {topic!r}")

    def register(fn: Handler) -> Handler:
        existing = _handlers.get(topic)
        if existing is not None and existing is not fn:
            raise ValueError(f"outbox topic {topic!r} already has a handler")
        _handlers[topic] = fn
        if on_dead is not None:
            _dead_handlers[topic] = on_dead
        return fn

    return register


def get_handler(topic: str) -> Handler | None:
    return _handlers.get(topic)


class Enqueued(NamedTuple):
    """A message `enqueue` wrote (its row is the outbox's: `db.get(OutboxMessage, id)`)."""

    id: str
    topic: str
    available_at: datetime


def enqueue(
    *,
    db: Session,
    topic: str,
    payload: dict[str, Any],
    available_at: datetime | None = None,
) -> Enqueued:
    """Record a message in the caller's transaction: it exists if and only if they commit.

    `payload` carries identifiers only (strings, integers, booleans, or lists of them): it
    travels through the broker, where personal data must never go.
    """
    if not TOPIC_RE.match(topic):
        raise ValueError(f"invalid outbox topic {topic!r}")
    _check_payload(payload)
    if available_at is not None and available_at.tzinfo is None:
        raise ValueError("available_at must carry a time zone")
    now = utcnow()
    message = Enqueued(new_id(), topic, available_at or now)
    # a plain INSERT, not the unit of work: written now (a bad row fails here, not at its
    # commit) at a fraction of the CPU; no ORM object is made for it
    db.connection().execute(
        insert_into(OutboxMessage.__table__),
        {
            "id": message.id,
            "topic": topic,
            "payload": dict(payload),
            "status": OutboxStatus.pending.value,
            "attempts": 0,
            "available_at": message.available_at,
            "created_at": now,
        },
    )
    db.info.setdefault(NEW_IDS, []).append(message.id)
    return message


def dispatch_on_commit(runtime: Services, publish: Callable[[list[str]], None]) -> None:
    """Hand the messages a transaction of `runtime.sessions` wrote to `publish` as soon as it
    commits: the background publisher's queue (`hub.outbox.publisher`), so the committing
    thread makes no round trip for them.

    Nothing is lost if they are never sent (a broker down, the process killed after the
    commit): the rows are pending, and the scheduled dispatcher sends them at its next pass.
    """

    def after_commit(session: Session) -> None:
        ids = session.info.pop(NEW_IDS, None)
        if ids:
            publish(ids)

    event.listen(runtime.sessions, "after_commit", after_commit)


def listen(sessions: sessionmaker[Session]) -> None:
    """Forget the messages a transaction of `sessions` enqueued once it ends (its rollback
    took them; a commit with no dispatcher left them to the scheduled one)."""
    # the factory's own mark (see `hub.audit.service.listen`)
    info = sessions.kw.setdefault("info", {})
    if info.get(FORGETS):
        return
    info[FORGETS] = True
    event.listen(sessions, "after_transaction_end", _forget_new_ids)


def _forget_new_ids(session: Session, transaction: SessionTransaction) -> None:
    # after a rollback (its messages are gone), or a commit no listener dispatched
    if transaction.parent is None:
        session.info.pop(NEW_IDS, None)


def dispatch_ids(runtime: Services, ids: list[str]) -> list[str]:
    """Hand these messages to Celery now if they are still pending and due (as `dispatch_due`
    would, for these rows only); returns the ids sent."""
    now = utcnow()
    lease_until = now + timedelta(seconds=runtime.settings.outbox_lease_seconds)
    # on a connection of its own, not a session: the background publisher runs this for every
    # committed transaction, and the ORM's bulk UPDATE and the session's commit were more than
    # half of its CPU (bench/README.md)
    with runtime.engine.begin() as connection:
        taken = connection.execute(
            update(_OUTBOX)
            .where(
                _OUTBOX.c.id.in_(ids),
                _OUTBOX.c.status == OutboxStatus.pending.value,
                _OUTBOX.c.available_at <= now,
            )
            .values(
                status=OutboxStatus.dispatched.value, lease_until=lease_until, dispatched_at=now
            )
            .returning(_OUTBOX.c.id)
        ).scalars()
        taken_ids = set(taken)
    # in the order they were written
    sent = [outbox_id for outbox_id in ids if outbox_id in taken_ids]
    return _send(runtime, sent, dispatched_at=now)


def _check_payload(payload: object) -> None:
    if not isinstance(payload, dict):
        raise InvalidPayload("outbox payload must be a JSON object")
    for key, value in payload.items():
        if not isinstance(key, str):
            raise InvalidPayload("outbox payload keys must be strings")
        values = value if isinstance(value, list) else [value]
        for item in values:
            # floats are refused too: identifiers are strings or integers, and NaN is not JSON
            if item is not None and not isinstance(item, str | int | bool):
                raise InvalidPayload(f"outbox payload field {key!r} is not an identifier")
    if len(json.dumps(payload, allow_nan=False)) > MAX_PAYLOAD_BYTES:
        raise InvalidPayload("outbox payload too large: it should carry identifiers only")


def dispatch_due(runtime: Services, *, limit: int = 100) -> list[str]:
    """Hand due messages to Celery; returns the ids sent.

    Due: pending and available, or dispatched/running with an ended lease. Rows are marked
    dispatched and committed before anything is sent, so a worker never receives an id its
    database cannot see yet; a send that fails puts the rest back to pending.
    """
    settings = runtime.settings
    now = utcnow()
    lease_until = now + timedelta(seconds=settings.outbox_lease_seconds)
    ids: list[str] = []
    with transaction(runtime.sessions) as db:
        rows = db.scalars(
            select(OutboxMessage)
            .where(
                or_(
                    and_(
                        OutboxMessage.status == OutboxStatus.pending,
                        OutboxMessage.available_at <= now,
                    ),
                    and_(
                        OutboxMessage.status.in_((OutboxStatus.dispatched, OutboxStatus.running)),
                        OutboxMessage.lease_until < now,
                    ),
                )
            )
            .order_by(OutboxMessage.available_at)
            .limit(limit)
            # several dispatchers share the rows instead of queueing on each other's locks,
            # and skip a row whose handler still holds it (SQLite serialises instead)
            .with_for_update(skip_locked=True)
        ).all()
        # never claimed, lease ended: lost by the broker, or still queued behind a backlog.
        # While the broker holds at least as many messages as there are such rows, they are
        # taken to be queued (sending them again would only lengthen the queue they wait in);
        # one the broker did lose is sent once the queue has drained below that
        unclaimed = [row for row in rows if row.status == OutboxStatus.dispatched]
        still_queued = bool(unclaimed) and _broker_holds(runtime, len(unclaimed))
        for row in rows:
            if row.attempts >= settings.outbox_max_attempts:
                # a worker died (or was stopped) during the last attempt allowed
                row.status, row.claim, row.lease_until = OutboxStatus.dead, None, None
                row.last_error = "WorkerLost: lease ended during the last attempt"
                _run_dead_handler(db, runtime, row.topic, row.payload, row.last_error)
                log.error(
                    "outbox message dead",
                    extra={"outbox_id": row.id, "topic": row.topic, "attempts": row.attempts},
                )
                continue
            if row.status == OutboxStatus.dispatched:
                # the lease grows with the wait: a message sent again at a fixed lease would
                # add a duplicate to the backlog every lease
                row.lease_until = now + redispatch_lease(settings, waited=now - row.available_at)
                if still_queued:
                    continue
            else:
                row.lease_until = lease_until
            row.status, row.claim, row.dispatched_at = OutboxStatus.dispatched, None, now
            ids.append(row.id)
    if still_queued:
        log.info("outbox messages still queued at the broker", extra={"count": len(unclaimed)})
    return _send(runtime, ids, dispatched_at=now)


def _broker_holds(runtime: Services, count: int) -> bool:
    """Whether the broker's main queue holds at least `count` messages; False when it cannot
    say, so that a message is sent again rather than risk losing it."""
    try:
        with runtime.celery.connection_for_write() as conn:
            queue = runtime.celery.amqp.queues[DEFAULT_QUEUE].bind(conn.default_channel)
            # declared, not asked passively: kombu's Redis transport checks a passive declare
            # without the broker's key prefix, so it finds no queue and the message is resent
            waiting = queue.queue_declare().message_count
    except Exception as exc:
        log.info("broker queue depth unknown", extra={"error_type": type(exc).__name__})
        return False
    return int(waiting or 0) >= count


def redispatch_lease(settings: Settings, *, waited: timedelta) -> timedelta:
    """The lease of a message dispatched again because no worker claimed it in time: as long
    as it has already waited (at least the configured lease, at most an hour), so a message
    stuck behind a backlog is sent again a few times in all, not once per lease."""
    lease = timedelta(seconds=settings.outbox_lease_seconds)
    return min(max(lease, waited), max(lease, timedelta(seconds=MAX_BACKOFF_SECONDS)))


def _send(runtime: Services, ids: list[str], *, dispatched_at: datetime) -> list[str]:
    if not ids:
        return []
    handed = 0  # how many the broker has for certain
    try:
        # one producer (and broker connection) for the pass, not one taken from the pool and
        # given back per message: a third of each message's CPU
        with runtime.celery.producer_or_acquire() as producer:
            # where the transport can (Redis), kombu writes the pass's messages in one pipeline
            # when the batch ends: one client and one round trip, not one of each per message
            batched = producer.supports_batch_publish
            with producer.batch():
                for outbox_id in ids:
                    runtime.celery.send_task(RUN_OUTBOX_TASK, args=[outbox_id], producer=producer)
                    if not batched:
                        handed += 1
            handed = len(ids)
    except Exception as exc:
        if handed == len(ids):
            return ids  # giving the producer back failed, after the messages went out
        # a batch that failed may have been written in part: all of it goes back to pending,
        # and a message sent twice is run once (the claim)
        unsent = ids[handed:]
        log.warning(
            "broker refused outbox messages; they stay pending",
            extra={"error_type": type(exc).__name__, "count": len(unsent)},
        )
        _undispatch(runtime, unsent, dispatched_at=dispatched_at)
        return ids[:handed]
    return ids


def _undispatch(runtime: Services, ids: list[str], *, dispatched_at: datetime) -> None:
    try:
        with transaction(runtime.sessions) as db:
            db.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(ids),
                    OutboxMessage.status == OutboxStatus.dispatched,
                    OutboxMessage.dispatched_at == dispatched_at,
                )
                .values(status=OutboxStatus.pending, lease_until=None)
            )
    except Exception as exc:
        # the lease still brings them back, only later
        log.warning("could not put outbox messages back", extra={"error_type": type(exc).__name__})


def claim(runtime: Services, outbox_id: str) -> Claimed | None:
    """Take a message for this worker with a fresh token; None when it is not ours to run.

    Not ours: done, dead, unknown, not yet available, out of attempts, or running under
    another worker's live lease (a duplicate delivery).
    """
    settings = runtime.settings
    now = utcnow()
    token = uuid.uuid4().hex
    with transaction(runtime.sessions) as db:
        result = db.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == outbox_id,
                OutboxMessage.attempts < settings.outbox_max_attempts,
                or_(
                    and_(
                        OutboxMessage.status.in_((OutboxStatus.pending, OutboxStatus.dispatched)),
                        OutboxMessage.available_at <= now,
                    ),
                    and_(
                        OutboxMessage.status == OutboxStatus.running,
                        OutboxMessage.lease_until < now,
                    ),
                ),
            )
            .values(
                status=OutboxStatus.running,
                claim=token,
                attempts=OutboxMessage.attempts + 1,
                lease_until=now + timedelta(seconds=settings.outbox_lease_seconds),
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        topic, payload, attempts = db.execute(
            select(OutboxMessage.topic, OutboxMessage.payload, OutboxMessage.attempts).where(
                OutboxMessage.id == outbox_id
            )
        ).one()
    return Claimed(id=outbox_id, topic=topic, payload=payload, attempts=attempts, token=token)


def execute(runtime: Services, claimed: Claimed) -> None:
    """Run the handler and mark the message done in one transaction, or change nothing.

    Raises ClaimLost (effects rolled back) when another worker took the message over, and
    whatever the handler raised otherwise.
    """
    fn = _handlers.get(claimed.topic)
    if fn is None:
        raise UnknownTopic(f"no handler for topic {claimed.topic}")
    mine = (
        OutboxMessage.id == claimed.id,
        OutboxMessage.claim == claimed.token,
        OutboxMessage.status == OutboxStatus.running,
    )
    with transaction(runtime.sessions) as db:
        if not runtime.settings.is_sqlite:
            # the row stays locked while the handler runs: the dispatcher skips it and a
            # duplicate claim waits, so a slow but live worker is not raced. Not on SQLite,
            # where any statement takes the database's only write lock until the commit
            row = db.execute(select(OutboxMessage.id).where(*mine).with_for_update()).first()
            if row is None:
                raise ClaimLost(claimed.id)
        fn(db, runtime, dict(claimed.payload))
        result = db.execute(
            update(OutboxMessage)
            .where(*mine)
            .values(status=OutboxStatus.done, done_at=utcnow(), lease_until=None, claim=None)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ClaimLost(claimed.id)


def release_for_retry(
    runtime: Services, claimed: Claimed, *, error: str, delay: float, via_broker: bool
) -> bool:
    """Give the message back until `delay` from now; False if it was no longer ours.

    `via_broker`: Celery's retry brings it back, and it stays dispatched with a lease past
    the retry time, so a retry message the broker loses is dispatched again. Otherwise (a
    delay too long for a broker to hold a message) it is pending, and the dispatcher sends it
    when it is due.
    """
    due = utcnow() + timedelta(seconds=delay)
    lease = timedelta(seconds=runtime.settings.outbox_lease_seconds)
    return _finish(
        runtime,
        claimed,
        status=OutboxStatus.dispatched if via_broker else OutboxStatus.pending,
        available_at=due,
        lease_until=due + lease if via_broker else None,
        last_error=error,
    )


def mark_dead(runtime: Services, claimed: Claimed, *, error: str) -> bool:
    return _finish(
        runtime,
        claimed,
        status=OutboxStatus.dead,
        lease_until=None,
        last_error=error,
        on_done=lambda db: _run_dead_handler(db, runtime, claimed.topic, claimed.payload, error),
    )


def _run_dead_handler(
    db: Session, runtime: Services, topic: str, payload: dict[str, Any], error: str
) -> None:
    fn = _dead_handlers.get(topic)
    if fn is not None:
        fn(db, runtime, dict(payload), error)


def _finish(
    runtime: Services,
    claimed: Claimed,
    *,
    on_done: Callable[[Session], None] | None = None,
    **values: Any,
) -> bool:
    with transaction(runtime.sessions) as db:
        result = db.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == claimed.id,
                OutboxMessage.claim == claimed.token,
                OutboxMessage.status == OutboxStatus.running,
            )
            .values(claim=None, **values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        if on_done is not None:
            on_done(db)
        return True


def retry_delay(settings: Settings, attempt: int, *, at_least: float | None = None) -> float:
    """Seconds before retrying after failed attempt number `attempt` (1-based).

    Exponential from outbox_backoff_seconds, with "equal jitter": between half and all of the
    exponential value, so retries of many messages spread out but never come back at once;
    never less than `at_least` (what a partner asked for), never more than MAX_BACKOFF_SECONDS.
    """
    ceiling = get_exponential_backoff_interval(
        factor=settings.outbox_backoff_seconds,
        retries=max(0, attempt - 1),
        maximum=MAX_BACKOFF_SECONDS,
    )
    delay = ceiling / 2 + secrets.SystemRandom().uniform(0, ceiling / 2)
    return min(max(delay, at_least or 0.0), MAX_BACKOFF_SECONDS)


def error_summary(exc: BaseException) -> str:
    """What is stored as last_error: the type, and the reason only when the hub wrote it.

    Other exceptions' messages quote values (a database error quotes the row), so they are
    reduced to their type.
    """
    name = type(exc).__name__
    if isinstance(exc, OutboxError):
        return f"{name}: {exc.reason[:MAX_REASON_CHARS]}"
    return name
