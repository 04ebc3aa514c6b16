"""Consent evidence: the scanned form of one consent version, sealed with the case's key.

Evidence is part of an immutable record: once stored it is never replaced (sending the very
same file again is harmless and answered as such). Its digest (`sha256`, the name the API
keeps) is keyed: HMAC-SHA256 of the file under the case's hash key, derived from its data key.
While the case lives, a copy of the file can be checked against it (`evidence_digest`); once
the case is erased, the digest no longer tells which file it was, not even to someone who has
the file.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.api.problems import Conflict, NotFound, Problem, Unprocessable
from hub.audit.service import record as audit
from hub.cases.models import Case
from hub.consent.models import Consent, ConsentEvidence
from hub.consent.sealing import case_key, open_file, seal_file
from hub.crypto.envelope import hash_key, keyed_digest
from hub.crypto.keyring import KeyEncryptionKeys

EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
# each allowed type and the leading bytes its files start with
EVIDENCE_TYPES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    # little- and big-endian TIFF, and BigTIFF
    "image/tiff": (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"),
}


class EvidenceTooLarge(Problem):
    def __init__(self) -> None:
        super().__init__(
            413,
            "evidence_too_large",
            "The evidence file is too large",
            max_bytes=EVIDENCE_MAX_BYTES,
        )


class UnsupportedMediaType(Problem):
    def __init__(self) -> None:
        super().__init__(
            415,
            "unsupported_media_type",
            "Evidence must be a PDF, JPEG, PNG or TIFF file",
            allowed=sorted(EVIDENCE_TYPES),
        )


def media_type(content_type: str | None) -> str:
    """The declared type without parameters, if it is one evidence may have; else 415."""
    declared = (content_type or "").split(";", 1)[0].strip().lower()
    if declared not in EVIDENCE_TYPES:
        raise UnsupportedMediaType()
    return declared


def check_size(size: int) -> None:
    if size > EVIDENCE_MAX_BYTES:
        raise EvidenceTooLarge()


def _check_content(declared: str, content: bytes) -> None:
    if not content.startswith(EVIDENCE_TYPES[declared]):
        raise Unprocessable(
            "evidence_type_mismatch",
            "The file's content is not of its declared type",
            f"the content does not start like a {declared} file",
        )


def check(content_type: str | None, content: bytes) -> str:
    """The upload's media type, if the file may be evidence: one of the allowed types (415),
    not too large (413), and starting like a file of its type (422). Every upload, API or
    console, is held to this before anything is stored."""
    declared = media_type(content_type)
    check_size(len(content))
    _check_content(declared, content)
    return declared


def evidence_digest(key: bytes, content: bytes) -> str:
    """The keyed digest of an evidence file, under the case's data `key`."""
    return keyed_digest(hash_key(key), content)


def _metadata(row: ConsentEvidence) -> dict[str, object]:
    return {"content_type": row.content_type, "size": row.size, "sha256": row.sha256}


def put_evidence(
    *,
    db: Session,
    keyring: KeyEncryptionKeys,
    actor: str,
    consent: Consent,
    content_type: str | None,
    content: bytes,
) -> tuple[ConsentEvidence, bool]:
    """Store the consent's evidence; returns it and whether it was stored just now.

    The same file sent again returns the stored one (False); a different one is 409.
    """
    declared = check(content_type, content)
    case = db.get_one(Case, consent.case_id)
    key = case_key(db=db, keyring=keyring, case=case)
    digest = evidence_digest(key, content)
    existing = db.get(ConsentEvidence, consent.id)
    if existing is not None:
        if (existing.sha256, existing.content_type) == (digest, declared):
            return existing, False
        raise Conflict(
            "evidence_exists",
            "The consent already has its evidence",
            "Evidence is part of an immutable record: record a new version to change it.",
        )
    row = ConsentEvidence(
        consent_id=consent.id,
        content_type=declared,
        size=len(content),
        sha256=digest,
        ciphertext=seal_file(key, consent.id, content),
        uploaded_by=actor,
    )
    try:
        # two uploads racing meet the primary key here: the loser is told evidence exists
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:
        raise Conflict("evidence_exists", "The consent already has its evidence") from None
    audit(
        db,
        actor=actor,
        action="consent.evidence_stored",
        object_type="consent",
        object_id=consent.id,
        details={"case_id": consent.case_id, **_metadata(row)},
    )
    return row, True


def get_evidence(
    *, db: Session, keyring: KeyEncryptionKeys, actor: str, consent: Consent
) -> tuple[ConsentEvidence, bytes]:
    """The evidence and its decrypted bytes; 404 if none, 410 once the case is erased.

    Reading a scanned form (names, a signature) is audited like a write.
    """
    row = db.scalar(select(ConsentEvidence).where(ConsentEvidence.consent_id == consent.id))
    if row is None:
        raise NotFound("evidence")
    case = db.get_one(Case, consent.case_id)
    key = case_key(db=db, keyring=keyring, case=case)
    content = open_file(key, consent.id, row.ciphertext)
    audit(
        db,
        actor=actor,
        action="consent.evidence_read",
        object_type="consent",
        object_id=consent.id,
        details={"case_id": consent.case_id, "sha256": row.sha256},
    )
    return row, content
