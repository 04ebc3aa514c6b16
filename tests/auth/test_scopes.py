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
