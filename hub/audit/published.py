"""The latest signed checkpoint as the hub hands it out, so copies live outside its hands.

Partners receive it with every webhook delivery (`Hub-Audit-Checkpoint`), in the FHIR Bundle's
meta, and from `GET /v1/audit/checkpoint`. Each copy holds what is needed to check its
signature offline with the hub's audit public key, and to run
`hub audit verify --expect SEQ:HASH` later.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit.checkpoints import digest_of
from hub.audit.models import AuditCheckpoint

HEADER = "Hub-Audit-Checkpoint"
# FHIR: the Bundle's meta.tag carries it, in a code system of the hub's own
FHIR_TAG_SYSTEM = "urn:referral-hub:audit-checkpoint"


def latest(*, db: Session) -> AuditCheckpoint | None:
    return db.execute(
        select(AuditCheckpoint)
        .order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.id.desc())
        .limit(1)
    ).scalar()


def header_for(*, db: Session) -> str | None:
    """The header value for what is sent now; None before the first checkpoint."""
    cp = latest(db=db)
    return None if cp is None else header_value(cp)


def checkpoint_doc(cp: AuditCheckpoint) -> dict[str, Any]:
    return {
        "seq": cp.seq,
        "hash": cp.hash,
        "at": cp.at.isoformat(timespec="microseconds"),
        "key_id": cp.key_id,
        "prev_digest": cp.prev_digest,
        "digest": digest_of(cp),
        "signature": cp.signature,
        "expect": f"{cp.seq}:{cp.hash}",
    }


def header_value(cp: AuditCheckpoint) -> str:
    """`seq=..; hash=..; at=..; key_id=..; prev=..; sig=..`: split on "; ", then on the first
    "=" (the signature is standard base64 and may end in "=")."""
    parts = {
        "seq": str(cp.seq),
        "hash": cp.hash,
        "at": cp.at.isoformat(timespec="microseconds"),
        "key_id": cp.key_id,
        "prev": cp.prev_digest or "",
        "sig": cp.signature,
    }
    return "; ".join(f"{k}={v}" for k, v in parts.items())


def parse_header(value: str) -> dict[str, str]:
    """The partner's side: the header's parts by name."""
    return dict(part.split("=", 1) for part in value.split("; ") if "=" in part)
