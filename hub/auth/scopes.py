"""The scopes a client may hold: the hub's own API scopes and SMART/FHIR system scopes.

OAuth writes a scope as a space-separated string; inside the hub it is a tuple of names.

`admin` spans every organisation, so it belongs to the hub's operator alone: the one
organisation of kind `hub_operator` (made with `hub orgs add --operator`), which takes no part
in the flow of personal data. Its clients and people hold `admin` and nothing else; a partner
organisation's never hold `admin`, whatever was written on the client's row before this rule.
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.policy.loader import OPERATOR_KIND

API_SCOPES: dict[str, str] = {
    "cases:read": "Read the organisation's own cases and their disclosures",
    "cases:write": "Create and update the organisation's own cases",
    "consents:read": "Read consent records of the organisation's cases",
    "consents:write": "Record and withdraw consent",
    "referrals:read": "Read referrals sent or received",
    "referrals:write": "Make referrals and move them through their lifecycle",
    "transfers:read": "Read case transfers",
    "transfers:write": "Propose, accept, reject and cancel case transfers",
    "reviews:decide": "Approve or deny requests held for review (consent officers)",
    "services:write": "Add, update and remove the organisation's own services in the directory",
    "reports:read": "Read reports of referrals without personal data (small cells hidden)",
    "admin": "Administer organisations, agreements and clients",
}

# the resources the FHIR R4 facade serves; `*` stands for all of them (SMART v1 syntax)
FHIR_RESOURCES = ("*", "Consent", "Organization", "Patient", "ServiceRequest", "Task")
FHIR_ACCESS = ("read", "write")

FHIR_SCOPES: dict[str, str] = {
    f"system/{resource}.{access}": (
        f"FHIR: {access} {'all resources' if resource == '*' else resource}"
    )
    for resource in FHIR_RESOURCES
    for access in FHIR_ACCESS
}

KNOWN_SCOPES: dict[str, str] = {**API_SCOPES, **FHIR_SCOPES}

ADMIN = "admin"


def held_by(scopes: Iterable[str], *, organization_kind: str) -> tuple[str, ...]:
    """The scopes an organisation of that kind may hold, of those given."""
    operator = organization_kind == OPERATOR_KIND
    return tuple(s for s in scopes if (s == ADMIN) == operator)


def refused_for(scopes: Iterable[str], *, organization_kind: str) -> tuple[str, ...]:
    """Those of the scopes an organisation of that kind may not hold."""
    held = set(held_by(scopes, organization_kind=organization_kind))
    return tuple(s for s in scopes if s not in held)


class UnknownScope(ValueError):
    """A scope name the hub does not know; `names` lists them (scope names are not secret)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__("unknown scope: " + " ".join(names))
        self.names = names


def parse(scope: str | Iterable[str] | None) -> tuple[str, ...]:
    """Scope names in order, without duplicates, from a string or a list of names."""
    if scope is None:
        return ()
    items = scope.split() if isinstance(scope, str) else [s for part in scope for s in part.split()]
    return tuple(dict.fromkeys(items))


def to_string(scopes: Iterable[str]) -> str:
    return " ".join(dict.fromkeys(scopes))


def validate(scope: str | Iterable[str] | None) -> tuple[str, ...]:
    """The parsed scope names; raises UnknownScope if any is not a known scope."""
    names = parse(scope)
    unknown = [name for name in names if name not in KNOWN_SCOPES]
    if unknown:
        raise UnknownScope(unknown)
    return names


def satisfies(granted: Iterable[str], required: str) -> bool:
    """Whether the granted scopes cover `required`.

    Exact match, plus the SMART wildcard: `system/*.read` covers `system/Task.read`. Nothing
    else implies anything: `admin` is its own scope, not a superset of the others.
    """
    held = set(granted)
    if required in held:
        return True
    if required.startswith("system/") and "." in required:
        access = required.rsplit(".", 1)[1]
        return f"system/*.{access}" in held
    return False
