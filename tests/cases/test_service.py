from datetime import date

import pytest
from sqlalchemy import event, select, update

from hub.api.problems import Conflict, NotFound, Unprocessable
from hub.audit.models import AuditEntry
from hub.cases import service as cases
from hub.cases.models import Case, CaseData
from hub.cases.schemas import CaseRead, Subject
from hub.crypto.envelope import CiphertextInvalid
from hub.crypto.keyring import FileKeyring
from hub.crypto.models import DataKey
from hub.crypto.service import DataKeyMissing, rewrap_all
from hub.db.session import SCOPED_INFO
from hub.runtime import Runtime
from tests.cases.conftest import Orgs, new_case


def test_create_then_read_round_trip(runtime: Runtime, orgs: Orgs) -> None:
    case = new_case(runtime, orgs.owner)
    with runtime.sessions() as db:
        found = cases.get(db=db, case_id=case.id, organization_id=orgs.owner)
        full = cases.read(db=db, keyring=runtime.keyring, case=found)
        assert isinstance(full, CaseRead)
        assert full.subject == Subject(birth_date=date(2010, 3, 14), sex="female")
        assert full.categories == ["contact", "identity"]
        assert full.data["identity"] == {"given_name": "Aïcha", "family_name": "Moussa"}
        only = cases.read_data(
            db=db, keyring=runtime.keyring, case=found, categories=["contact", "health"]
        )
        assert only == {"contact": {"phone": "+227 90 00 00 00"}}
        summary = cases.summary(db=db, case=found)
        assert summary.categories == ["contact", "identity"] and summary.erased_at is None
        assert not hasattr(summary, "data")
        stored = db.scalars(select(CaseData.ciphertext)).all()
        assert len(stored) == 2 and all("Aïcha".encode() not in c for c in stored)
        assert db.get(DataKey, cases.owner_for_case(case.id)) is not None


def test_unknown_category_and_duplicate_reference_are_refused(runtime: Runtime, orgs: Orgs) -> None:
    with pytest.raises(Unprocessable) as info:
        new_case(runtime, orgs.owner, identity={"given_name": "x"}, secret_notes={"a": 1})
    assert info.value.code == "unknown_value"
    assert "secret_notes" not in str(info.value.document())
    new_case(runtime, orgs.owner)
    with pytest.raises(Conflict) as dup:
        new_case(runtime, orgs.owner)
    assert dup.value.code == "duplicate_external_ref"
    new_case(runtime, orgs.other)  # the same reference in another organisation is fine
    with runtime.sessions() as db:
        assert db.query(Case).count() == 2
        assert db.query(DataKey).count() == 2


