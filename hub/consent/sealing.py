"""What of a consent is personal data, and how it is sealed: with the case's data key.

The caregiver (name, relationship), the withdrawal reason and the evidence file are encrypted
under the key of the case they belong to (`hub.cases.service.owner_for_case`), each bound to
its table, row and field. Erasing the case shreds that key, and with it all of these.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.cases.models import Case
from hub.cases.service import CaseErased, owner_for_case
from hub.consent.models import Consent, ConsentWithdrawal
from hub.consent.schemas import Caregiver
from hub.crypto import service as keys
from hub.crypto.envelope import decrypt, decrypt_json, encrypt, encrypt_json
from hub.crypto.keyring import KeyEncryptionKeys

CONSENTS = "consents"
WITHDRAWALS = "consent_withdrawals"
EVIDENCE = "consent_evidence"
CAREGIVER_FIELD = "caregiver"
REASON_FIELD = "reason"
FILE_FIELD = "file"


def case_key(*, db: Session, keyring: KeyEncryptionKeys, case: Case) -> bytes:
    """The case's data key; 410 `case_erased` once the case is erased (its key shredded)."""
    if case.erased_at is not None:
        raise CaseErased()
    try:
        return keys.data_key(db=db, keyring=keyring, owner=owner_for_case(case.id))
    except keys.DataKeyMissing:
        raise CaseErased() from None


def key_if_any(*, db: Session, keyring: KeyEncryptionKeys, case: Case) -> bytes | None:
    """The case's data key, or None once it is erased: for reads that show what remains."""
    try:
        return case_key(db=db, keyring=keyring, case=case)
    except CaseErased:
        return None


def seal_caregiver(key: bytes, consent_id: str, caregiver: Caregiver) -> bytes:
    return encrypt_json(
        key, caregiver.model_dump(), table=CONSENTS, row=consent_id, field=CAREGIVER_FIELD
    )


def open_caregiver(key: bytes | None, consent: Consent) -> Caregiver | None:
    if key is None or consent.caregiver_ciphertext is None:
        return None
    value = decrypt_json(
        key, consent.caregiver_ciphertext, table=CONSENTS, row=consent.id, field=CAREGIVER_FIELD
    )
    return Caregiver.model_validate(value)


def seal_reason(key: bytes, series_id: str, reason: str) -> bytes:
    # a withdrawal belongs to the series (one per series), so the series is its row
    return encrypt(
        key, reason.encode("utf-8"), table=WITHDRAWALS, row=series_id, field=REASON_FIELD
    )


def open_reason(key: bytes | None, withdrawal: ConsentWithdrawal) -> str | None:
    if key is None or withdrawal.reason_ciphertext is None:
        return None
    plain = decrypt(
        key,
        withdrawal.reason_ciphertext,
        table=WITHDRAWALS,
        row=withdrawal.series_id,
        field=REASON_FIELD,
    )
    return plain.decode("utf-8")


def seal_file(key: bytes, consent_id: str, content: bytes) -> bytes:
    return encrypt(key, content, table=EVIDENCE, row=consent_id, field=FILE_FIELD)


def open_file(key: bytes, consent_id: str, ciphertext: bytes) -> bytes:
    return decrypt(key, ciphertext, table=EVIDENCE, row=consent_id, field=FILE_FIELD)
