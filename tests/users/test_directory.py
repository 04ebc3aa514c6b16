"""Naming actors for the people who read them."""

from __future__ import annotations

from hub.runtime import Runtime
from hub.users.directory import describe
from tests.support import factories
from tests.support.people import person


def test_a_person_is_named_by_e_mail_and_organisation_and_a_client_by_its_id(
    runtime: Runtime,
) -> None:
    with runtime.sessions.begin() as db:
        office = factories.org(db, runtime.policy, "IOM Zinder", kind="iom_office")
    worker = person(runtime, office.id, "case_worker")
    with runtime.sessions() as db:
        alone = describe(db=db, actor=f"user:{worker.id}@{office.id}")
        via = describe(db=db, actor=f"user:{worker.id}@{office.id} via client:abc123")
        client = describe(db=db, actor="client:abc123")
        hub = describe(db=db, actor="system:hub")
    assert (alone.email, alone.organization, alone.client) == (worker.email, "IOM Zinder", None)
    assert (via.email, via.client) == (worker.email, "abc123")
    assert (client.email, client.client) == (None, "abc123")
    assert (hub.email, hub.client) == (None, None)
