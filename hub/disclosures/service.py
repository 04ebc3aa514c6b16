"""The accounting of disclosures: one row, and one audit entry, each time personal data leaves.

Whoever releases data (a recipient reading its inbox, a connector pushing a referral, a transfer
handing a case over) has asked the consent gate first, and then calls `record` in the same
transaction as the release. The row keeps the audit entry's sequence number, so the accounting
printed for a beneficiary can be checked against the hash chain.

`payload_sha256` (the name is the v1 contract's) is keyed: HMAC-SHA256, under the case's hash
key (derived from its data key), of the SHA-256 of the canonical payload. Once the case is
erased nobody can tell which payload it was by hashing candidates, here or in the audit chain
that keeps it forever; while the case lives, `payload_digest` recomputes it for a check.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, bindparam, select
from sqlalchemy.orm import Session

from hub.api import pagination
from hub.audit.service import record_now
from hub.cases.models import Case
from hub.cases.service import owner_for_case
from hub.clock import utcnow
from hub.consent import data_life
from hub.crypto import service as keys
from hub.crypto.canonical import canonical
from hub.crypto.envelope import hash_key, keyed_digest
from hub.crypto.keyring import KeyEncryptionKeys
from hub.db.base import new_id
from hub.disclosures import erasure
from hub.disclosures.models import Disclosure
from hub.disclosures.schemas import DisclosureRead
from hub.policy.legal_bases import CONSENT

CHANNEL_INBOX = "inbox"
CHANNELS = frozenset({CHANNEL_INBOX, "webhook", "fhir", "transfer"})


def payload_sha256(payload: Mapping[str, Any]) -> str:
    """The payload's plain SHA-256, for `record` to key: never stored as it is (a short
    value such as a phone number would be found again by hashing candidates)."""
    return hashlib.sha256(canonical(payload)).hexdigest()


def _keyed(db: Session, keyring: KeyEncryptionKeys, case_id: str, plain_sha256: str) -> str:
    key = keys.owner_hash_key(db=db, keyring=keyring, owner=owner_for_case(case_id))
    if key is None:
        # the case was erased while its data travelled: a digest nobody can ever check
        # (under a key thrown away at once) rather than one anybody could reverse
        key = hash_key(os.urandom(32))
    return keyed_digest(key, bytes.fromhex(plain_sha256))


def payload_digest(
    *, db: Session, keyring: KeyEncryptionKeys, case_id: str, payload: Mapping[str, Any]
) -> str:
    """What the log keeps as `payload_sha256` for this payload of this case (while it lives)."""
    return _keyed(db, keyring, case_id, payload_sha256(payload))


# PostgreSQL's FOR KEY SHARE (SQLite has no row locks: its writers take turns)
_CASE_KEY_SHARE = (
    select(Case.id)
    .where(Case.id == bindparam("case_id", type_=String(32)))
    .with_for_update(read=True, key_share=True)
)


def record(
    *,
    db: Session,
    actor: str,
    case_id: str,
    recipient_organization_id: str,
    categories: Sequence[str],
    consent_ids: Sequence[str],
    decision_id: str | None,
    channel: str,
    payload_sha256: str,
    referral_id: str | None = None,
    transfer_id: str | None = None,
    keyring: KeyEncryptionKeys | None = None,
    erase_by: datetime | None = None,
    legal_basis: str = CONSENT,
) -> Disclosure:
    """Account for data that is leaving now, in the caller's transaction.

    `erase_by` is the date the recipient was told (a push computes it when it builds the
    package); without one it is computed here from the consents (`hub.consent.data_life`). A
    transfer's handover has none: the recipient becomes the case's owner.

    `payload_sha256` is the plain digest `payload_sha256()` gives; what is stored (and
    chained in the audit log) is that digest keyed with the case's hash key. The keyring is
    the session's (`hub.crypto.service.bound_keyring`) unless given.
    """
    if channel not in CHANNELS:
        raise ValueError(f"unknown disclosure channel {channel!r}")
    if (referral_id is None) == (transfer_id is None):
        raise ValueError("a disclosure belongs to exactly one referral or one transfer")
    disclosure_id = new_id()
    keyed = _keyed(db, keyring or keys.bound_keyring(db), case_id, payload_sha256)
    if erase_by is None and referral_id is not None and legal_basis == CONSENT:
        erase_by = data_life.erase_by(db=db, consent_ids=consent_ids, at=utcnow())
    details: dict[str, Any] = {
        "case_id": case_id,
        "recipient_organization_id": recipient_organization_id,
        "categories": sorted(categories),
        "consent_ids": sorted(consent_ids),
        "decision_id": decision_id,
        "channel": channel,
        "payload_sha256": keyed,
        "referral_id": referral_id,
        "transfer_id": transfer_id,
    }
    if legal_basis != CONSENT:
        details["legal_basis"] = legal_basis
    if erase_by is not None:
        details["erase_by"] = erase_by.isoformat()
    # The disclosure's row names the case: its foreign-key check takes the case's KEY SHARE
    # lock. Taken here, before the audit chain's head, as every other writer takes its rows'
    # locks before the head (a new referral holds its case, then appends at its commit);
    # taken after it, the two waited for each other (a deadlock, seen under load between a
    # worker's push and a referral of the same case).
    if db.get_bind().dialect.name == "postgresql":
        db.execute(_CASE_KEY_SHARE, {"case_id": case_id})
    entry = record_now(
        db,
        actor=actor,
        action="disclosure",
        object_type="disclosure",
        object_id=disclosure_id,
        details=details,
    )
    disclosure = Disclosure(
        id=disclosure_id,
        case_id=case_id,
        recipient_organization_id=recipient_organization_id,
        categories=details["categories"],
        consent_ids=details["consent_ids"],
        referral_id=referral_id,
        transfer_id=transfer_id,
        decision_id=decision_id,
        channel=channel,
        payload_sha256=keyed,
        audit_seq=entry.seq,
        at=entry.at,
        erase_by=erase_by,
        legal_basis=legal_basis,
    )
    db.add(disclosure)
    return disclosure


def for_referral(*, db: Session, referral_id: str) -> list[Disclosure]:
    """What a referral's recipient has received so far (oldest first)."""
    query = (
        select(Disclosure)
        .where(Disclosure.referral_id == referral_id)
        .order_by(Disclosure.at, Disclosure.id)
    )
    return list(db.scalars(query))


