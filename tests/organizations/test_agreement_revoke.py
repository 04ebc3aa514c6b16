"""Revoking a data sharing agreement (`POST /v1/agreements/{id}/revoke`): administrators only,
audited, and the consent gate honours it from the next decision on."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.runtime import Runtime
from tests.support.api import Partner, operator
from tests.support.referral_world import World


def _agreement_id(world: World, admin: Partner) -> str:
    listed = world.api.get("/v1/agreements", headers=admin.headers).json()["items"]
    [agreement] = [a for a in listed if a["to_organization_id"] == world.recipient.organization_id]
    return str(agreement["id"])


def test_a_revoked_agreement_stops_the_next_referral_at_the_gate(
    world: World, runtime: Runtime, api: TestClient
) -> None:
    admin = operator(runtime, api)
    agreement_id = _agreement_id(world, admin)
    case_id = world.case()
    world.consent(case_id)
    assert world.refer(case_id).status_code == 201

    path = f"/v1/agreements/{agreement_id}/revoke"
    # partners may not revoke, not even a party to it
    refused = api.post(path, json={}, headers=world.sender.headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope")
    revoked = api.post(
        path, json={"reason": "The partner closed its office"}, headers=admin.headers
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None

    # at once: the very next referral is refused, for want of an agreement
    after = world.refer(case_id)
    assert after.status_code == 422, after.text
    assert after.json()["code"] == "consent_denied"
    assert "no_agreement" in after.text

    again = api.post(path, headers=admin.headers)
    assert (again.status_code, again.json()["code"]) == (409, "agreement_revoked")
    assert again.headers["content-type"].startswith("application/problem+json")
    missing = api.post("/v1/agreements/nope/revoke", headers=admin.headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    with runtime.sessions() as db:
        [entry] = db.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "agreement.revoked", AuditEntry.object_id == agreement_id
            )
        )
        assert entry.actor == admin.actor
