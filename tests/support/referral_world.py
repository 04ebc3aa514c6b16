"""A world for referral and disclosure tests, driven through the API: an IOM sub-office refers
cases to a partner NGO (an agreement covers it), a third organisation looks on, and a consent
officer of the sub-office decides reviews."""

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

# a beneficiary's name and a note that must never show outside the encrypted store and the
# recipient's payload
CANARY_NAME = "Zanibetta Orloque"
CANARY_NOTE = "Canary note: Quillandra Voss fears her uncle in Arlit"
AGREED = ["identity", "contact", "psychosocial", "health", "household", "legal_status"]
PURPOSE = "psychosocial_support"


@dataclass
class World:
    runtime: Runtime
    api: TestClient
    sender: Partner  # IOM Agadez sub-office, owns the cases
    recipient: Partner  # partner NGO
    outsider: Partner  # another NGO, party to nothing

    @cached_property
    def officer(self) -> Partner:
        """A client of the sender acting for one of its consent officers (made when a test
        needs one): reviews are decided by people."""
        return officer_for(self.runtime, self.api, self.sender.organization_id)

    def case(self, data: dict[str, Any] | None = None, birth_date: str = "1990-04-02") -> str:
        body = {
            "external_ref": f"MRRM-NE-{uuid.uuid4().hex[:8]}",
            "subject": {"birth_date": birth_date, "sex": "female"},
            "data": data
            if data is not None
            else {
                "identity": {"given_name": CANARY_NAME, "family_name": "Moussa"},
                "contact": {"phone": "+227 90 00 00 00"},
                "psychosocial": {"notes": "sleep problems"},
                "health": {"conditions": ["asthma"]},
                "legal_status": {"status": "irregular"},
            },
        }
        response = self.api.post("/v1/cases", json=body, headers=self.sender.headers)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def consent(self, case_id: str, **overrides: Any) -> dict[str, Any]:
        body = consent_body(**{"purposes": [PURPOSE], **overrides})
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

    def body(self, case_id: str, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "case_id": case_id,
            "to_organization_id": self.recipient.organization_id,
            "service_type": "psychosocial_support",
            "purpose": PURPOSE,
            "urgency": "normal",
            "categories": ["identity", "contact", "psychosocial", "legal_status"],
            "note": CANARY_NOTE,
        }
        body.update(overrides)
        return body

    def refer(
        self, case_id: str, *, headers: dict[str, str] | None = None, **overrides: Any
    ) -> httpx.Response:
        return self.api.post(
            "/v1/referrals",
            json=self.body(case_id, **overrides),
            headers=headers or self.sender.headers,
        )

    def sent(self, **overrides: Any) -> str:
        """A referral sent to the recipient (the gate permits)."""
        case_id = self.case()
        self.consent(case_id)
        response = self.refer(case_id, **overrides)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def act(
        self, referral_id: str, action: str, who: Partner, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        return self.api.post(
            f"/v1/referrals/{referral_id}/{action}", json=body or {}, headers=who.headers
        )

    def get(self, referral_id: str, who: Partner, **params: Any) -> httpx.Response:
        return self.api.get(f"/v1/referrals/{referral_id}", params=params, headers=who.headers)


def make_world(runtime: Runtime, api: TestClient) -> World:
    sender = partner(runtime, api, "IOM Agadez", kind="iom_office")
    recipient = partner(runtime, api, "Partner NGO", services=["psychosocial_support"])
    outsider = partner(runtime, api, "Another NGO")
    with runtime.sessions.begin() as db:
        factories.agreement(
            db,
            runtime.policy,
            sender.organization_id,
            recipient.organization_id,
            [PURPOSE],
            AGREED,
        )
    return World(runtime, api, sender, recipient, outsider)
