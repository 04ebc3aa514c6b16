"""Sealing the justifications written before they were sealed.

Since migration 0009 an officer's justification is sealed with the case's data key, so erasing
the case erases it. Rows decided before then still hold it in the clear `justification`
column; the migration could not seal them (it holds no keyring). `seal_clear_justifications`
does, once: `hub db upgrade` runs it after migrating, `hub serve` when it starts, and
`hub reviews seal-justifications` on its own. It is idempotent: a second run finds nothing.

A clear justification of a case already erased cannot be sealed (its key is gone) and names a
person nobody may read about any more: it is dropped. The run is audited as counts, never the
text, and on SQLite the WAL is emptied once it commits (the clear text's old page images lie
there; `secure_delete` zeroes the freed space in the database file).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit.service import record
from hub.cases import service as cases
from hub.crypto.keyring import KeyEncryptionKeys
from hub.db.session import purge_after_commit
from hub.reviews.models import Review
from hub.reviews.service import seal_justification

ACTION = "review.justifications_sealed"


@dataclass(frozen=True)
class Sealed:
    sealed: int  # now sealed with their case's data key
    dropped: int  # their case erased (or already sealed beside a clear copy): clear text gone


def seal_clear_justifications(*, db: Session, keyring: KeyEncryptionKeys, actor: str) -> Sealed:
    """Seal every justification still in the clear (see the module); returns the counts."""
    clear = db.scalars(
        select(Review)
        .where(Review.justification.is_not(None))
        .order_by(Review.case_id, Review.id)
        .with_for_update()
    ).all()
    keys: dict[str, bytes | None] = {}
    sealed = dropped = 0
    for review in clear:
        if review.case_id not in keys:
            keys[review.case_id] = cases.live_key(db=db, keyring=keyring, case_id=review.case_id)
        key = keys[review.case_id]
        text = review.justification
        if key is not None and review.justification_ciphertext is None and text is not None:
            seal_justification(key, review, text)
            sealed += 1
        else:
            review.justification = None
            dropped += 1
    if clear:
        purge_after_commit(db)
        record(
            db,
            actor=actor,
            action=ACTION,
            object_type="review",
            details={"sealed": sealed, "dropped": dropped},
        )
    return Sealed(sealed=sealed, dropped=dropped)
