"""A world for case-transfer tests, driven through the API.

IOM Agadez (a sub-office of IOM Niamey, the country office) owns the cases and transfers them:
to the country office (same hierarchy: no consent needed), to a partner NGO or a ministry
(external: the consent gate decides; agreements cover `case_transfer`). Another NGO looks on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import httpx
from fastapi.testclient import TestClient

from hub.runtime import Runtime
from tests.support import factories
from tests.support.api import Partner, officer_for, partner
from tests.support.consents import consent_body
from tests.support.outbox_drain import drain

# personal data that must never show outside the encrypted store and the parties' reads
CANARY_NAME = "Zanibetta Orloque"
CANARY_PLAN = "Canary plan: Quillandra Voss hides from her uncle in Arlit"
CANARY_CONTACT = "Canary contact: Ottoline Brask +227 99 12 34 56"
PURPOSE = "case_transfer"
AGREED = ["identity", "contact", "psychosocial", "health", "legal_status", "household"]
CONSENTED = ["identity", "contact", "psychosocial"]


def case_data() -> dict[str, Any]:
    return {
        "identity": {"given_name": CANARY_NAME, "family_name": "Moussa"},
        "contact": {"phone": "+227 90 00 00 00"},
        "psychosocial": {"notes": "sleep problems"},
        "health": {"conditions": ["asthma"]},
        "legal_status": {"status": "irregular"},
    }


def plan(**overrides: Any) -> dict[str, Any]:
    body = {
        "reason": CANARY_PLAN,
        "open_needs": ["psychosocial follow-up", "shelter"],
        "risks": "exposure to traffickers on the road north",
        "handover_contact": CANARY_CONTACT,
    }
    body.update(overrides)
    return body


@dataclass
class World:
    runtime: Runtime
    api: TestClient
    country: Partner  # IOM Niamey, the country office
    sender: Partner  # IOM Agadez, its sub-office: owns the cases
    ngo: Partner  # a partner NGO, outside the hierarchy
    outsider: Partner  # another NGO, party to nothing

    @cached_property
    def officer(self) -> Partner:
        """A client of the sender acting for one of its consent officers (made when a test
        needs one): reviews are decided by people."""
        return officer_for(self.runtime, self.api, self.sender.organization_id)

    def case(self, external_ref: str | None = None, birth_date: str = "1990-04-02") -> str:
        body = {
            "external_ref": external_ref or f"MRRM-NE-{uuid.uuid4().hex[:8]}",
            "subject": {"birth_date": birth_date, "sex": "female"},
            "data": case_data(),
        }
        response = self.api.post("/v1/cases", json=body, headers=self.sender.headers)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def consent(self, case_id: str, **overrides: Any) -> dict[str, Any]:
        body = consent_body(**{"purposes": [PURPOSE], "categories": CONSENTED, **overrides})
        response = self.api.post(
            f"/v1/cases/{case_id}/consents", json=body, headers=self.sender.headers
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def withdraw(self, consent_id: str) -> None:
        response = self.api.post(
            f"/v1/consents/{consent_id}/withdraw",
            json={"method": "verbal"},
            headers=self.sender.headers,
        )
        assert response.status_code == 200, response.text

    def propose(
        self,
        case_id: str,
        to: Partner | str | None = None,
        *,
        who: Partner | None = None,
        headers: dict[str, str] | None = None,
        **plan_overrides: Any,
    ) -> httpx.Response:
        target = to if isinstance(to, str) else (to or self.ngo).organization_id
        body = {"case_id": case_id, "to_organization_id": target, "plan": plan(**plan_overrides)}
        return self.api.post(
            "/v1/transfers", json=body, headers=(headers or {}) | (who or self.sender).headers
        )

    def sent(self, to: Partner | None = None) -> tuple[str, str]:
        """A transfer sent to `to` (the NGO by default, with a consent the gate permits);
        returns (transfer id, case id)."""
        case_id = self.case()
        if to is None or to is self.ngo:
            self.consent(case_id)
        response = self.propose(case_id, to)
        assert response.status_code == 201, response.text
        return str(response.json()["id"]), case_id

    def act(
        self, transfer_id: str, action: str, who: Partner, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        return self.api.post(
            f"/v1/transfers/{transfer_id}/{action}", json=body or {}, headers=who.headers
        )

    def get(self, transfer_id: str, who: Partner) -> httpx.Response:
        return self.api.get(f"/v1/transfers/{transfer_id}", headers=who.headers)

    def decide(self, review_id: str, verdict: str) -> None:
        """A consent officer approves or denies; the outbox then runs the transfer flow."""
        response = self.api.post(
            f"/v1/reviews/{review_id}/{verdict}",
            json={"justification": "checked with the case worker"},
            headers=self.officer.headers,
        )
        assert response.status_code == 200, response.text
        drain(self.runtime)

    def events(self, transfer_id: str, who: Partner) -> list[dict[str, Any]]:
        response = self.api.get(f"/v1/transfers/{transfer_id}/events", headers=who.headers)
        assert response.status_code == 200, response.text
        return list(response.json()["items"])


def make_world(runtime: Runtime, api: TestClient) -> World:
    country = partner(runtime, api, "IOM Niamey", kind="iom_office")
    sender = partner(
        runtime, api, "IOM Agadez", kind="iom_office", parent_id=country.organization_id
    )
    ngo = partner(runtime, api, "Partner NGO")
    outsider = partner(runtime, api, "Another NGO")
    with runtime.sessions.begin() as db:
        factories.agreement(
            db, runtime.policy, sender.organization_id, ngo.organization_id, [PURPOSE], AGREED
        )
    return World(runtime, api, country, sender, ngo, outsider)


def ministry(world: World) -> Partner:
    """A government body with an agreement from the sender (a transfer to it is reviewed)."""
    body = partner(world.runtime, world.api, "Ministry of Social Affairs", kind="government")
    with world.runtime.sessions.begin() as db:
        factories.agreement(
            db,
            world.runtime.policy,
            world.sender.organization_id,
            body.organization_id,
            [PURPOSE],
            AGREED,
        )
    return body
