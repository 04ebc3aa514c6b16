"""The hub's own retention: a closed case is kept for the policy's period, then purged.

One rule (`retention.closed_cases` in the policy file): a case closed longer than the period of
its closure reason (`default` for a reason not listed), counted from the last time it was closed,
and closed still (a reopened case is open; closing it again starts the count again), is due.
`run` purges what is due through the erasure a person asks for (`hub.erasure.service.erase`,
as `DELETE /v1/cases/{id}` does, with `why` `retention`): the case's data key is shredded and
its ciphertexts deleted, its requests still under review cancelled, and every organisation its
data went to told (`case.erased`). The audit gets `case.purged` (reason `retention`) beside the
erasure's own entries: ids, codes and times only.

`run` with `dry_run` only lists what would go (ids, the closure reason, when it was closed and
when it fell due) and changes nothing. Each purge is a transaction of its own, so one case
that fails leaves the others purged; a case reopened or erased meanwhile is skipped (it is
locked and read again before it goes).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.audit.service import record as audit
from hub.cases.models import Case
from hub.cases.service import CLOSED
from hub.clock import utcnow
from hub.crypto.keyring import KeyEncryptionKeys
from hub.db.session import transaction
from hub.erasure import service as erasure
from hub.lifecycle import reasons
from hub.lifecycle.models import LifecycleEvent
from hub.policy.loader import Policy
from hub.services import Services

log = logging.getLogger("hub.retention")

ACTION = "case.purged"
REASON = "retention"
ACTOR = reasons.SYSTEM_ACTOR


@dataclass(frozen=True)
class Due:
    """A closed case past its retention: ids, a code and times, nothing of its data."""

    case_id: str
    owner_organization_id: str
    closure_reason: str | None
    closed_at: datetime
    due_at: datetime

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["closed_at"] = self.closed_at.isoformat()
        found["due_at"] = self.due_at.isoformat()
        return found


@dataclass
class Report:
    dry_run: bool
    at: datetime
    due: list[Due] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)
    # due when listed, but reopened or erased before its turn came
    skipped: list[str] = field(default_factory=list)
    # its purge failed (rolled back, logged by id): the next run tries again
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "at": self.at.isoformat(),
            "due": [d.as_dict() for d in self.due],
            "purged": self.purged,
            "skipped": self.skipped,
            "failed": self.failed,
        }


def _closed_at(db: Session, case_ids: list[str] | None = None) -> Any:
    """When each case was last closed (its history's last move to `closed`)."""
    query = (
        select(
            LifecycleEvent.object_id.label("case_id"),
            func.max(LifecycleEvent.at).label("closed_at"),
        )
        .where(LifecycleEvent.object_type == "case", LifecycleEvent.to_status == CLOSED)
        .group_by(LifecycleEvent.object_id)
    )
    if case_ids is not None:
        query = query.where(LifecycleEvent.object_id.in_(case_ids))
    return query.subquery()


def _due_at(policy: Policy, closure_reason: str | None, closed_at: datetime) -> datetime:
    return policy.retention.closed_cases.period_for(closure_reason).after(closed_at)


def due(*, db: Session, policy: Policy, now: datetime) -> list[Due]:
    """The closed, unerased cases whose retention has run out at `now`, longest closed first."""
    closed = _closed_at(db)
    rows = db.execute(
        select(Case.id, Case.owner_organization_id, Case.status_reason, closed.c.closed_at)
        .join(closed, closed.c.case_id == Case.id)
        .where(
            Case.status == CLOSED,
            Case.erased_at.is_(None),
            closed.c.closed_at <= policy.retention.closed_cases.closed_before(now),
        )
        .order_by(closed.c.closed_at, Case.id)
    ).all()
    found = []
    for case_id, owner, reason, closed_at in rows:
        due_at = _due_at(policy, reason, closed_at)
        if due_at <= now:
            found.append(Due(case_id, owner, reason, closed_at, due_at))
    return found


def purge(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    policy: Policy,
    case_id: str,
    now: datetime,
    actor: str = ACTOR,
) -> bool:
    """Purge the case if it is due still (locked, then read again): False when it is not (it
    was reopened, closed again later, or erased meanwhile)."""
    case = db.scalars(select(Case).where(Case.id == case_id).with_for_update()).one_or_none()
    if case is None or case.status != CLOSED or case.erased_at is not None:
        return False
    closed = _closed_at(db, [case_id])
    closed_at = db.scalar(select(closed.c.closed_at))
    if closed_at is None or _due_at(policy, case.status_reason, closed_at) > now:
        return False
    period = policy.retention.closed_cases.period_for(case.status_reason)
    erased = erasure.erase(db=db, keyring=keyring, actor=actor, case=case, why=erasure.RETENTION)
    audit(
        db,
        actor=actor,
        action=ACTION,
        object_type="case",
        object_id=case.id,
        details={
            "reason": REASON,
            "closure_reason": case.status_reason,
            "closed_at": closed_at.isoformat(),
            "retention": {"months": period.months, "days": period.days},
            "organizations_told": erased.organizations_told,
            "referrals_cancelled": erased.referrals_cancelled,
            "transfers_cancelled": erased.transfers_cancelled,
        },
    )
    return True


def run(
    runtime: Services,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    actor: str = ACTOR,
) -> Report:
    """List what is due and, unless `dry_run`, purge it: one transaction per case, recorded
    against `actor` (the scheduler's is the hub's own)."""
    now = now or utcnow()
    with transaction(runtime.sessions) as db:
        found = due(db=db, policy=runtime.policy, now=now)
    report = Report(dry_run=dry_run, at=now, due=found)
    if dry_run:
        return report
    for item in found:
        try:
            with transaction(runtime.sessions) as db:
                done = purge(
                    db=db,
                    keyring=runtime.keyring,
                    policy=runtime.policy,
                    case_id=item.case_id,
                    now=now,
                    actor=actor,
                )
        except Exception as exc:  # one case's failure must not keep the others
            # the case's id and the error's type only: never its message (it may quote data)
            log.error(
                "retention purge failed",
                extra={"case_id": item.case_id, "error": type(exc).__name__},
            )
            report.failed.append(item.case_id)
            continue
        (report.purged if done else report.skipped).append(item.case_id)
    return report
