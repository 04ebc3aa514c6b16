"""Destination rules for connectors: which addresses and URLs are refused, and why."""

from __future__ import annotations

import pytest

from hub.connectors.addresses import (
    UnsafeDestination,
    check_address,
    check_url,
    host_allowed,
    resolve_checked,
)

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:4700::1"


def answers(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    """A resolver from a table: DNS itself cannot be faked in a test, so it is injected."""
    calls: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append((host, port))
        if host not in table:
            raise OSError("unknown host")
        return list(table[host])

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


@pytest.mark.parametrize(
    "ip",
    [
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.1",
        "127.0.0.1",
        "127.8.8.8",
        "::1",
        "fe80::1",
        "fe80::1%eth0",
        "169.254.169.254",
        "169.254.170.2",
        "fd00:ec2::254",
        "100.100.100.200",
        "100.64.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:127.0.0.1",
        "2002:a00:1::",  # 6to4 around 10.0.0.1
        "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
        "::a00:1",  # IPv4-compatible (deprecated)
        "0.0.0.0",
        "::",
        "224.0.0.1",  # multicast: Python 3.11 calls it global
        "ff02::1",
        "fec0::1",  # site-local: Python 3.11 calls it global
        "fc00::1",
        "198.18.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "not-an-ip",
        "",
    ],
)
def test_non_public_addresses_are_refused(ip: str) -> None:
    assert check_address(ip) is False


@pytest.mark.parametrize(
    "ip", [PUBLIC_V4, PUBLIC_V6, "8.8.8.8", "::ffff:93.184.215.14", "64:ff9b::5db8:d70e"]
)
def test_public_addresses_are_allowed(ip: str) -> None:
    assert check_address(ip) is True


@pytest.mark.parametrize(
    ("host", "listed", "expected"),
    [
        ("Partner.Example", ["partner.example"], True),
        ("partner.example.", ["PARTNER.example"], True),
        ("partner.example", ["partner.example."], True),
        ("[::1]", ["::1"], True),
        ("::1", ["[0:0::1]"], True),
        ("127.0.0.1", ["127.0.0.1"], True),
        ("api.partner.example", ["partner.example"], False),
        ("partner.example", ["api.partner.example"], False),
        ("partner.example", [], False),
        ("127.0.0.1", ["localhost"], False),
        ("", [""], False),
    ],
)
def test_host_allowed_is_an_exact_match(host: str, listed: list[str], expected: bool) -> None:
    assert host_allowed(host, listed) is expected


def refusal(url: str, **kwargs) -> str:  # type: ignore[no-untyped-def]
    kwargs.setdefault("require_https", True)
    kwargs.setdefault("allowed_hosts", [])
    with pytest.raises(UnsafeDestination) as caught:
        check_url(url, **kwargs)
    return caught.value.code


def test_http_is_refused_when_https_is_required() -> None:
    resolve = answers({"partner.example": [PUBLIC_V4]})
    assert refusal("http://partner.example/hook", resolve=resolve) == "https_required"
    check_url("http://partner.example/hook", require_https=False, allowed_hosts=[], resolve=resolve)


def test_https_to_a_public_address_is_accepted_and_resolved_with_the_port() -> None:
    resolve = answers({"partner.example": [PUBLIC_V4, PUBLIC_V6]})
    check_url(
        "https://Partner.Example:8443/fhir?x=1",
        require_https=True,
        allowed_hosts=[],
        resolve=resolve,
    )
    assert resolve.calls == [("partner.example", 8443)]


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://user:secret@partner.example/", "url_credentials"),
        ("https://token@partner.example/", "url_credentials"),
        ("ftp://partner.example/", "url_invalid"),
        ("file:///etc/passwd", "url_invalid"),
        ("https:///path-only", "url_invalid"),
        ("https://partner.example:0/", "url_invalid"),
        ("https://partner.example:70000/", "url_invalid"),
        ("https://partner.example:abc/", "url_invalid"),
        ("not a url at all", "url_invalid"),
        ("https://unknown.example/", "host_unresolvable"),
    ],
)
def test_malformed_urls_are_refused(url: str, code: str) -> None:
    assert refusal(url, resolve=answers({"partner.example": [PUBLIC_V4]})) == code


