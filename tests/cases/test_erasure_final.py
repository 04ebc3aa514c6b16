"""Erasure is final: once a case is erased and the scheduled `hub keys retire` has run, no copy
of the hub's storage, taken before or after the erasure, gives back any of the case's data, to
someone who also holds the keyring. On SQLite the files (WAL included) are copied; on
PostgreSQL a pg_dump is taken. The same attempt on the copy taken before the erasure, made
before the retirement, does recover the data: the test looks where the data is."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.audit.models import AuditEntry
from hub.cases.service import owner_for_case
from hub.crypto import service as keys
from hub.crypto.envelope import keyed_digest
from hub.crypto.models import DataKey, ShreddedKey
from hub.disclosures import service as disclosures
from hub.disclosures.models import Disclosure
from hub.referrals.models import Referral
from hub.reviews import service as reviews
from hub.reviews.models import Review
from hub.runtime import Runtime
from hub.settings import Settings
from tests.cli.test_keys import hub_in_process, one_json
from tests.support import at_rest
from tests.support.referral_world import World, make_world
from tests.support.reviews import officer_actor

NAME = "Orsolinde Brakkewitz"
PHONE = "+227 96 41 73 58"
NOTE = "Canary: Orsolinde sleeps at the Agadez bus station"
JUSTIFICATION = "Canary: Orsolinde's lawyer Tamberlane Okove asked for it"
CANARIES = (NAME, PHONE, NOTE, JUSTIFICATION)


def scenario(world: World) -> tuple[str, str]:
    """A case whose data left in a referral (read by the recipient: a disclosure), and a
    second referral held for review and denied with a justification. Returns (case, referral)."""
    case_id = world.case(
        {
            "identity": {"given_name": NAME, "family_name": "Brakkewitz"},
            "contact": {"phone": PHONE},
            "legal_status": {"status": "irregular"},
        }
    )
    world.consent(case_id, categories=["identity", "contact", "legal_status"])
    sent = world.refer(case_id, categories=["contact"], note=NOTE)
    assert sent.status_code == 201, sent.text
    referral_id = sent.json()["id"]
    read = world.get(referral_id, world.recipient)
    assert read.json()["payload"] == {"contact": {"phone": PHONE}}
    held = world.refer(case_id, categories=["identity", "legal_status"])
    assert held.status_code == 202, held.text
    # reviews are decided by a real consent officer of the office
    officer = officer_actor(world.runtime, world.sender.organization_id)
    with world.runtime.sessions.begin() as db:
        review = db.scalars(select(Review).where(Review.object_id == held.json()["id"])).one()
        reviews.decide(
            db=db,
            review=review,
            actor=officer,
            outcome="denied",
            justification=JUSTIFICATION,
        )
    return case_id, referral_id


def recovered(copy: at_rest.StorageCopy, keks: dict[int, bytes], owner: str) -> set[str]:
    keys = at_rest.recover_data_keys(copy, keks, owner)
    texts = at_rest.recover_plaintexts(copy, keys)
    return {c for c in CANARIES if any(c in t for t in texts)}


def erase(world: World, case_id: str) -> None:
    response = world.api.delete(f"/v1/cases/{case_id}", headers=world.sender.headers)
    assert response.status_code == 204, response.text


def test_no_copy_of_the_storage_yields_an_erased_case(
    runtime: Runtime,
    api: TestClient,
    settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    world = make_world(runtime, api)
    case_id, _ = scenario(world)
    owner = owner_for_case(case_id)
    copies = [at_rest.copy_storage(settings, "before the erasure", tmp_path / "before")]
    try:
        # the attack works on a copy taken before, with the keyring as it is before retiring
        keks_before = at_rest.keyring_keks(runtime.keyring)
        assert recovered(copies[0], keks_before, owner) == set(CANARIES)

        erase(world, case_id)
        copies.append(at_rest.copy_storage(settings, "after the erasure", tmp_path / "after"))
        if settings.is_sqlite:
            # the live files hold no trace of the key even before the retirement: the erased
            # pages were zeroed (secure_delete) and the WAL emptied after the commit
            assert recovered(copies[1], keks_before, owner) == set()
        with runtime.sessions() as db:
            [ledger] = db.scalars(select(ShreddedKey).where(ShreddedKey.owner == owner)).all()
            assert ledger.final_at is None

        done = one_json(hub_in_process(settings, "keys", "retire", "--json"))
        assert done["erasures_final"] == 1 and done["erasures_pending"] == 0
        assert done["destroyed_versions"] == [1]
        copies.append(at_rest.copy_storage(settings, "after retiring", tmp_path / "retired"))

        keks = at_rest.keyring_keks(runtime.keyring)
        assert list(keks) == [done["kek_version"]]
        for copy in copies:
            assert recovered(copy, keks, owner) == set(), copy.where
            at_rest.assert_absent(copy.raw, copy.where, CANARIES)
        # the live hub still opens everything else (the recipient and sender orgs' clients)
        assert api.get("/v1/organizations", headers=world.sender.headers).status_code == 200
        other = world.case()
        assert api.get(f"/v1/cases/{other}", headers=world.sender.headers).status_code == 200
        at_rest.assert_absent(at_rest.records_text(caplog), "the logs", CANARIES)
    finally:
        for copy in copies:
            at_rest.drop_copy(copy)


def candidates() -> list[str]:
    """Phone numbers of the same shape, the real one among them (a 4-digit search space here;
    the real attack walked all 8 digits in seconds)."""
    return [f"+227 96 41 {n // 100:02d} {n % 100:02d}" for n in range(10_000)]


def test_the_hash_of_a_short_phone_number_cannot_be_brute_forced(
    runtime: Runtime, api: TestClient, settings: Settings
) -> None:
    world = make_world(runtime, api)
    case_id, referral_id = scenario(world)
    with runtime.sessions() as db:
        [disclosure] = db.scalars(select(Disclosure).where(Disclosure.case_id == case_id)).all()
        entry = db.scalars(select(AuditEntry).where(AuditEntry.seq == disclosure.audit_seq)).one()
        snapshot = db.get_one(Referral, referral_id).snapshot_sha256
        # while the case lives, its owner can check a payload against the log
        assert disclosure.payload_sha256 == disclosures.payload_digest(
            db=db,
            keyring=runtime.keyring,
            case_id=case_id,
            payload={"contact": {"phone": PHONE}},
        )
    stored = {disclosure.payload_sha256, entry.details["payload_sha256"], snapshot}
    assert PHONE in candidates()
    erase(world, case_id)
    hub_in_process(settings, "keys", "retire", "--json")
    # the attacker hashes every candidate payload, bare, and keyed under every data key the
    # keyring still opens: the erased case's is not among them
    with runtime.sessions() as db:
        live = [
            keys.owner_hash_key(db=db, keyring=runtime.keyring, owner=o)
            for o in db.scalars(select(DataKey.owner))
        ]
    for phone in candidates():
        plain = disclosures.canonical({"contact": {"phone": phone}})
        bare = hashlib.sha256(plain)
        tries = {bare.hexdigest()}
        tries |= {keyed_digest(k, bare.digest()) for k in live if k}
        tries |= {keyed_digest(k, plain) for k in live if k}
        assert not tries & stored, f"{phone} matched a stored digest"
