from __future__ import annotations

import pytest

from hub.auth import scopes


def test_parse_keeps_order_and_drops_duplicates() -> None:
    assert scopes.parse(" cases:read  admin cases:read ") == ("cases:read", "admin")
    assert scopes.parse(["cases:read admin", "admin"]) == ("cases:read", "admin")
    assert scopes.parse(None) == ()


def test_the_contract_scopes_are_known() -> None:
    contract = (
        "cases:read cases:write consents:read consents:write referrals:read referrals:write "
        "transfers:read transfers:write reviews:decide admin system/*.read "
        "system/ServiceRequest.read system/Task.write"
    )
    for name in contract.split(" "):
        assert name in scopes.KNOWN_SCOPES


def test_validate_names_the_unknown() -> None:
    with pytest.raises(scopes.UnknownScope) as refused:
        scopes.validate("cases:read cases:delete openid")
    assert refused.value.names == ["cases:delete", "openid"]


def test_satisfies() -> None:
    assert scopes.satisfies(["system/*.write"], "system/Task.write")
    assert not scopes.satisfies(["system/*.write"], "system/Task.read")
    assert not scopes.satisfies(["system/Task.read"], "system/*.read")
    assert not scopes.satisfies(["admin"], "cases:read")
    assert scopes.satisfies(["cases:read"], "cases:read")


def test_smart_v2_scopes_are_valid_and_v1_names_still_are() -> None:
    assert scopes.validate("system/Task.rs system/ServiceRequest.c system/*.cruds") == (
        "system/Task.rs",
        "system/ServiceRequest.c",
        "system/*.cruds",
    )
    assert scopes.validate("system/HealthcareService.read") == ("system/HealthcareService.read",)
    # letters out of the canonical order, twice, unknown, or an unknown resource
    for name in ("system/Task.sr", "system/Task.rr", "system/Task.x", "system/Account.rs"):
        with pytest.raises(scopes.UnknownScope):
            scopes.validate(name)


def test_v1_and_v2_cover_each_other() -> None:
    assert scopes.satisfies(["system/Task.read"], "system/Task.r")
    assert scopes.satisfies(["system/Task.read"], "system/Task.s")
    assert not scopes.satisfies(["system/Task.read"], "system/Task.u")
    assert scopes.satisfies(["system/Task.rs", "system/Task.cud"], "system/Task.write")
    assert scopes.satisfies(["system/*.cruds"], "system/Patient.r")
    assert not scopes.satisfies(["system/Task.cruds"], "system/Patient.r")
    assert not scopes.satisfies(["system/Task.rs"], "system/Task.read system/Task.c")
    assert scopes.within("system/Task.rs system/Patient.r", ["system/Task.cruds"]) == (
        "system/Task.rs",
    )
