"""How to call each /v1 route successfully, for the authorization-matrix test.

Every /v1 route needs an entry here: the matrix test fails for a route without one, so a new
route cannot ship untested for tenancy. `build` makes what the call needs, owned by
`ctx.owner`, and returns the call; `tenant=True` means another organisation must get 404.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.audit.tasks import make_checkpoint
from hub.auth import scopes as scope_names
from hub.clock import utcnow
from hub.db.base import new_id
from hub.delivery import service as deliveries
from hub.delivery.models import Delivery
from hub.legal_bases import notices
from hub.runtime import Runtime
from tests.support import referral_scenarios as referrals
from tests.support import transfer_scenarios as transfers
from tests.support.api import Partner, client_for
from tests.support.reviews import consent_officer, held_request

CASE = {
    "external_ref": "MATRIX-1",
    "subject": {"birth_date": "1994-05-02", "sex": "male"},
    "data": {"identity": {"given_name": "Canary", "family_name": "Matrix"}},
}
CONSENT = {
    "given_by": "subject",
    "method": "written",
    "language": "fr",
    "purposes": ["psychosocial_support"],
    "recipients": {"organizations": [], "kinds": ["ngo"]},
    "categories": ["identity"],
    "valid_from": "2026-01-01T00:00:00Z",
    "valid_until": "2099-01-01T00:00:00Z",
}
PDF = b"%PDF-1.7\n% a scanned consent form\n%%EOF\n"


@dataclass
class Ctx:
    runtime: Runtime
    api: TestClient
    owner: Partner
    other: Partner
    admin: Partner
    counter: list[int] = field(default_factory=lambda: [0])
    # the owner's clients each holding one scope only, by that scope (made once per test)
    single_scope_clients: dict[str, Partner] = field(default_factory=dict)

    def lacking(self, scopes: list[str]) -> Partner:
        """A client of the owner's organisation holding none of `scopes`: one holding only the
        first partner scope (in name order) not among them. The same client serves every route
        it lacks the scope of, instead of a client and a token made per route."""
        scope = next(
            s
            for s in sorted(scope_names.KNOWN_SCOPES)
            if s not in scopes and ":" in s and s != "admin"
        )
        client = self.single_scope_clients.get(scope)
        if client is None:
            client = client_for(self.runtime, self.api, self.owner.organization_id, scope)
            self.single_scope_clients[scope] = client
        return client

    def unique(self, prefix: str) -> str:
        self.counter[0] += 1
        return f"{prefix}-{self.counter[0]}"

    def case(self) -> str:
        body = dict(CASE, external_ref=self.unique("MATRIX"))
        response = self.api.post("/v1/cases", json=body, headers=self.owner.headers)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def consent(self, evidence: bool = False) -> str:
        path = f"/v1/cases/{self.case()}/consents"
        response = self.api.post(path, json=CONSENT, headers=self.owner.headers)
        assert response.status_code == 201, response.text
        consent_id = str(response.json()["id"])
        if evidence:
            stored = self.api.put(
                f"/v1/consents/{consent_id}/evidence",
                content=PDF,
                headers=self.owner.headers | {"content-type": "application/pdf"},
            )
            assert stored.status_code == 201, stored.text
        return consent_id

    def client(self) -> str:
        response = self.api.post(
            f"/v1/organizations/{self.owner.organization_id}/clients",
            json={"scope": "cases:read"},
            headers=self.admin.headers,
        )
        assert response.status_code == 201, response.text
        return str(response.json()["client_id"])


@dataclass(frozen=True)
class Call:
    path_params: dict[str, str]
    body: Any = None
    status: int = 200
    content_type: str | None = None  # set for a raw body (bytes) instead of JSON
    # the right caller acts for this person of its organisation (`On-Behalf-Of`)
    on_behalf_of: str | None = None

    def send(self, headers: dict[str, str], *, caller: bool = False) -> dict[str, Any]:
        """Keyword arguments for `TestClient.request` carrying this call's body (and, for the
        right caller, the person it acts for)."""
        if caller and self.on_behalf_of is not None:
            headers = headers | {"On-Behalf-Of": self.on_behalf_of}
        if self.content_type is not None:
            return {"content": self.body, "headers": headers | {"content-type": self.content_type}}
        return {"json": self.body, "headers": headers}


def fill(path: str, params: dict[str, str]) -> str:
    """The path with its parameters put in ("x" for those not given)."""
    return re.sub(r"\{(\w+)\}", lambda m: params.get(m.group(1), "x"), path)


@dataclass(frozen=True)
class Scenario:
    build: Callable[[Ctx], Call]
    tenant: bool = False  # another organisation gets 404
    admin: bool = False  # the caller is the hub's administrator, not the owner


def _notice(ctx: Ctx) -> dict[str, str]:
    """The news the owner owes a person after a disclosure on a legal basis."""
    case_id = ctx.case()
    with ctx.runtime.sessions.begin() as db:
        notice = notices.owe(
            db,
            case_id=case_id,
            referral_id=new_id(),
            recipient_organization_id=ctx.other.organization_id,
            legal_basis="vital_interest",
            requested_by="user:matrix",
            disclosed_at=utcnow() - timedelta(hours=1),
            rule=ctx.runtime.policy.legal_bases["vital_interest"],
        )
        assert notice is not None
        return {"notice_id": notice.id}


def _org(ctx: Ctx) -> dict[str, str]:
    return {"organization_id": ctx.owner.organization_id}


def _agreement(ctx: Ctx) -> dict[str, str]:
    response = ctx.api.post(
        "/v1/agreements",
        json={
            "from_organization_id": ctx.owner.organization_id,
            "to_organization_id": ctx.other.organization_id,
            "purposes": ["shelter"],
            "categories": ["identity"],
        },
        headers=ctx.admin.headers,
    )
    assert response.status_code == 201, response.text
    return {"agreement_id": str(response.json()["id"])}


def _referral(ctx: Ctx, *moves: str, owner_receives: bool = True) -> dict[str, str]:
    """A referral between ctx.owner and a third organisation (so ctx.other is no party)."""
    referral_id = referrals.sent_referral(
        ctx.runtime,
        ctx.api,
        ctx.owner,
        ctx.unique("MATRIX-REFERRAL"),
        owner_receives=owner_receives,
        moves=moves,
    )
    return {"referral_id": referral_id}


def _received(ctx: Ctx) -> dict[str, str]:
    """A referral to ctx.owner whose data it has read (a disclosure it can confirm erased)."""
    params = _referral(ctx)
    read = ctx.api.get(f"/v1/referrals/{params['referral_id']}", headers=ctx.owner.headers)
    assert read.status_code == 200 and read.json()["payload"], read.text
    return params


def _transfer(ctx: Ctx, *, owner_receives: bool = False) -> dict[str, str]:
    """A transfer between ctx.owner and a new sub-office of it (ctx.other is no party)."""
    name = ctx.unique("MATRIX-TRANSFER")
    owner = ctx.owner.organization_id
    return {
        "transfer_id": transfers.sent_transfer(
            ctx.runtime, owner, name, owner_receives=owner_receives
        )
    }


def _dead_delivery(ctx: Ctx) -> dict[str, str]:
    """A referral of ctx.owner whose delivery the outbox gave up on (a dead letter)."""
    ids = _referral(ctx, owner_receives=False)
    with ctx.runtime.sessions.begin() as db:
        delivery = db.scalars(
            select(Delivery).where(Delivery.referral_id == ids["referral_id"])
        ).one()
        deliveries.on_dead(db, ctx.runtime, {"delivery_id": delivery.id}, "PermanentError: test")
        return ids | {"delivery_id": delivery.id}


def _dead_offer(ctx: Ctx) -> str:
    """A transfer offered by ctx.owner whose delivery the outbox gave up on."""
    transfer_id = _transfer(ctx)["transfer_id"]
    with ctx.runtime.sessions.begin() as db:
        delivery = db.scalars(select(Delivery).where(Delivery.transfer_id == transfer_id)).one()
        deliveries.on_dead(db, ctx.runtime, {"delivery_id": delivery.id}, "PermanentError: test")
    return transfer_id


def _closed_case(ctx: Ctx) -> str:
    """A case of ctx.owner, closed (goals met)."""
    case_id = ctx.case()
    closed = ctx.api.post(
        f"/v1/cases/{case_id}/close", json={"reason": "goals_met"}, headers=ctx.owner.headers
    )
    assert closed.status_code == 200, closed.text
    return case_id


def _new_referral(ctx: Ctx) -> Call:
    name = ctx.unique("MATRIX-REFER")
    recipient = referrals.new_org(ctx.runtime, f"{name} recipient")
    case_id = referrals.referrable_case(ctx.runtime, ctx.owner.organization_id, recipient, name)
    return Call({}, referrals.body(case_id, recipient), 201)


SERVICE = {
    "service_type": "shelter",
    "name": "Transit shelter",
    "areas": [{"path": "NE/NE-AG/NE-AG-ARL", "name": "Arlit"}],
    "languages": ["fr"],
}


def _service(ctx: Ctx) -> dict[str, str]:
    """A service of ctx.owner in the directory (added by the owner itself)."""
    body = dict(SERVICE, name=ctx.unique("Shelter"))
    response = ctx.api.post("/v1/services", json=body, headers=ctx.owner.headers)
    assert response.status_code == 201, response.text
    return {"service_id": str(response.json()["id"])}


def _audit_checkpoint(ctx: Ctx) -> Call:
    """Any partner reads the latest signed audit checkpoint (one is signed first)."""
    make_checkpoint(ctx.runtime)
    return Call({})


SCENARIOS: dict[tuple[str, str], Scenario] = {
    ("GET", "/v1/organizations"): Scenario(lambda ctx: Call({})),
    ("GET", "/v1/audit/checkpoint"): Scenario(_audit_checkpoint),
    # the directory is read by any partner; a partner edits its own services (another's: 404)
    ("GET", "/v1/services"): Scenario(lambda ctx: Call({})),
    ("GET", "/v1/services/{service_id}"): Scenario(lambda ctx: Call(_service(ctx))),
    ("POST", "/v1/services"): Scenario(lambda ctx: Call({}, SERVICE, 201)),
    ("PATCH", "/v1/services/{service_id}"): Scenario(
        lambda ctx: Call(_service(ctx), {"capacity": "full"}), tenant=True
    ),
    ("DELETE", "/v1/services/{service_id}"): Scenario(
        lambda ctx: Call(_service(ctx), None, 204), tenant=True
    ),
    ("GET", "/v1/organizations/{organization_id}"): Scenario(lambda ctx: Call(_org(ctx))),
    ("POST", "/v1/organizations"): Scenario(
        lambda ctx: Call({}, {"name": ctx.unique("Org"), "kind": "ngo"}, 201), admin=True
    ),
    ("GET", "/v1/agreements"): Scenario(lambda ctx: Call({})),
    ("POST", "/v1/agreements"): Scenario(
        lambda ctx: Call(
            {},
            {
                "from_organization_id": ctx.owner.organization_id,
                "to_organization_id": ctx.other.organization_id,
                "purposes": ["shelter"],
                "categories": ["identity"],
            },
            201,
        ),
        admin=True,
    ),
    ("POST", "/v1/agreements/{agreement_id}/revoke"): Scenario(
        lambda ctx: Call(_agreement(ctx), {"reason": "The partner closed its office"}),
        admin=True,
    ),
    ("GET", "/v1/organizations/{organization_id}/clients"): Scenario(
        lambda ctx: Call(_org(ctx)), admin=True
    ),
    ("POST", "/v1/organizations/{organization_id}/clients"): Scenario(
        lambda ctx: Call(_org(ctx), {"scope": "cases:read"}, 201), admin=True
    ),
    ("DELETE", "/v1/organizations/{organization_id}/clients/{client_id}"): Scenario(
        lambda ctx: Call(_org(ctx) | {"client_id": ctx.client()}, None, 204), admin=True
    ),
    ("GET", "/v1/organizations/{organization_id}/channel"): Scenario(
        lambda ctx: Call(_org(ctx)), admin=True
    ),
    ("PUT", "/v1/organizations/{organization_id}/channel"): Scenario(
        lambda ctx: Call(_org(ctx), {"kind": "inbox"}), admin=True
    ),
    ("GET", "/v1/deliveries"): Scenario(lambda ctx: Call({}), admin=True),
    ("POST", "/v1/deliveries/{delivery_id}/redeliver"): Scenario(
        lambda ctx: Call({"delivery_id": _dead_delivery(ctx)["delivery_id"]}, None, 202),
        admin=True,
    ),
    ("GET", "/v1/referrals/{referral_id}/deliveries"): Scenario(
        lambda ctx: Call(_referral(ctx, owner_receives=False)), tenant=True
    ),
    ("POST", "/v1/referrals/{referral_id}/redeliver"): Scenario(
        lambda ctx: Call({"referral_id": _dead_delivery(ctx)["referral_id"]}, None, 202),
        tenant=True,
    ),
    ("GET", "/v1/transfers/{transfer_id}/deliveries"): Scenario(
        lambda ctx: Call(_transfer(ctx)), tenant=True
    ),
    ("POST", "/v1/transfers/{transfer_id}/redeliver"): Scenario(
        lambda ctx: Call({"transfer_id": _dead_offer(ctx)}, None, 202), tenant=True
    ),
    ("POST", "/v1/cases"): Scenario(
        lambda ctx: Call({}, dict(CASE, external_ref=ctx.unique("NEW")), 201)
    ),
    ("GET", "/v1/cases"): Scenario(lambda ctx: Call({})),
    ("GET", "/v1/cases/{case_id}"): Scenario(
        lambda ctx: Call({"case_id": ctx.case()}), tenant=True
    ),
    ("PATCH", "/v1/cases/{case_id}"): Scenario(
        lambda ctx: Call({"case_id": ctx.case()}, {"data": {"contact": {"phone": "1"}}}),
        tenant=True,
    ),
    ("DELETE", "/v1/cases/{case_id}"): Scenario(
        lambda ctx: Call({"case_id": ctx.case()}, None, 204), tenant=True
    ),
    ("POST", "/v1/cases/{case_id}/close"): Scenario(
        lambda ctx: Call({"case_id": ctx.case()}, {"reason": "goals_met"}), tenant=True
    ),
    ("POST", "/v1/cases/{case_id}/reopen"): Scenario(
        lambda ctx: Call({"case_id": _closed_case(ctx)}, {"note": "Came back"}), tenant=True
    ),
    ("GET", "/v1/cases/{case_id}/events"): Scenario(
        lambda ctx: Call({"case_id": _closed_case(ctx)}), tenant=True
    ),
    ("POST", "/v1/cases/{case_id}/consents"): Scenario(
        lambda ctx: Call({"case_id": ctx.case()}, CONSENT, 201), tenant=True
    ),
    ("GET", "/v1/cases/{case_id}/consents"): Scenario(
        lambda ctx: Call({"case_id": ctx.case()}), tenant=True
    ),
    ("GET", "/v1/consents/{consent_id}"): Scenario(
        lambda ctx: Call({"consent_id": ctx.consent()}), tenant=True
    ),
    ("POST", "/v1/consents/{consent_id}/withdraw"): Scenario(
        lambda ctx: Call({"consent_id": ctx.consent()}, {"method": "verbal"}), tenant=True
    ),
    ("GET", "/v1/consents/{consent_id}/withdrawal-preview"): Scenario(
        lambda ctx: Call({"consent_id": ctx.consent()}), tenant=True
    ),
    ("PUT", "/v1/consents/{consent_id}/evidence"): Scenario(
        lambda ctx: Call({"consent_id": ctx.consent()}, PDF, 201, "application/pdf"),
        tenant=True,
    ),
    ("GET", "/v1/consents/{consent_id}/evidence"): Scenario(
        lambda ctx: Call({"consent_id": ctx.consent(evidence=True)}), tenant=True
    ),
    ("POST", "/v1/referrals"): Scenario(_new_referral, tenant=True),
    ("GET", "/v1/referrals"): Scenario(lambda ctx: Call({})),
    ("GET", "/v1/referrals/inbox"): Scenario(lambda ctx: Call({})),
    ("GET", "/v1/referrals/figures"): Scenario(lambda ctx: Call({})),
    ("GET", "/v1/reports/referrals"): Scenario(lambda ctx: Call({})),
    ("GET", "/v1/referrals/{referral_id}"): Scenario(
        lambda ctx: Call(_referral(ctx, owner_receives=False)), tenant=True
    ),
    ("GET", "/v1/referrals/{referral_id}/events"): Scenario(
        lambda ctx: Call(_referral(ctx, owner_receives=False)), tenant=True
    ),
    ("POST", "/v1/referrals/{referral_id}/acknowledge"): Scenario(
        lambda ctx: Call(_referral(ctx), {}), tenant=True
    ),
    ("POST", "/v1/referrals/{referral_id}/accept"): Scenario(
        lambda ctx: Call(_referral(ctx, "acknowledge"), {}), tenant=True
    ),
    ("POST", "/v1/referrals/{referral_id}/decline"): Scenario(
        lambda ctx: Call(_referral(ctx), {"reason": "no capacity"}), tenant=True
    ),
    ("POST", "/v1/referrals/{referral_id}/start"): Scenario(
        lambda ctx: Call(_referral(ctx, "acknowledge", "accept"), {}), tenant=True
    ),
    ("POST", "/v1/referrals/{referral_id}/complete"): Scenario(
        lambda ctx: Call(_referral(ctx, "acknowledge", "accept", "start"), {"outcome": "done"}),
        tenant=True,
    ),
    ("POST", "/v1/referrals/{referral_id}/erasure-confirmation"): Scenario(
        lambda ctx: Call(_received(ctx), {}), tenant=True
    ),
    ("POST", "/v1/referrals/{referral_id}/cancel"): Scenario(
        lambda ctx: Call(_referral(ctx, owner_receives=False), {"reason": "mistake"}),
        tenant=True,
    ),
    ("POST", "/v1/transfers"): Scenario(
        lambda ctx: Call(
            {},
            transfers.new_transfer(
                ctx.runtime, ctx.owner.organization_id, ctx.unique("MATRIX-TRANSFER")
            ),
            201,
        ),
        tenant=True,
    ),
    ("GET", "/v1/transfers"): Scenario(lambda ctx: Call({})),
    ("GET", "/v1/transfers/{transfer_id}"): Scenario(lambda ctx: Call(_transfer(ctx)), tenant=True),
    ("GET", "/v1/transfers/{transfer_id}/events"): Scenario(
        lambda ctx: Call(_transfer(ctx)), tenant=True
    ),
    ("POST", "/v1/transfers/{transfer_id}/accept"): Scenario(
        lambda ctx: Call(_transfer(ctx, owner_receives=True), {}), tenant=True
    ),
    ("POST", "/v1/transfers/{transfer_id}/reject"): Scenario(
        lambda ctx: Call(_transfer(ctx, owner_receives=True), {"reason": "no capacity"}),
        tenant=True,
    ),
    ("POST", "/v1/transfers/{transfer_id}/cancel"): Scenario(
        lambda ctx: Call(_transfer(ctx), {"reason": "mistake"}), tenant=True
    ),
    ("POST", "/v1/transfer-requests"): Scenario(
        lambda ctx: Call({}, transfers.request_body(ctx.runtime, ctx.owner.organization_id), 201)
    ),
    ("GET", "/v1/transfer-requests"): Scenario(lambda ctx: Call({})),
    ("GET", "/v1/transfer-requests/{request_id}"): Scenario(
        lambda ctx: Call(
            {"request_id": transfers.transfer_request(ctx.runtime, ctx.owner.organization_id)}
        ),
        tenant=True,
    ),
    ("POST", "/v1/transfer-requests/{request_id}/refuse"): Scenario(
        lambda ctx: Call(
            {
                "request_id": transfers.transfer_request(
                    ctx.runtime, ctx.owner.organization_id, owner_asked=True
                )
            },
            {"refusal_code": "other"},
        ),
        tenant=True,
    ),
    ("POST", "/v1/transfer-requests/{request_id}/withdraw"): Scenario(
        lambda ctx: Call(
            {"request_id": transfers.transfer_request(ctx.runtime, ctx.owner.organization_id)},
            {},
        ),
        tenant=True,
    ),
    ("GET", "/v1/person-notices"): Scenario(lambda ctx: Call({})),
    ("GET", "/v1/person-notices/{notice_id}"): Scenario(
        lambda ctx: Call(_notice(ctx)), tenant=True
    ),
    ("POST", "/v1/person-notices/{notice_id}/told"): Scenario(
        lambda ctx: Call(_notice(ctx), {"told_whom": "subject", "told_how": "in_person"}),
        tenant=True,
    ),
    ("GET", "/v1/cases/{case_id}/disclosures"): Scenario(
        lambda ctx: Call({"case_id": ctx.case()}), tenant=True
    ),
    # reviews are decided by the requesting office or one above it, by a person: the owner's
    # client acts for one of its consent officers (requested by a caseworker, so four eyes
    # holds); acting for no one it gets 403 person_required, for a case worker 403
    # not_a_consent_officer (tests/reviews/test_people_decide.py); an unrelated one gets 404
    ("GET", "/v1/reviews"): Scenario(lambda ctx: Call({})),
    ("GET", "/v1/reviews/{review_id}"): Scenario(
        lambda ctx: Call({"review_id": held_request(ctx.runtime, ctx.owner.organization_id)}),
        tenant=True,
    ),
    ("POST", "/v1/reviews/{review_id}/approve"): Scenario(
        lambda ctx: Call(
            {"review_id": held_request(ctx.runtime, ctx.owner.organization_id)},
            {"justification": "checked with the caseworker"},
            on_behalf_of=consent_officer(ctx.runtime, ctx.owner.organization_id),
        ),
        tenant=True,
    ),
    ("POST", "/v1/reviews/{review_id}/deny"): Scenario(
        lambda ctx: Call(
            {"review_id": held_request(ctx.runtime, ctx.owner.organization_id)},
            {"justification": "not needed for the service"},
            on_behalf_of=consent_officer(ctx.runtime, ctx.owner.organization_id),
        ),
        tenant=True,
    ),
    ("POST", "/v1/reviews/{review_id}/return"): Scenario(
        lambda ctx: Call(
            {"review_id": held_request(ctx.runtime, ctx.owner.organization_id)},
            {"justification": "record a witness first"},
            on_behalf_of=consent_officer(ctx.runtime, ctx.owner.organization_id),
        ),
        tenant=True,
    ),
    # the sender resubmits what an officer sent back: held again (202), the consent still
    # verbal without a witness
    ("POST", "/v1/referrals/{referral_id}/resubmit"): Scenario(
        lambda ctx: Call(
            {
                "referral_id": referrals.returned_referral(
                    ctx.runtime, ctx.owner.organization_id, ctx.unique("MATRIX-RETURNED")
                )
            },
            {},
            202,
        ),
        tenant=True,
    ),
    ("POST", "/v1/transfers/{transfer_id}/resubmit"): Scenario(
        lambda ctx: Call(
            {
                "transfer_id": transfers.returned_transfer(
                    ctx.runtime, ctx.owner.organization_id, ctx.unique("MATRIX-RETURNED")
                )
            },
            {},
            202,
        ),
        tenant=True,
    ),
}
