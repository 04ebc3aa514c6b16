"""Prometheus metrics, one registry per app so several apps in a process keep apart.

Labels are bounded: the route template (never the raw path), a known method or `OTHER`, and
the status code. The outbox and the audit checkpoint are read from the database at each scrape.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import timedelta

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from hub.clock import utcnow
from hub.ops import checkpoint
from hub.outbox.models import OutboxMessage, OutboxStatus

log = logging.getLogger("hub.ops")

# set by `hub serve --workers N` before its server processes start (prometheus_client reads it
# at import): the request counters of every process are then added up at each scrape
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "<unmatched>"


class OutboxCollector(Collector):
    """Outbox rows by status, counted when Prometheus scrapes."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[Metric]:
        try:
            with self.sessions() as db:
                rows = db.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                ).all()
        except SQLAlchemyError as exc:
            # a scrape must still answer when the database is down; readyz reports that
            log.warning("outbox metrics unavailable", extra={"error_type": type(exc).__name__})
            return
        counts = {status.value: 0 for status in OutboxStatus}
        counts.update({status: count for status, count in rows})
        gauge = GaugeMetricFamily(
            "hub_outbox_messages", "Outbox rows by status.", labels=["status"]
        )
        for status, count in sorted(counts.items()):
            gauge.add_metric([status], count)
        yield gauge


class AuditCheckpointCollector(Collector):
    """The latest signed audit checkpoint: its sequence number and age (neither before the
    first), and the entries waiting for the next. Alert when the age grows while entries wait
    (`/readyz` fails past the signer's limit: `hub.ops.checkpoint`)."""

    def __init__(self, sessions: sessionmaker[Session], stale_limit: timedelta) -> None:
        self.sessions = sessions
        self.stale_limit = stale_limit

    def collect(self) -> Iterator[Metric]:
        try:
            with self.sessions() as db:
                state = checkpoint.read(db=db)
        except SQLAlchemyError as exc:
            log.warning("audit metrics unavailable", extra={"error_type": type(exc).__name__})
            return
        seq = GaugeMetricFamily(
            "hub_audit_checkpoint_seq", "Sequence number of the latest signed audit checkpoint."
        )
        age = GaugeMetricFamily(
            "hub_audit_checkpoint_age_seconds", "Seconds since the latest audit checkpoint."
        )
        found = state.age(utcnow())
        if state.seq is not None and found is not None:
            seq.add_metric([], state.seq)
            age.add_metric([], found.total_seconds())
        yield seq
        yield age
        yield GaugeMetricFamily(
            "hub_audit_unsigned_entries",
            "Audit entries after the latest checkpoint, waiting for the next.",
            value=state.unsigned,
        )
        yield GaugeMetricFamily(
            "hub_audit_checkpoint_stale",
            "1 when an entry has waited for a checkpoint past the signer's limit: the signer "
            "refuses until an operator checks the chain.",
            value=int(state.stale(now=utcnow(), limit=self.stale_limit)),
        )


class Metrics:
    def __init__(self, sessions: sessionmaker[Session], *, audit_stale_after: timedelta) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "hub_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hub_http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        # read from the database at each scrape: the same whichever process answers
        self.collectors: list[Collector] = [
            OutboxCollector(sessions),
            AuditCheckpointCollector(sessions, audit_stale_after),
        ]
        for collector in self.collectors:
            self.registry.register(collector)

    def observe(self, *, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in KNOWN_METHODS else "OTHER"
        labels = (method, route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)

    def render(self) -> bytes:
        folder = os.environ.get(MULTIPROCESS_ENV)
        if not folder:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=folder)
        for collector in self.collectors:
            registry.register(collector)
        return generate_latest(registry)
