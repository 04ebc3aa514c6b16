"""The consent registry's service: versions, withdrawal, the recording rules, erasure."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub.api.problems import Problem
from hub.audit.models import AuditEntry
from hub.cases import service as cases
from hub.cases.models import Case
from hub.clock import utcnow
from hub.consent import evidence
from hub.consent import service as consents
from hub.consent.models import Consent, ConsentWithdrawal
from hub.consent.schemas import ConsentRead, WithdrawalCreate
from hub.consent.status import active_consents
from hub.crypto.service import DataKeyMissing, data_key
from hub.outbox.models import OutboxMessage
from hub.runtime import Runtime
from tests.cases.conftest import new_case
from tests.consent.conftest import Record, World

CAREGIVER = {"name": "Mariama Issoufou", "relationship": "mother"}
PDF = b"%PDF-1.4\n% consent form\n%%EOF\n"


def read_one(runtime: Runtime, consent_id: str, organization_id: str) -> ConsentRead:
    with runtime.sessions.begin() as db:
        consent = consents.get(db=db, consent_id=consent_id, organization_id=organization_id)
        return consents.read(db=db, keyring=runtime.keyring, consents=[consent])[0]


def withdraw(runtime: Runtime, consent_id: str, organization_id: str, **body: Any) -> None:
    with runtime.sessions.begin() as db:
        consent = consents.get(db=db, consent_id=consent_id, organization_id=organization_id)
        consents.withdraw(
            db=db,
            keyring=runtime.keyring,
            actor="client:test",
            consent=consent,
            data=WithdrawalCreate.model_validate({"method": "verbal"} | body),
        )


def refused(fn: Any, *args: Any, **kwargs: Any) -> Problem:
    with pytest.raises(Problem) as caught:
        fn(*args, **kwargs)
    return caught.value


def test_a_caregiver_consent_is_recorded_and_read_back(
    runtime: Runtime, world: World, case: Case, record: Record
) -> None:
    consent = record(
        case,
        given_by="caregiver",
        caregiver=CAREGIVER,
        child_assent=True,
        method="verbal",
        witness="staff-117",
        interpreter="interpreter-9",
        language="ha",
        recipients={"organizations": [world.partner], "kinds": ["un_agency"]},
        exclusions={"organizations": [world.ministry], "kinds": ["government"]},
    )
    assert consent.caregiver_ciphertext is not None
    assert CAREGIVER["name"].encode() not in consent.caregiver_ciphertext
    read = read_one(runtime, consent.id, world.owner)
    assert read.status == "active"
    assert (read.version, read.supersedes, read.series_id) == (1, None, consent.series_id)
    assert read.caregiver is not None and read.caregiver.model_dump() == CAREGIVER
    assert (read.child_assent, read.method, read.witness) == (True, "verbal", "staff-117")
    assert (read.language, read.interpreter) == ("ha", "interpreter-9")
    assert read.recipients.organizations == [world.partner]
    assert read.exclusions.model_dump() == {
        "organizations": [world.ministry],
        "kinds": ["government"],
    }
    assert read.recorded_by == "client:test"
    assert read.withdrawal is None and read.evidence is None
    # given_at defaults to the time of recording
    assert abs(read.given_at - read.recorded_at) < timedelta(seconds=1)
    with runtime.sessions.begin() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.object_id == consent.id)).one()
    assert entry.action == "consent.recorded"
    assert entry.details["case_id"] == case.id
    assert CAREGIVER["name"] not in str(entry.details)


def test_status_follows_the_dates(
    runtime: Runtime, world: World, case: Case, record: Record
) -> None:
    past = record(case, valid_from="2020-01-01T00:00:00Z", valid_until="2021-01-01T00:00:00Z")
    future = record(case, valid_from="2098-01-01T00:00:00+01:00", valid_until=None)
    assert read_one(runtime, past.id, world.owner).status == "expired"
    assert read_one(runtime, future.id, world.owner).status == "not_yet_valid"
    assert read_one(runtime, future.id, world.owner).valid_until is None


def test_a_new_version_supersedes_the_current_one(
    runtime: Runtime, world: World, case: Case, record: Record
) -> None:
    v1 = record(case)
    v2 = record(case, supersedes=v1.id, categories=["identity"])
    assert (v2.series_id, v2.version, v2.supersedes_id) == (v1.series_id, 2, v1.id)
    assert read_one(runtime, v1.id, world.owner).status == "superseded"
    assert read_one(runtime, v2.id, world.owner).status == "active"
    with runtime.sessions.begin() as db:
        active = active_consents(db=db, case_id=case.id, at=utcnow())
    assert [c.id for c in active] == [v2.id]

    # the old version cannot be superseded again: the answer names the current one
    problem = refused(record, case, supersedes=v1.id)
    assert (problem.status, problem.code) == (409, "consent_superseded")
    assert problem.extra["current_id"] == v2.id
    v3 = record(case, supersedes=v2.id)
    assert v3.version == 3


def test_another_cases_consent_cannot_be_superseded(
    runtime: Runtime, world: World, case: Case, record: Record
) -> None:
    elsewhere = record(new_case(runtime, world.owner, ref="MRRM-NE-2026-0099"))
    foreign = record(new_case(runtime, world.other, ref="MRRM-NE-2026-0100"))
    for target in (elsewhere.id, foreign.id, "0" * 32):
        problem = refused(record, case, supersedes=target)
        assert (problem.status, problem.code) == (422, "invalid_supersedes")
    with runtime.sessions.begin() as db:
        assert db.scalars(select(Consent).where(Consent.case_id == case.id)).all() == []


def test_withdrawal_is_final_and_announced(
    runtime: Runtime, world: World, case: Case, record: Record
) -> None:
    v1 = record(case)
    v2 = record(case, supersedes=v1.id)
    untouched = record(case)
    # naming an older version withdraws the series, recorded against the current version
    withdraw(runtime, v1.id, world.owner, reason="changed her mind", method="written")
    for version in (v1, v2):
        read = read_one(runtime, version.id, world.owner)
        assert read.status == "withdrawn"
        assert read.withdrawal is not None
        assert (read.withdrawal.method, read.withdrawal.reason) == ("written", "changed her mind")
        assert read.withdrawal.recorded_by == "client:test"
    assert read_one(runtime, untouched.id, world.owner).status == "active"
    with runtime.sessions.begin() as db:
        row = db.get_one(ConsentWithdrawal, v1.series_id)
        assert row.consent_id == v2.id and row.case_id == case.id
        messages = db.scalars(select(OutboxMessage)).all()
        assert [(m.topic, m.payload) for m in messages] == [
            (
                "consent.withdrawn",
                {"consent_id": v2.id, "series_id": v1.series_id, "case_id": case.id},
            )
        ]
        assert [c.id for c in active_consents(db=db, case_id=case.id, at=utcnow())] == [
            untouched.id
        ]
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "consent.withdrawn")).one()
        assert "changed her mind" not in str(entry.details)

    again = refused(withdraw, runtime, v2.id, world.owner)
    assert (again.status, again.code) == (409, "consent_withdrawn")
    no_new_version = refused(record, case, supersedes=v2.id)
    assert (no_new_version.status, no_new_version.code) == (409, "consent_withdrawn")
    with runtime.sessions.begin() as db:
        assert len(db.scalars(select(OutboxMessage)).all()) == 1


def test_a_withdrawal_needs_no_reason(
    runtime: Runtime, world: World, case: Case, record: Record
) -> None:
    consent = record(case)
    withdraw(runtime, consent.id, world.owner)
    read = read_one(runtime, consent.id, world.owner)
    assert read.withdrawal is not None and read.withdrawal.reason is None


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"given_by": "caregiver"}, "caregiver_missing"),
        ({"given_by": "subject", "caregiver": CAREGIVER}, "caregiver_unexpected"),
        ({"valid_until": "2026-01-01T00:00:00Z"}, "invalid_dates"),  # equal to valid_from
        ({"valid_until": "2025-12-31T23:59:59Z"}, "invalid_dates"),
        (
            # later on the wall clock, earlier in time: compared as instants, not as text
            {"valid_from": "2026-06-01T00:00:00-02:00", "valid_until": "2026-06-01T01:00:00Z"},
            "invalid_dates",
        ),
        ({"given_at": "2099-01-01T00:00:00Z"}, "invalid_dates"),
        ({"purposes": ["marketing"]}, "unknown_value"),
        ({"categories": ["identity", "blood_type"]}, "unknown_value"),
        ({"recipients": {"kinds": ["private_company"]}}, "unknown_value"),
        ({"exclusions": {"kinds": ["militia"]}}, "unknown_value"),
        ({"recipients": {"organizations": ["f" * 32]}}, "unknown_value"),
        ({"exclusions": {"organizations": ["e" * 32]}}, "unknown_value"),
        ({"recipients": {}}, "recipients_missing"),
        ({"recipients": {}, "exclusions": {"kinds": ["government"]}}, "recipients_missing"),
    ],
)
def test_recording_rules(
    runtime: Runtime, case: Case, record: Record, overrides: dict[str, Any], code: str
) -> None:
    problem = refused(record, case, **overrides)
    assert (problem.status, problem.code) == (422, code)
    with runtime.sessions.begin() as db:
        assert db.scalars(select(Consent)).all() == []


def test_unknown_values_are_pointed_at_not_echoed(case: Case, record: Record) -> None:
    leaked = "Aminata Diallo, 14, Agadez"  # a client that put a name where a code goes
    problem = refused(record, case, purposes=["shelter", leaked])
    assert problem.extra["field"] == "purposes" and problem.extra["vocabulary"] == "purposes"
    assert "shelter" in problem.extra["allowed"]
    assert leaked not in str(problem.document())
    problem = refused(record, case, exclusions={"kinds": ["militia"]})
    assert problem.extra["field"] == "exclusions.kinds"
    # organisation ids are the hub's own (the directory is public): those are named
    problem = refused(record, case, recipients={"organizations": ["f" * 32]})
    assert problem.extra["unknown"] == ["f" * 32]


def test_a_given_at_in_the_past_is_kept(
    runtime: Runtime, world: World, case: Case, record: Record
) -> None:
    consent = record(case, given_at="2025-12-20T09:30:00-01:00")
    read = read_one(runtime, consent.id, world.owner)
    assert read.given_at.isoformat() == "2025-12-20T10:30:00+00:00"


def test_reads_and_lists_are_for_the_owner_only(
    runtime: Runtime, world: World, case: Case, record: Record
) -> None:
    first = record(case)
    second = record(case, supersedes=first.id)
    third = record(case)
    record(new_case(runtime, world.owner, ref="ANOTHER-CASE"))
    with runtime.sessions.begin() as db:
        problem = refused(consents.get, db=db, consent_id=first.id, organization_id=world.other)
        assert (problem.status, problem.code) == (404, "not_found")
        foreign, _ = consents.list_for_case(
            db=db, organization_id=world.other, case_id=case.id, cursor=None, limit=10
        )
        assert foreign == []
        page, cursor = consents.list_for_case(
            db=db, organization_id=world.owner, case_id=case.id, cursor=None, limit=2
        )
        rest, end = consents.list_for_case(
            db=db, organization_id=world.owner, case_id=case.id, cursor=cursor, limit=2
        )
    assert cursor is not None and end is None
    assert [c.id for c in page + rest] == [third.id, second.id, first.id]


def test_erasing_the_case_erases_caregiver_reason_and_evidence(
    runtime: Runtime, world: World, case: Case, record: Record
) -> None:
    consent = record(case, given_by="caregiver", caregiver=CAREGIVER, child_assent=True)
    with runtime.sessions.begin() as db:
        found = consents.get(db=db, consent_id=consent.id, organization_id=world.owner)
        evidence.put_evidence(
            db=db,
            keyring=runtime.keyring,
            actor="client:test",
            consent=found,
            content_type="application/pdf",
            content=PDF,
        )
    withdraw(runtime, consent.id, world.owner, reason="moved to Niamey")
    with runtime.sessions.begin() as db:
        erased = cases.get(db=db, case_id=case.id, organization_id=world.owner)
        cases.erase(db=db, actor="client:test", case=erased)

    read = read_one(runtime, consent.id, world.owner)
    # the record of consent stays (ids, scope, dates), its personal data is gone
    assert read.status == "withdrawn" and read.purposes == ["psychosocial_support", "case_transfer"]
    assert read.caregiver is None
    assert read.withdrawal is not None and read.withdrawal.reason is None
    assert read.evidence is not None and read.evidence.size == len(PDF)
    with runtime.sessions.begin() as db:
        found = consents.get(db=db, consent_id=consent.id, organization_id=world.owner)
        problem = refused(
            evidence.get_evidence, db=db, keyring=runtime.keyring, actor="t", consent=found
        )
        assert (problem.status, problem.code) == (410, "case_erased")
        # not a refusal by the hub only: the key that sealed them no longer exists
        with pytest.raises(DataKeyMissing):
            data_key(db=db, keyring=runtime.keyring, owner=cases.owner_for_case(case.id))
    again = refused(record, case)
    assert again.status == 410


def test_a_duplicate_id_in_a_list_is_kept_once(
    runtime: Runtime, world: World, case: Case, record: Record
) -> None:
    consent = record(
        case,
        purposes=["shelter", "shelter"],
        recipients={"organizations": [world.partner, world.partner], "kinds": []},
    )
    assert consent.purposes == ["shelter"]
    assert consent.recipient_organizations == [world.partner]
