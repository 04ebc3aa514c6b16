"""Invoking a legal basis: who may, and with what.

A request that names a basis other than consent (`legal_basis` on a referral or a case
transfer) is checked here
before the gate is asked: the basis must be one the policy lists (422 `unknown_value`), the
requester a person (403 `person_required`: a partner's system sends On-Behalf-Of) of a role the
basis names (403 `legal_basis_not_allowed`), enabled, of the organisation making the request,
with a written justification (422 `basis_justification_required`). The justification is sealed
with the case's data key: it speaks of the person.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.api import vocabulary
from hub.api.problems import Problem, Unprocessable
from hub.auth.tokens import person_of
from hub.crypto.envelope import decrypt, encrypt
from hub.policy.legal_bases import CONSENT, LegalBasisRule
from hub.policy.loader import Policy
from hub.users.models import User

JUSTIFICATION_FIELD = "basis_justification"


class PersonRequired(Problem):
    def __init__(self) -> None:
        super().__init__(
            403,
            "person_required",
            "Invoking a legal basis is a person's act",
            "Make the request in the console, or send On-Behalf-Of: <user id> with the client's "
            "token.",
        )


class NotAllowed(Problem):
    def __init__(self, roles: tuple[str, ...]) -> None:
        super().__init__(
            403,
            "legal_basis_not_allowed",
            "This legal basis cannot be invoked by this person",
            f"Only these roles may invoke it: {', '.join(roles)}.",
            roles=list(roles),
        )


def rests_on_consent(legal_basis: str | None) -> bool:
    return legal_basis is None or legal_basis == CONSENT


def check(
    *,
    db: Session,
    policy: Policy,
    legal_basis: str,
    justification: str | None,
    actor: str,
    organization_id: str,
) -> LegalBasisRule:
    """The basis's rule, once the request may invoke it (see the module)."""
    allowed = list(policy.legal_bases)
    vocabulary.check_values(
        field="legal_basis", vocabulary="legal_bases", allowed=allowed, values=legal_basis
    )
    rule = policy.legal_bases[legal_basis]
    person = person_of(actor)
    if person is None:
        raise PersonRequired()
    user = db.get(User, person)
    if (
        user is None
        or user.disabled_at is not None
        or user.organization_id != organization_id
        or user.role not in rule.invoked_by
    ):
        raise NotAllowed(rule.invoked_by)
    if not (justification or "").strip():
        raise Unprocessable(
            "basis_justification_required",
            "A justification is required",
            "Say why the legal basis applies: the consent officers decide on it.",
            field="basis_justification",
        )
    return rule


def basis_of(
    *,
    db: Session,
    policy: Policy,
    legal_basis: str | None,
    justification: str | None,
    actor: str,
    organization_id: str,
) -> str:
    """What a request rests on: consent (none named), or the basis it names once the requester
    may invoke it (`check`: 403 and 422 otherwise)."""
    if rests_on_consent(legal_basis):
        return CONSENT
    assert legal_basis is not None
    check(
        db=db,
        policy=policy,
        legal_basis=legal_basis,
        justification=justification,
        actor=actor,
        organization_id=organization_id,
    )
    return legal_basis


def seal(key: bytes, *, table: str, row: str, justification: str) -> bytes:
    return encrypt(
        key, justification.strip().encode("utf-8"), table=table, row=row, field=JUSTIFICATION_FIELD
    )


def unseal(key: bytes | None, sealed: bytes | None, *, table: str, row: str) -> str | None:
    """The justification while the case's key lives (None once erased, or none given)."""
    if key is None or sealed is None:
        return None
    return decrypt(key, sealed, table=table, row=row, field=JUSTIFICATION_FIELD).decode("utf-8")