def test_another_organisation_cannot_get_the_case(runtime: Runtime, orgs: Orgs) -> None:
    case = new_case(runtime, orgs.owner)
    statements: list[str] = []

    def capture(conn, cursor, statement, params, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", capture)
    try:
        with runtime.sessions() as db:
            with pytest.raises(NotFound) as info:
                cases.get(db=db, case_id=case.id, organization_id=orgs.other)
            assert info.value.status == 404 and info.value.code == "not_found"
            with pytest.raises(NotFound):
                cases.get(db=db, case_id="0" * 32, organization_id=orgs.owner)
            assert cases.get(db=db, case_id=case.id, organization_id=orgs.owner).id == case.id
    finally:
        event.remove(runtime.engine, "before_cursor_execute", capture)
    # the tenant condition is part of the query, not a check made after loading the row
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 3
    assert all("cases.owner_organization_id =" in s.split("WHERE", 1)[1] for s in selects)


def test_update_replaces_adds_and_removes_categories(runtime: Runtime, orgs: Orgs) -> None:
    case = new_case(runtime, orgs.owner)
    with runtime.sessions.begin() as db:
        found = cases.get(db=db, case_id=case.id, organization_id=orgs.owner)
        held = cases.update_data(
            db=db,
            keyring=runtime.keyring,
            policy=runtime.policy,
            actor="user:caseworker",
            case=found,
            data={"contact": None, "psychosocial": {"notes": "weekly sessions"}},
        )
        assert held == ["identity", "psychosocial"]
        with pytest.raises(Unprocessable):
            cases.update_data(
                db=db,
                keyring=runtime.keyring,
                policy=runtime.policy,
                actor="user:caseworker",
                case=found,
                data={"nope": {}},
            )
    with runtime.sessions() as db:
        found = cases.get(db=db, case_id=case.id, organization_id=orgs.owner)
        assert cases.read_data(db=db, keyring=runtime.keyring, case=found) == {
            "identity": {"given_name": "Aïcha", "family_name": "Moussa"},
            "psychosocial": {"notes": "weekly sessions"},
        }


def test_tampered_or_swapped_ciphertexts_fail_clearly(runtime: Runtime, orgs: Orgs) -> None:
    a = new_case(runtime, orgs.owner, "REF-A")
    b = new_case(runtime, orgs.owner, "REF-B")

    def ciphertext(db, case_id: str, category: str) -> bytes:  # type: ignore[no-untyped-def]
        row = db.get(CaseData, (case_id, category))
        return row.ciphertext

    def put(db, case_id: str, category: str, blob: bytes) -> None:  # type: ignore[no-untyped-def]
        db.execute(
            update(CaseData)
            .where(CaseData.case_id == case_id, CaseData.category == category)
            .values(ciphertext=blob)
        )

    def read_fails(case: Case, where: str) -> None:
        with runtime.sessions() as db:
            with pytest.raises(CiphertextInvalid) as info:
                cases.read_data(db=db, keyring=runtime.keyring, case=case)
            assert str(info.value) == f"ciphertext does not authenticate for {where}"

    # one byte altered
    with runtime.sessions.begin() as db:
        original = ciphertext(db, a.id, "identity")
        altered = bytearray(original)
        altered[len(altered) // 2] ^= 0xFF
        put(db, a.id, "identity", bytes(altered))
    read_fails(a, f"case_data/{a.id}/identity")
    # swapped between two fields of one case
    with runtime.sessions.begin() as db:
        put(db, a.id, "identity", ciphertext(db, a.id, "contact"))
    read_fails(a, f"case_data/{a.id}/identity")
    # copied from another case's row
    with runtime.sessions.begin() as db:
        put(db, a.id, "identity", original)
        put(db, a.id, "contact", ciphertext(db, b.id, "contact"))
    read_fails(a, f"case_data/{a.id}/contact")
    # subjects swapped between rows
    with runtime.sessions.begin() as db:
        subject_b = db.get(Case, b.id).subject_ciphertext
        db.execute(update(Case).where(Case.id == a.id).values(subject_ciphertext=subject_b))
    with runtime.sessions() as db:
        found = cases.get(db=db, case_id=a.id, organization_id=orgs.owner)
        with pytest.raises(CiphertextInvalid, match=f"cases/{a.id}/subject"):
            cases.read_subject(db=db, keyring=runtime.keyring, case=found)


def test_the_subject_is_decrypted_once_per_transaction_and_not_kept_after(
    runtime: Runtime, orgs: Orgs
) -> None:
    a, b = new_case(runtime, orgs.owner), new_case(runtime, orgs.other)
    with runtime.sessions() as db:
        found = cases.get(db=db, case_id=a.id, organization_id=orgs.owner)
        first = cases.read_subject(db=db, keyring=runtime.keyring, case=found)
        # the gate and the referral both read it: decrypted once in the transaction
        assert cases.read_subject(db=db, keyring=runtime.keyring, case=found) is first
        db.commit()
        assert SCOPED_INFO not in db.info  # nothing decrypted outlives its transaction
        found = cases.get(db=db, case_id=a.id, organization_id=orgs.owner)
        again = cases.read_subject(db=db, keyring=runtime.keyring, case=found)
        assert again == first and again is not first  # a new transaction decrypts it again
        # a changed ciphertext is decrypted afresh, not answered from what was kept
        other = cases.get(db=db, case_id=b.id, organization_id=orgs.other)
        found.subject_ciphertext = other.subject_ciphertext
        with pytest.raises(CiphertextInvalid):
            cases.read_subject(db=db, keyring=runtime.keyring, case=found)
        db.rollback()
        assert SCOPED_INFO not in db.info


def test_rotation_keeps_case_data_readable_and_moves_the_kek_version(
    runtime: Runtime, orgs: Orgs
) -> None:
    case = new_case(runtime, orgs.owner)
    keyring = runtime.keyring
    assert isinstance(keyring, FileKeyring)
    with runtime.sessions() as db:
        before = db.scalars(select(CaseData.ciphertext).order_by(CaseData.category)).all()
    keyring.add_version()
    with runtime.sessions.begin() as db:
        found = cases.get(db=db, case_id=case.id, organization_id=orgs.owner)
        assert cases.read_data(db=db, keyring=keyring, case=found)["contact"]
        assert rewrap_all(db=db, keyring=keyring) == 1
    with runtime.sessions() as db:
        key_row = db.get(DataKey, cases.owner_for_case(case.id))
        assert key_row is not None and key_row.kek_version == 2
        # data ciphertexts are untouched by a rotation
        after = db.scalars(select(CaseData.ciphertext).order_by(CaseData.category)).all()
        assert after == before
        found = cases.get(db=db, case_id=case.id, organization_id=orgs.owner)
        assert cases.read(db=db, keyring=keyring, case=found).data["identity"]["family_name"]


def test_erase_shreds_the_key_and_makes_the_data_unreadable(runtime: Runtime, orgs: Orgs) -> None:
    case = new_case(runtime, orgs.owner)
    kept = new_case(runtime, orgs.owner, "OTHER-REF")
    with runtime.sessions() as db:
        copies = {r.category: r.ciphertext for r in db.scalars(select(CaseData))}
    with runtime.sessions.begin() as db:
        found = cases.get(db=db, case_id=case.id, organization_id=orgs.owner)
        cases.erase(db=db, actor="user:officer", case=found)
    with runtime.sessions.begin() as db:
        found = cases.get(db=db, case_id=case.id, organization_id=orgs.owner)
        assert found.erased_at is not None and found.subject_ciphertext == b""
        assert db.get(DataKey, cases.owner_for_case(case.id)) is None
        assert db.scalars(select(CaseData).where(CaseData.case_id == case.id)).all() == []
        assert cases.summary(db=db, case=found).erased_at is not None
        for read in (cases.read_data, cases.read_subject, cases.read):
            with pytest.raises(cases.CaseErased) as info:
                read(db=db, keyring=runtime.keyring, case=found)
            assert info.value.status == 410
        with pytest.raises(cases.CaseErased):
            cases.erase(db=db, actor="user:officer", case=found)
        # a copy of the ciphertext kept elsewhere (a backup, a snapshot) no longer opens
        from hub.crypto.service import data_key

        with pytest.raises(DataKeyMissing):
            data_key(db=db, keyring=runtime.keyring, owner=cases.owner_for_case(case.id))
        assert copies  # the copies exist; without the key they are noise
        other = cases.get(db=db, case_id=kept.id, organization_id=orgs.owner)
        assert cases.read_data(db=db, keyring=runtime.keyring, case=other)["identity"]


def test_every_change_is_audited_without_values(runtime: Runtime, orgs: Orgs) -> None:
    case = new_case(runtime, orgs.owner)
    with runtime.sessions.begin() as db:
        found = cases.get(db=db, case_id=case.id, organization_id=orgs.owner)
        cases.update_data(
            db=db,
            keyring=runtime.keyring,
            policy=runtime.policy,
            actor="user:caseworker",
            case=found,
            data={"health": {"condition": "asthma"}},
        )
        cases.erase(db=db, actor="user:officer", case=found)
    with runtime.sessions() as db:
        entries = db.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "case").order_by(AuditEntry.seq)
        ).all()
    assert [(e.action, e.actor, e.object_id) for e in entries] == [
        ("case.created", "user:caseworker", case.id),
        ("case.data_updated", "user:caseworker", case.id),
        ("case.erased", "user:officer", case.id),
    ]
    assert entries[0].details == {
        "owner_organization_id": orgs.owner,
        "categories": ["contact", "identity"],
    }
    assert entries[1].details == {"changed": ["health"], "removed": []}
    assert entries[2].details == {
        "categories": ["contact", "health", "identity"],
        "data_key_shredded": True,
    }
    text = repr([e.details for e in entries])
    for value in ("Aïcha", "Moussa", "asthma", "+227", "2010-03-14", "MRRM"):
        assert value not in text