def test_one_private_answer_among_public_ones_is_enough_to_refuse() -> None:
    resolve = answers({"partner.example": [PUBLIC_V4, "10.0.0.5"]})
    assert refusal("https://partner.example/", resolve=resolve) == "address_not_allowed"


def test_an_allowed_host_may_resolve_to_private_addresses() -> None:
    resolve = answers({"ehr.partner.lan": ["10.0.0.5", "fd12::5"]})
    check_url(
        "https://EHR.partner.lan/fhir",
        require_https=True,
        allowed_hosts=["ehr.partner.lan"],
        resolve=resolve,
    )
    assert (
        refusal(
            "https://other.partner.lan/",
            resolve=answers({"other.partner.lan": ["10.0.0.6"]}),
            allowed_hosts=["ehr.partner.lan"],
        )
        == "address_not_allowed"
    )


def test_metadata_addresses_are_refused_even_for_an_allowed_host() -> None:
    for address in ["169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254"]:
        resolve = answers({"ehr.partner.lan": ["10.0.0.5", address]})
        code = refusal(
            "https://ehr.partner.lan/", resolve=resolve, allowed_hosts=["ehr.partner.lan"]
        )
        assert code == "address_not_allowed", address


def test_loopback_ip_literal_is_refused_unless_allowed() -> None:
    # The system resolver answers an IP literal itself, without DNS.
    assert refusal("https://127.0.0.1/") == "address_not_allowed"
    assert refusal("https://[::1]:8443/") == "address_not_allowed"
    assert refusal("https://0x7f.1/") == "address_not_allowed"  # 127.0.0.1 spelled otherwise
    check_url("https://127.0.0.1:8443/", require_https=True, allowed_hosts=["127.0.0.1"])


def test_localhost_is_refused() -> None:
    assert refusal("https://localhost/") == "address_not_allowed"
    assert refusal("https://LocalHost:8443/") == "address_not_allowed"


def test_resolver_answers_that_are_not_addresses_are_refused() -> None:
    resolve = answers({"partner.example": ["partner.example"]})
    assert refusal("https://partner.example/", resolve=resolve) == "host_unresolvable"
    assert refusal("https://partner.example/", resolve=answers({"partner.example": []})) == (
        "host_unresolvable"
    )


def test_messages_name_the_host_but_not_the_path_or_query() -> None:
    resolve = answers({"partner.example": ["10.0.0.5"]})
    with pytest.raises(UnsafeDestination) as caught:
        check_url(
            "https://partner.example/case/secret-path?token=s3cr3t",
            require_https=True,
            allowed_hosts=[],
            resolve=resolve,
        )
    message = str(caught.value)
    assert "partner.example" in message
    assert "secret-path" not in message and "s3cr3t" not in message and "10.0.0.5" not in message
    with pytest.raises(UnsafeDestination) as caught:
        check_url("https://alice:pw123@partner.example/", require_https=True, allowed_hosts=[])
    assert "alice" not in str(caught.value) and "pw123" not in str(caught.value)


def test_resolve_checked_returns_the_addresses_in_order_or_refuses() -> None:
    resolve = answers({"partner.example": [PUBLIC_V6, PUBLIC_V4], "ehr.lan": ["10.0.0.5"]})
    assert resolve_checked("partner.example", 443, allowed_hosts=[], resolve=resolve) == [
        PUBLIC_V6,
        PUBLIC_V4,
    ]
    assert resolve_checked("ehr.lan", 443, allowed_hosts=["ehr.lan"], resolve=resolve) == [
        "10.0.0.5"
    ]
    with pytest.raises(UnsafeDestination) as caught:
        resolve_checked("ehr.lan", 443, allowed_hosts=[], resolve=resolve)
    assert caught.value.code == "address_not_allowed"
    with pytest.raises(UnsafeDestination) as caught:
        resolve_checked("nowhere.example", 443, allowed_hosts=[], resolve=resolve)
    assert caught.value.code == "host_unresolvable"
