"""Transfer requests: asked without enumeration, answered with a transfer (through the same
gate and service as any transfer) or refused with a code, withdrawn, seen by the two parties
only, audited, the reason sealed."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.transfers.requests.models import TransferRequest
from tests.support.transfer_world import World, plan

REASON = "Canary reason: Quillandra Voss now sleeps at the Niamey shelter"


def ask(world: World, who: Any = None, **body: Any) -> httpx.Response:
    requester = who or world.ngo
    payload = {"owner_organization_id": world.sender.organization_id, "reason": REASON, **body}
    return world.api.post("/v1/transfer-requests", json=payload, headers=requester.headers)


def get(world: World, request_id: str, who: Any) -> httpx.Response:
    return world.api.get(f"/v1/transfer-requests/{request_id}", headers=who.headers)


def act(world: World, request_id: str, action: str, who: Any, **body: Any) -> httpx.Response:
    return world.api.post(
        f"/v1/transfer-requests/{request_id}/{action}", json=body, headers=who.headers
    )


def answer(world: World, request_id: str, case_id: str, to: Any = None) -> httpx.Response:
    body = {
        "case_id": case_id,
        "to_organization_id": (to or world.ngo).organization_id,
        "plan": plan(),
        "transfer_request_id": request_id,
    }
    return world.api.post("/v1/transfers", json=body, headers=world.sender.headers)


VARYING = {"id", "created_at", "updated_at", "answer_by"}


def test_the_answer_is_the_same_whether_or_not_the_case_exists(world: World) -> None:
    world.case("MRRM-NE-KNOWN")
    known = ask(world, case_ref="MRRM-NE-KNOWN")
    unknown = ask(world, case_ref="MRRM-NE-NOSUCH")
    # another organisation's case, named as if it were the sender's
    other = world.api.post(
        "/v1/cases",
        json={
            "external_ref": "MRRM-NE-ELSEWHERE",
            "subject": {"birth_date": "1990-01-01", "sex": "male"},
            "data": {},
        },
        headers=world.country.headers,
    )
    assert other.status_code == 201, other.text
    elsewhere = ask(world, case_ref="MRRM-NE-ELSEWHERE")
    answers = [known, unknown, elsewhere]
    assert [r.status_code for r in answers] == [201, 201, 201], [r.text for r in answers]
    shapes = [{k: v for k, v in r.json().items() if k not in VARYING} for r in answers]
    assert shapes[0] == shapes[1] == shapes[2]
    assert shapes[0]["case_id"] is None and shapes[0]["matched"] is None
    reads = [get(world, r.json()["id"], world.ngo).json() for r in answers]
    views = [{k: v for k, v in r.items() if k not in VARYING | {"case_ref"}} for r in reads]
    assert views[0] == views[1] == views[2]
    assert reads[0]["reason"] == REASON
    # the owner sees which matched
    owner = [get(world, r.json()["id"], world.sender).json() for r in answers]
    assert [o["matched"] for o in owner] == [True, False, False]
    assert owner[0]["case_external_ref"] == "MRRM-NE-KNOWN"
    assert owner[1]["case_ref"] == "MRRM-NE-NOSUCH" and owner[1]["case_id"] is None
    # the country office, named by no one, sees none of them
    assert get(world, known.json()["id"], world.country).status_code == 404
    listed = world.api.get("/v1/transfer-requests", headers=world.outsider.headers).json()
    assert listed["items"] == []
    received = world.api.get(
        "/v1/transfer-requests?role=received", headers=world.sender.headers
    ).json()
    assert {i["id"] for i in received["items"]} == {r.json()["id"] for r in answers}


def test_the_reason_is_sealed_and_the_audit_holds_codes(world: World) -> None:
    world.case("MRRM-NE-SEALED")
    made = ask(world, case_ref="MRRM-NE-SEALED")
    assert REASON not in made.text
    with world.runtime.sessions() as db:
        row = db.get_one(TransferRequest, made.json()["id"])
        assert REASON.encode() not in row.asked_ciphertext
        assert b"MRRM-NE-SEALED" not in row.asked_ciphertext
        entries = db.scalars(select(AuditEntry).where(AuditEntry.object_id == row.id)).all()
    assert [e.action for e in entries] == ["transfer_request.created"]
    assert "Canary" not in str(entries[0].details)


def test_answered_with_a_transfer_in_the_same_transaction(world: World) -> None:
    case_id = world.case("MRRM-NE-ANSWER")
    world.consent(case_id)
    request_id = ask(world, case_ref="MRRM-NE-ANSWER").json()["id"]
    assert get(world, request_id, world.sender).json()["allowed_actions"] == [
        "propose_transfer",
        "refuse",
    ]
    # to another organisation than the requester: refused, nothing moves
    wrong = answer(world, request_id, case_id, to=world.country)
    assert wrong.status_code == 422 and wrong.json()["code"] == "transfer_request_mismatch"
    # another case than the one matched
    other_case = world.case("MRRM-NE-OTHER")
    world.consent(other_case)
    mismatch = answer(world, request_id, other_case)
    assert mismatch.status_code == 422, mismatch.text
    made = answer(world, request_id, case_id)
    assert made.status_code == 201, made.text
    transfer_id = made.json()["id"]
    owner_view = get(world, request_id, world.sender).json()
    assert owner_view["status"] == "answered_with_transfer"
    assert owner_view["transfer_id"] == transfer_id
    requester_view = get(world, request_id, world.ngo).json()
    assert requester_view["status"] == "answered_with_transfer"
    assert requester_view["transfer_id"] == transfer_id  # offered to it: it may read it
    assert world.get(transfer_id, world.ngo).status_code == 200
    # answered once only
    again = answer(world, request_id, case_id)
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    assert act(world, request_id, "withdraw", world.ngo).status_code == 409


def test_an_unmatched_request_is_answered_with_the_case_the_owner_picks(world: World) -> None:
    case_id = world.case("MRRM-NE-REAL")
    world.consent(case_id)
    request_id = ask(world, case_ref="mrrm ne real (as told by phone)").json()["id"]
    assert get(world, request_id, world.sender).json()["matched"] is False
    made = answer(world, request_id, case_id)
    assert made.status_code == 201, made.text
    view = get(world, request_id, world.sender).json()
    assert (view["matched"], view["case_id"]) == (True, case_id)


def test_a_denied_transfer_leaves_the_request_waiting(world: World) -> None:
    case_id = world.case("MRRM-NE-NOCONSENT")  # no consent: the gate denies
    request_id = ask(world, case_ref="MRRM-NE-NOCONSENT").json()["id"]
    denied = answer(world, request_id, case_id)
    assert denied.status_code == 422 and denied.json()["code"] == "consent_denied"
    assert get(world, request_id, world.sender).json()["status"] == "requested"


def test_named_by_a_referral_the_requester_received(world: World) -> None:
    # the requester names a referral id it never received: same answer, unmatched
    made = ask(world, referral_id="0" * 32)
    assert made.status_code == 201, made.text
    assert get(world, made.json()["id"], world.sender).json()["matched"] is False
    both = ask(world, referral_id="0" * 32, case_ref="X")
    assert both.status_code == 422


def test_refused_with_a_coded_reason(world: World) -> None:
    world.case("MRRM-NE-REFUSE")
    request_id = ask(world, case_ref="MRRM-NE-REFUSE").json()["id"]
    # the requester cannot refuse, the owner needs a code of the policy
    assert act(world, request_id, "refuse", world.ngo, refusal_code="other").status_code == 409
    missing = act(world, request_id, "refuse", world.sender)
    assert missing.status_code == 422 and missing.json()["code"] == "reason_required"
    unknown = act(world, request_id, "refuse", world.sender, refusal_code="nope")
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_value"
    words = "Canary words: her treatment here ends in May"
    refused = act(
        world, request_id, "refuse", world.sender, refusal_code="services_ongoing", reason=words
    )
    assert refused.status_code == 200, refused.text
    assert refused.json()["status"] == "refused" and words not in refused.text
    view = get(world, request_id, world.ngo).json()
    assert (view["refusal_code"], view["answer_text"]) == ("services_ongoing", words)
    with world.runtime.sessions() as db:
        row = db.get_one(TransferRequest, request_id)
        assert row.words_ciphertext is not None and words.encode() not in row.words_ciphertext
        actions = [
            e.action for e in db.scalars(select(AuditEntry).where(AuditEntry.object_id == row.id))
        ]
    assert actions == ["transfer_request.created", "transfer_request.refuse"]
    assert act(world, request_id, "withdraw", world.ngo).status_code == 409


def test_withdrawn_by_the_requester_only(world: World) -> None:
    request_id = ask(world, case_ref="MRRM-NE-W").json()["id"]
    assert act(world, request_id, "withdraw", world.sender).status_code == 409
    assert act(world, request_id, "withdraw", world.outsider).status_code == 404
    done = act(world, request_id, "withdraw", world.ngo)
    assert done.status_code == 200 and done.json()["status"] == "withdrawn"
    assert done.json()["allowed_actions"] == []


def test_asking_oneself_or_an_unknown_organisation_is_refused(world: World) -> None:
    own = ask(world, who=world.sender, case_ref="X")
    assert own.status_code == 422 and own.json()["code"] == "invalid_recipient"
    nobody = ask(world, case_ref="X", owner_organization_id="f" * 32)
    assert nobody.status_code == 422 and nobody.json()["code"] == "unknown_value"
    urgency = ask(world, case_ref="X", urgency="whenever")
    assert urgency.status_code == 422 and urgency.json()["code"] == "unknown_value"


def test_erasing_the_case_shreds_what_its_requests_hold(world: World) -> None:
    case_id = world.case("MRRM-NE-ERASE")
    request_id = ask(world, case_ref="MRRM-NE-ERASE").json()["id"]
    erased = world.api.delete(f"/v1/cases/{case_id}", headers=world.sender.headers)
    assert erased.status_code in (200, 204), erased.text
    view = get(world, request_id, world.ngo).json()
    assert view["reason"] is None and view["case_ref"] is None


def test_matched_through_a_referral_the_requester_received(world: World) -> None:
    from tests.support import factories

    case_id = world.case("MRRM-NE-REFERRED")
    world.consent(case_id, purposes=["case_transfer", "psychosocial_support"])
    with world.runtime.sessions.begin() as db:
        factories.agreement(
            db,
            world.runtime.policy,
            world.sender.organization_id,
            world.ngo.organization_id,
            ["psychosocial_support"],
            ["identity", "contact", "psychosocial"],
        )
    referral = world.api.post(
        "/v1/referrals",
        json={
            "case_id": case_id,
            "to_organization_id": world.ngo.organization_id,
            "service_type": "psychosocial_support",
            "purpose": "psychosocial_support",
            "urgency": "normal",
            "categories": ["identity", "psychosocial"],
        },
        headers=world.sender.headers,
    )
    assert referral.status_code == 201, referral.text
    referral_id = referral.json()["id"]
    made = ask(world, referral_id=referral_id)
    assert made.status_code == 201, made.text
    owner_view = get(world, made.json()["id"], world.sender).json()
    assert (owner_view["matched"], owner_view["case_id"]) == (True, case_id)
    # the same referral id named by an organisation it was not sent to: unmatched
    outsider = ask(world, who=world.outsider, referral_id=referral_id)
    assert outsider.status_code == 201
    assert get(world, outsider.json()["id"], world.sender).json()["matched"] is False
