"""Consent evidence: sealed files with their SHA-256, type and size limits, immutable."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from hub.api.problems import Problem
from hub.audit.models import AuditEntry
from hub.cases import service as cases
from hub.cases.models import Case
from hub.consent import evidence
from hub.consent import service as consents
from hub.consent.evidence import EVIDENCE_MAX_BYTES, evidence_digest
from hub.consent.models import Consent, ConsentEvidence
from hub.consent.schemas import ConsentRead
from hub.crypto.envelope import CiphertextInvalid
from hub.runtime import Runtime
from tests.consent.conftest import Record, World

SAMPLES = {
    "application/pdf": b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n",
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)),
    "image/png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
    "image/tiff": b"MM\x00*\x00\x00\x00\x08" + bytes(64),
}


@pytest.fixture
def consent(case: Case, record: Record) -> Consent:
    return record(case)


def put(
    runtime: Runtime, consent: Consent, content_type: str | None, content: bytes
) -> tuple[ConsentEvidence, bool]:
    with runtime.sessions.begin() as db:
        return evidence.put_evidence(
            db=db,
            keyring=runtime.keyring,
            actor="client:test",
            consent=consent,
            content_type=content_type,
            content=content,
        )


def fetch(runtime: Runtime, consent: Consent) -> tuple[ConsentEvidence, bytes]:
    with runtime.sessions.begin() as db:
        return evidence.get_evidence(
            db=db, keyring=runtime.keyring, actor="client:test", consent=consent
        )


def refused(
    runtime: Runtime, consent: Consent, content_type: str | None, content: bytes
) -> Problem:
    with pytest.raises(Problem) as caught:
        put(runtime, consent, content_type, content)
    return caught.value


def consents_read(runtime: Runtime, consent: Consent, world: World) -> ConsentRead:
    with runtime.sessions.begin() as db:
        found = consents.get(db=db, consent_id=consent.id, organization_id=world.owner)
        return consents.read(db=db, keyring=runtime.keyring, consents=[found])[0]


@pytest.mark.parametrize("media", sorted(SAMPLES))
def test_round_trip(runtime: Runtime, world: World, consent: Consent, media: str) -> None:
    content = SAMPLES[media]
    row, created = put(runtime, consent, f"{media.upper()}; name=scan", content)
    assert created
    assert (row.content_type, row.size) == (media, len(content))
    # keyed with the case's hash key: no longer the bare SHA-256 anyone could compute
    assert row.sha256 != hashlib.sha256(content).hexdigest() and len(row.sha256) == 64
    with runtime.sessions() as db:
        key = cases.live_key(db=db, keyring=runtime.keyring, case_id=consent.case_id)
        assert key is not None and row.sha256 == evidence_digest(key, content)
    assert content not in row.ciphertext
    stored, plain = fetch(runtime, consent)
    assert plain == content and stored.sha256 == row.sha256
    read = consents_read(runtime, consent, world)
    assert read.evidence is not None
    assert read.evidence.model_dump() == {
        "content_type": media,
        "size": len(content),
        "sha256": row.sha256,
    }
    with runtime.sessions.begin() as db:
        actions = db.scalars(
            select(AuditEntry.action).where(AuditEntry.object_id == consent.id)
        ).all()
    assert actions == ["consent.recorded", "consent.evidence_stored", "consent.evidence_read"]


def test_size_limit(runtime: Runtime, consent: Consent) -> None:
    too_large = b"%PDF-" + bytes(EVIDENCE_MAX_BYTES - 4)
    problem = refused(runtime, consent, "application/pdf", too_large)
    assert (problem.status, problem.code) == (413, "evidence_too_large")
    assert problem.extra["max_bytes"] == EVIDENCE_MAX_BYTES
    at_limit = too_large[:-1]
    row, created = put(runtime, consent, "application/pdf", at_limit)
    assert created and row.size == EVIDENCE_MAX_BYTES


@pytest.mark.parametrize(
    "content_type", [None, "", "text/plain", "application/octet-stream", "image/gif", "pdf"]
)
def test_only_documents_and_images(
    runtime: Runtime, consent: Consent, content_type: str | None
) -> None:
    problem = refused(runtime, consent, content_type, SAMPLES["application/pdf"])
    assert (problem.status, problem.code) == (415, "unsupported_media_type")
    assert problem.extra["allowed"] == ["application/pdf", "image/jpeg", "image/png", "image/tiff"]


@pytest.mark.parametrize(
    ("declared", "content"),
    [
        ("application/pdf", SAMPLES["image/png"]),
        ("image/png", SAMPLES["image/jpeg"]),
        ("image/jpeg", b"<html><script>alert(1)</script>"),
        ("image/tiff", SAMPLES["application/pdf"]),
        ("application/pdf", b""),
    ],
)
def test_content_must_match_the_declared_type(
    runtime: Runtime, consent: Consent, declared: str, content: bytes
) -> None:
    problem = refused(runtime, consent, declared, content)
    assert (problem.status, problem.code) == (422, "evidence_type_mismatch")
    with runtime.sessions.begin() as db:
        assert db.get(ConsentEvidence, consent.id) is None


def test_evidence_is_never_replaced(runtime: Runtime, consent: Consent) -> None:
    first, created = put(runtime, consent, "application/pdf", SAMPLES["application/pdf"])
    assert created
    # the same file again is harmless: nothing new is stored or audited
    same, created_again = put(runtime, consent, "application/pdf", SAMPLES["application/pdf"])
    assert not created_again and same.sha256 == first.sha256
    for media, content in (
        ("application/pdf", SAMPLES["application/pdf"] + b"%"),
        ("image/png", SAMPLES["image/png"]),
    ):
        problem = refused(runtime, consent, media, content)
        assert (problem.status, problem.code) == (409, "evidence_exists")
    _, plain = fetch(runtime, consent)
    assert plain == SAMPLES["application/pdf"]
    with runtime.sessions.begin() as db:
        stored_events = db.scalars(
            select(AuditEntry).where(AuditEntry.action == "consent.evidence_stored")
        ).all()
    assert len(stored_events) == 1


def test_no_evidence_is_404(runtime: Runtime, consent: Consent) -> None:
    with pytest.raises(Problem) as caught:
        fetch(runtime, consent)
    assert (caught.value.status, caught.value.code) == (404, "not_found")


def test_a_ciphertext_moved_to_another_consent_does_not_open(
    runtime: Runtime, case: Case, record: Record, consent: Consent
) -> None:
    put(runtime, consent, "application/pdf", SAMPLES["application/pdf"])
    sibling = record(case)
    with runtime.sessions.begin() as db:
        original = db.get_one(ConsentEvidence, consent.id)
        db.add(
            ConsentEvidence(
                consent_id=sibling.id,
                content_type=original.content_type,
                size=original.size,
                sha256=original.sha256,
                ciphertext=original.ciphertext,
                uploaded_by="client:attacker",
            )
        )
    with pytest.raises(CiphertextInvalid):
        fetch(runtime, sibling)