def _read(row: Disclosure) -> DisclosureRead:
    return DisclosureRead(
        id=row.id,
        at=row.at,
        recipient_organization_id=row.recipient_organization_id,
        categories=list(row.categories),
        consent_ids=list(row.consent_ids),
        referral_id=row.referral_id,
        transfer_id=row.transfer_id,
        decision_id=row.decision_id,
        channel=row.channel,
        payload_sha256=row.payload_sha256,
        audit_seq=row.audit_seq,
        erase_by=row.erase_by,
        erase_overdue=erasure.is_overdue(row, utcnow()),
        erasure_confirmed_at=row.erasure_confirmed_at,
        erasure_confirmed_by=row.erasure_confirmed_by,
        legal_basis=row.legal_basis,
    )


def get_page(
    *, db: Session, case: Case, cursor: str | None, limit: int
) -> tuple[list[DisclosureRead], str | None]:
    """The case's disclosures, newest first. Resolve the case for its owner first
    (`hub.cases.service.get`): that is the access check."""
    query = pagination.page(
        select(Disclosure).where(Disclosure.case_id == case.id),
        time_column=Disclosure.at,
        id_column=Disclosure.id,
        cursor=cursor,
        limit=limit,
    )
    rows = list(db.scalars(query))
    cursor_next = pagination.next_cursor(rows, limit, time_attr="at")
    return [_read(row) for row in rows[:limit]], cursor_next
