"""What each role of a person may do: the same scopes a partner's client holds, so the console
and the API are checked by the same rules."""

from __future__ import annotations

from enum import StrEnum


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

ROLE_SCOPES: dict[Role, tuple[str, ...]] = {
    Role.case_worker: _CASEWORK,
    # officers decide reviews and read what a decision rests on; they do not make requests
    Role.consent_officer: (*_READ, "reviews:decide"),
    Role.admin: ("admin", *_READ),
}

# roles whose people must pass a second factor (TOTP, or a recovery code) to sign in
SECOND_FACTOR_REQUIRED: frozenset[Role] = frozenset({Role.consent_officer, Role.admin})


def scopes_of(role: str) -> tuple[str, ...]:
    """The scopes of a role; an unknown role (an old row, say) holds none."""
    try:
        return ROLE_SCOPES[Role(role)]
    except ValueError:
        return ()
