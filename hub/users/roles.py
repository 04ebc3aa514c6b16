"""What each role of a person may do: the same scopes a partner's client holds, so the console
and the API are checked by the same rules.

An `admin` at a partner organisation administers that organisation (its people) and reads what
it holds; the hub's cross-tenant `admin` scope is held only by the operator's people, whose
only role is `admin` (the rule is the scopes' own: `hub.auth.scopes.held_by`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from hub.auth.scopes import OPERATOR_KIND, held_by
from hub.policy.rules import Audience

Side = Literal["sender", "recipient"]


class Role(StrEnum):
    case_worker = "case_worker"
    consent_officer = "consent_officer"
    admin = "admin"


_CASEWORK = (
    "cases:read",
    "cases:write",
    "consents:read",
    "consents:write",
    "referrals:read",
    "referrals:write",
    "transfers:read",
    "transfers:write",
)
_READ = ("cases:read", "consents:read", "referrals:read", "transfers:read")

# The referral report (`reports:read`) is counts and times without personal data, small cells
# hidden: it is for those who oversee an office's work, not for case work. Consent officers
# supervise what leaves the office (they decide its held requests) and an organisation's
# administrators answer for it to the coordination groups; case workers follow their own
# referrals on the tracking board. An organisation's administrators also keep its entries in
# the service directory (`services:write`: its own services only); the operator's people edit
# any organisation's through `admin`, and read no report (the operator's is `hub report`).
ROLE_SCOPES: dict[Role, tuple[str, ...]] = {
    Role.case_worker: _CASEWORK,
    # officers decide reviews and read what a decision rests on; they do not make requests
    Role.consent_officer: (*_READ, "reviews:decide", "reports:read"),
    Role.admin: ("admin", *_READ, "services:write", "reports:read"),
}

# roles whose people must pass a second factor (TOTP, or a recovery code) to sign in
SECOND_FACTOR_REQUIRED: frozenset[Role] = frozenset({Role.consent_officer, Role.admin})


def scopes_of(role: str, *, organization_kind: str) -> tuple[str, ...]:
    """The scopes of a role at an organisation of that kind; an unknown role (an old row, say)
    holds none."""
    try:
        scopes = ROLE_SCOPES[Role(role)]
    except ValueError:
        return ()
    return held_by(scopes, organization_kind=organization_kind)


def allowed_at(role: str, *, organization_kind: str) -> bool:
    """Whether a person of that role may belong to an organisation of that kind: the
    operator's people are administrators and nothing else."""
    return organization_kind != OPERATOR_KIND or role == Role.admin


# The policy's audiences (`follow_up.notify`): a side of the request and the role of its people
# told; None is the person who made the request (`Referral.created_by`), whatever their role.
AUDIENCE_ROLES: dict[Audience, tuple[Side, Role | None]] = {
    Audience.sender_case_worker: ("sender", None),
    Audience.sender_case_workers: ("sender", Role.case_worker),
    Audience.sender_consent_officers: ("sender", Role.consent_officer),
    Audience.sender_admins: ("sender", Role.admin),
    Audience.recipient_case_workers: ("recipient", Role.case_worker),
    Audience.recipient_consent_officers: ("recipient", Role.consent_officer),
    Audience.recipient_admins: ("recipient", Role.admin),
}
