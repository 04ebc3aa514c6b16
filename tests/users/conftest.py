"""People for the users' tests: made through the real services, in their own transactions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.clock import clock
from hub.runtime import Runtime
from hub.users import service
from tests.support.factories import org

PASSWORD = "correct horse battery staple"


@pytest.fixture
def organization_id(runtime: Runtime) -> str:
    with runtime.sessions.begin() as db:
        return org(db, runtime.policy, "IOM Niamey", kind="iom_office").id


@pytest.fixture
def make_user(runtime: Runtime, organization_id: str) -> Callable[..., str]:
    """A user of the organisation; returns its id."""

    def make(role: str = "case_worker", email: str | None = None) -> str:
        with runtime.sessions.begin() as db:
            user = service.create(
                db=db,
                actor="test",
                organization_id=organization_id,
                email=email or f"{role}@example.org",
                password=PASSWORD,
                role=role,
            )
            return user.id

    return make


def move(minutes: float) -> None:
    clock.advance(timedelta(minutes=minutes))


def audit_rows(runtime: Runtime, action: str | None = None) -> list[dict[str, Any]]:
    with runtime.sessions() as db:
        query = select(AuditEntry).order_by(AuditEntry.seq)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        return [
            {
                "actor": e.actor,
                "action": e.action,
                "object_id": e.object_id,
                "details": e.details,
            }
            for e in db.scalars(query)
        ]
