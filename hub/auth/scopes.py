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

# the resources the FHIR R4 facade serves; `*` stands for all of them
FHIR_RESOURCES = (
    "*",
    "Consent",
    "HealthcareService",
    "Organization",
    "Patient",
    "ServiceRequest",
    "Task",
)
# SMART v1 accesses, and the SMART v2 permissions each stands for: c(reate) r(ead) u(pdate)
# d(elete) s(earch), always written in that order (`system/Task.rs`, `system/Task.cruds`)
FHIR_ACCESS = ("read", "write")
V1_PERMISSIONS = {"read": "rs", "write": "cud"}
V2_ORDER = "cruds"

FHIR_SCOPES: dict[str, str] = {
    f"system/{resource}.{access}": (
        f"FHIR: {access} {'all resources' if resource == '*' else resource}"
    )
    for resource in FHIR_RESOURCES
    for access in FHIR_ACCESS
}
# SMART v2 scopes advertised in discovery beside the v1 names; any other v2 permission string
# in the canonical order (`system/Task.cu`) is valid too (`is_known`)
FHIR_V2_SCOPES: dict[str, str] = {
    f"system/{resource}.{permissions}": (
        f"FHIR (SMART v2): {permissions} {'all resources' if resource == '*' else resource}"
    )
    for resource in FHIR_RESOURCES
    for permissions in ("rs", "cruds")
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


def fhir_permissions(name: str) -> tuple[str, frozenset[str]] | None:
    """A SMART system scope as (resource, its permission letters), or None when the name is
    not one: `system/Task.read` → ("Task", {"r", "s"}), `system/*.cud` → ("*", {"c", "u",
    "d"}). v2 letters must be in the canonical order `cruds`, each once."""
    if not name.startswith("system/") or "." not in name:
        return None
    resource, access = name.removeprefix("system/").rsplit(".", 1)
    if resource not in FHIR_RESOURCES:
        return None
    if access in V1_PERMISSIONS:
        return resource, frozenset(V1_PERMISSIONS[access])
    ordered = [V2_ORDER.index(letter) for letter in access if letter in V2_ORDER]
    if not access or len(ordered) != len(access) or ordered != sorted(set(ordered)):
        return None
    return resource, frozenset(access)


def is_known(name: str) -> bool:
    """A scope the hub knows: one of KNOWN_SCOPES, or any SMART v2 system scope."""
    return name in KNOWN_SCOPES or fhir_permissions(name) is not None


def fhir_scope(resource: str, interaction: str) -> str:
    """The v2 scope one FHIR interaction needs: ("Task", "r") → `system/Task.r`."""
    if resource not in FHIR_RESOURCES or resource == "*" or interaction not in V2_ORDER:
        raise ValueError(f"no FHIR scope for {resource}.{interaction}")
    return f"system/{resource}.{interaction}"


def validate(scope: str | Iterable[str] | None) -> tuple[str, ...]:
    """The parsed scope names; raises UnknownScope if any is not a known scope."""
    names = parse(scope)
    unknown = [name for name in names if not is_known(name)]
    if unknown:
        raise UnknownScope(unknown)
    return names


def satisfies(granted: Iterable[str], required: str) -> bool:
    """Whether the granted scopes cover `required`.

    Exact match, plus SMART's system scopes: a required FHIR scope is covered when the
    granted scopes on its resource (or on `*`) hold all its permissions, v1 and v2 alike
    (`system/*.read` covers `system/Task.read` and `system/Task.rs`; `system/Task.cruds`
    covers `system/Task.write`). Nothing else implies anything: `admin` is its own scope, not
    a superset of the others.
    """
    held = set(granted)
    if required in held:
        return True
    wanted = fhir_permissions(required)
    if wanted is None:
        return False
    resource, letters = wanted
    covering: set[str] = set()
    for name in held:
        found = fhir_permissions(name)
        if found is not None and found[0] in (resource, "*"):
            covering |= found[1]
    return letters <= covering


def within(requested: Iterable[str], held: Iterable[str]) -> tuple[str, ...]:
    """Those of the requested scopes that the held ones cover (`satisfies`): a client granted
    `system/Task.cruds` may ask for a token with `system/Task.rs` only, as SMART v2 allows."""
    names = tuple(held)
    return tuple(s for s in parse(requested) if satisfies(names, s))
