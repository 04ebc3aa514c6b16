"""A closed case at hand for the retention tests, and its closing time as the hub recorded it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from hub.audit.models import AuditEntry
from hub.cases.models import Case
from hub.closure import service as closure
from hub.lifecycle.models import LifecycleEvent
from hub.runtime import Runtime
from tests.support.referral_world import World


def close(world: World, case_id: str, reason: str, **requests: str) -> datetime:
    """Close the case through the API (`requests`: what becomes of each open one); returns when
    the hub recorded it closed."""
    body = {"reason": reason, "requests": requests} if requests else {"reason": reason}
    closed = world.api.post(f"/v1/cases/{case_id}/close", json=body, headers=world.sender.headers)
    assert closed.status_code == 200, closed.text
    return closed_at(world.runtime, case_id)


def close_now(runtime: Runtime, case_id: str, reason: str) -> datetime:
    """Close the case by the closure service, at the hub's clock as it is (a moved clock
    outlives the partners' access tokens)."""
    with runtime.sessions.begin() as db:
        case = db.scalars(select(Case).where(Case.id == case_id).with_for_update()).one()
        closure.close(
            db=db,
            keyring=runtime.keyring,
            policy=runtime.policy,
            case=case,
            actor="user:caseworker",
            reason=reason,
            note=None,
            requests={},
        )
    return closed_at(runtime, case_id)


def closed_at(runtime: Runtime, case_id: str) -> datetime:
    with runtime.sessions() as db:
        at = db.scalar(
            select(func.max(LifecycleEvent.at)).where(
                LifecycleEvent.object_type == "case",
                LifecycleEvent.object_id == case_id,
                LifecycleEvent.to_status == "closed",
            )
        )
    assert at is not None
    return at


def audit_of(runtime: Runtime, case_id: str) -> list[AuditEntry]:
    with runtime.sessions() as db:
        rows = db.scalars(
            select(AuditEntry).where(AuditEntry.object_id == case_id).order_by(AuditEntry.seq)
        ).all()
        db.expunge_all()
        return list(rows)
