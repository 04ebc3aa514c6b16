"""The latest audit checkpoint in operations: its sequence number and age in /metrics, and in
/readyz as a detail; once audit entries have waited for a checkpoint longer than the signer
accepts (three checkpoint intervals) /metrics says it is stale, and the API stays ready."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from hub.audit.models import AuditEntry
from hub.audit.service import record
from hub.audit.tasks import make_checkpoint, stale_after
from hub.clock import clock
from hub.runtime import Runtime
from tests.support.probe import probe_client


def _gauges(text: str) -> dict[str, float]:
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("hub_audit_")
    }


def _entry(runtime: Runtime) -> None:
    with runtime.sessions.begin() as db:
        record(db, actor="test", action="test.touched", object_type="test", object_id="t1")


def _entries(runtime: Runtime) -> int:
    with runtime.sessions() as db:
        return db.scalar(select(func.count()).select_from(AuditEntry)) or 0


def test_metrics_show_the_latest_checkpoint_its_age_and_what_waits(runtime: Runtime) -> None:
    client = probe_client(runtime)
    _entry(runtime)
    before = _gauges(client.get("/metrics").text)
    # before the first checkpoint: no sequence number nor age, every entry waits
    assert "hub_audit_checkpoint_seq" not in before
    assert "hub_audit_checkpoint_age_seconds" not in before
    assert before["hub_audit_unsigned_entries"] == _entries(runtime)

    cp = make_checkpoint(runtime)
    assert cp is not None
    clock.advance(timedelta(seconds=120))
    _entry(runtime)
    _entry(runtime)
    after = _gauges(client.get("/metrics").text)
    assert after["hub_audit_checkpoint_seq"] == cp.seq
    assert 120 <= after["hub_audit_checkpoint_age_seconds"] < 180
    assert after["hub_audit_unsigned_entries"] == 2


def test_readyz_reports_the_checkpoint_and_metrics_say_when_it_is_stale(runtime: Runtime) -> None:
    client = probe_client(runtime)
    limit = stale_after(runtime.settings)
    _entry(runtime)
    fresh = client.get("/readyz")
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["audit_checkpoint"]["status"] == "none"

    cp = make_checkpoint(runtime)
    assert cp is not None
    signed = client.get("/readyz").json()["audit_checkpoint"]
    assert (signed["status"], signed["seq"], signed["unsigned_entries"]) == ("ok", cp.seq, 0)
    assert signed["stale_after_seconds"] == int(limit.total_seconds())

    # an idle hub signs nothing new: an old checkpoint with nothing after it is still ready
    clock.advance(limit * 2)
    idle = client.get("/readyz")
    assert idle.status_code == 200, idle.text
    assert idle.json()["audit_checkpoint"]["age_seconds"] >= (limit * 2).total_seconds()

    # an entry left unsigned up to the limit is ok; past it, stale (the signer now refuses):
    # the metric says so for an alert, and the API stays ready
    _entry(runtime)
    clock.advance(limit - timedelta(seconds=5))
    assert client.get("/readyz").json()["audit_checkpoint"]["status"] == "ok"
    assert _gauges(client.get("/metrics").text)["hub_audit_checkpoint_stale"] == 0
    clock.advance(timedelta(seconds=10))
    stale = client.get("/readyz")
    assert stale.status_code == 200, stale.text
    body = stale.json()
    assert body["audit_checkpoint"]["status"] == "stale"
    assert body["audit_checkpoint"]["seq"] == cp.seq
    assert body["audit_checkpoint"]["unsigned_entries"] == 1
    assert _gauges(client.get("/metrics").text)["hub_audit_checkpoint_stale"] == 1
