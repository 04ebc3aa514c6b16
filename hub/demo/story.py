"""The hub's story, told through its own API on the demo organisations.

An IOM sub-office registers a migrant (enregistrement, with informed consent), refers her to
an NGO for psychosocial support (orientation); the NGO acknowledges, accepts, starts and
completes the service; then the case is transferred to the IOM country office (transfert de
cas, with a transfer plan). Each step is one API call, made in process with the demo clients'
real tokens, so the story shows exactly what a partner system would do and see.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal

from hub.app import create_app
from hub.clock import utcnow
from hub.demo.seed import DemoCredentials
from hub.runtime import Runtime

Say = Callable[[str], None]
# never resolved: ASGITransport hands every request straight to the application
BASE_URL = "http://hub.demo"


class StoryError(RuntimeError):
    """A step did not answer as the story expects: the hub is not working as designed."""


@dataclass
class _Api:
    """The application called in process, one request at a time, from plain code.

    httpx's ASGI transport is asynchronous; a blocking portal runs it on an event loop of its
    own (Starlette's TestClient does the same, but importing it warns of its deprecation).
    """

    portal: BlockingPortal
    client: httpx.AsyncClient

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.portal.call(partial(self.client.request, method, path, **kwargs))


@contextmanager
def _in_process(runtime: Runtime) -> Iterator[_Api]:
    transport = httpx.ASGITransport(app=create_app(runtime))
    with start_blocking_portal() as portal:
        client = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
        try:
            yield _Api(portal, client)
        finally:
            portal.call(client.aclose)


@dataclass
class _Caller:
    api: _Api
    name: str
    token: str

    def call(self, method: str, path: str, expect: int, body: Any = None) -> dict[str, Any]:
        response = self.api.request(
            method, path, json=body, headers={"Authorization": f"Bearer {self.token}"}
        )
        if response.status_code != expect:
            raise StoryError(f"{self.name}: {method} {path} answered {response.status_code}")
        return dict(response.json()) if response.content else {}


def _login(api: _Api, name: str, client_id: str, secret: str) -> _Caller:
    response = api.request(
        "POST",
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    )
    if response.status_code != 200:
        raise StoryError(f"{name}: no access token ({response.status_code})")
    return _Caller(api, name, response.json()["access_token"])


def tell(runtime: Runtime, creds: DemoCredentials, say: Say) -> dict[str, str]:
    """Run the story; returns the ids it made (case, consent, referral, transfer)."""
    with _in_process(runtime) as api:
        sub = _login(api, creds.names["iom_sub"], *creds.clients["iom_sub"])
        ngo = _login(api, creds.names["ngo"], *creds.clients["ngo"])
        country = _login(api, creds.names["iom_country"], *creds.clients["iom_country"])
        ngo_id, country_id = creds.organizations["ngo"], creds.organizations["iom_country"]

        case = sub.call(
            "POST",
            "/v1/cases",
            201,
            {
                "external_ref": f"MRRM-NE-DEMO-{uuid.uuid4().hex[:6].upper()}",
                "subject": {"birth_date": "1998-03-14", "sex": "female"},
                "data": {
                    "identity": {"given_name": "Aïcha", "family_name": "Moussa (demo)"},
                    "contact": {"phone": "+227 90 00 00 00"},
                    "psychosocial": {"notes": "sleep problems since the journey"},
                    "health": {"notes": "not for the NGO: her consent does not cover it"},
                },
            },
        )
        say(
            f"1. {sub.name} registers a migrant: case {case['id']} "
            f"({', '.join(case['categories'])}), each category encrypted"
        )

        consent = sub.call(
            "POST",
            f"/v1/cases/{case['id']}/consents",
            201,
            {
                "given_by": "subject",
                "method": "written",
                "language": "fr",
                "purposes": ["psychosocial_support"],
                "recipients": {"organizations": [ngo_id], "kinds": []},
                "categories": ["identity", "contact", "psychosocial"],
                "exclusions": {"organizations": [], "kinds": ["government"]},
                "valid_from": (utcnow() - timedelta(minutes=1)).isoformat(),
                "valid_until": (utcnow() + timedelta(days=365)).isoformat(),
            },
        )
        say(
            f"2. She gives written informed consent ({consent['id']}): psychosocial support by "
            f"{ngo.name}; identity, contact, psychosocial; never to a government body"
        )

        found = sub.call(
            "GET",
            "/v1/services?type=psychosocial_support&area=NE-AG-AGZ&age=28&sex=female&language=ha",
            200,
        )["items"]
        pss = next(s for s in found if s["organization_id"] == ngo_id)
        say(
            f"3. The sub-office looks up the service directory: {len(found)} psychosocial "
            f'service(s) in Agadez for a woman of 28 speaking Hausa; it picks "{pss["name"]}" '
            f"({pss['capacity']}, verified {pss['last_verified_on']})"
        )

        referral = sub.call(
            "POST",
            "/v1/referrals",
            201,
            {
                "case_id": case["id"],
                "to_organization_id": ngo_id,
                "service_id": pss["id"],
                "service_type": "psychosocial_support",
                "purpose": "psychosocial_support",
                "urgency": "high",
                "categories": ["identity", "contact", "psychosocial", "health"],
                "note": "Prefers a female counsellor.",
            },
        )
        say(
            f"3. The sub-office refers her to {ngo.name}: referral {referral['id']} is "
            f"{referral['status']}; sent {referral['categories']}, withheld "
            f"{referral['withheld_categories']} (not consented); acknowledge by "
            f"{referral['acknowledge_by']}"
        )

        path = f"/v1/referrals/{referral['id']}"
        read = ngo.call("GET", path, 200)
        say(
            f"4. {ngo.name} reads it from its inbox: the consent gate is asked again, the "
            f"payload holds {sorted(read.get('payload') or {})}, and a disclosure is recorded"
        )
        for action, body in (
            ("acknowledge", {}),
            ("accept", {}),
            ("start", {}),
            ("complete", {"outcome": "Six counselling sessions held."}),
        ):
            moved = ngo.call("POST", f"{path}/{action}", 200, body)
            say(f"5. {ngo.name}: {action} → {moved['status']}")

        disclosures = sub.call("GET", f"/v1/cases/{case['id']}/disclosures", 200)["items"]
        for item in disclosures:
            say(
                f"6. Accounting of disclosures: {item['at']} to {item['recipient_organization_id']}"
                f" ({item['channel']}): {item['categories']} under {item['consent_ids']}"
            )

        transfer = sub.call(
            "POST",
            "/v1/transfers",
            201,
            {
                "case_id": case["id"],
                "to_organization_id": country_id,
                "plan": {
                    "reason": "She moves to Niamey; the country office continues the case.",
                    "open_needs": ["follow-up of psychosocial support", "return counselling"],
                    "risks": "None known.",
                    "handover_contact": "Case worker, IOM Agadez sub-office",
                },
            },
        )
        say(
            f"7. The sub-office transfers the case to {country.name}: transfer "
            f"{transfer['id']} is {transfer['status']} (same IOM hierarchy: one data "
            f"controller, no new consent needed; audited)"
        )
        accepted = country.call("POST", f"/v1/transfers/{transfer['id']}/accept", 200)
        sub.call("GET", f"/v1/cases/{case['id']}", 404)
        country.call("GET", f"/v1/cases/{case['id']}", 200)
        say(
            f"8. {country.name} accepts: {accepted['status']}; the case, its consents and "
            f"history now belong to it, and the sub-office gets 404 on it"
        )
    return {
        "case_id": case["id"],
        "consent_id": consent["id"],
        "referral_id": referral["id"],
        "transfer_id": transfer["id"],
    }
