"""Which outbound destinations a connector may reach.

A connector sends to URLs that partner organisations configure, so a URL is untrusted input:
unchecked, it could point the hub at its own database, the cloud metadata service or anything
else on the private network (server-side request forgery). The same address rules run twice:
when the URL is configured (`check_url`) and again when the socket is opened
(`resolve_checked`, called by `hub.connectors.http`), because a name can resolve to a public
address the first time and to a private one the second (DNS rebinding).

Messages may name the host but never the path or query, which can carry tokens.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx

Resolver = Callable[[str, int], list[str]]
"""(host, port) -> IP address strings, in the order to try them."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud instance metadata services (AWS IPv4/IPv6, ECS task metadata, Alibaba). They hand out
# credentials, so they are refused even for a host in the allow-list: listing a partner's
# on-premises name must not open them if that name is ever pointed at one.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
# Well-known NAT64 prefix (RFC 6052): the low 32 bits are the IPv4 address the gateway reaches.
# ipaddress has no accessor for it, and Python 3.11 calls the prefix global.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeDestination(Exception):
    """A URL or a resolved address a connector must not use; `code` is stable for callers."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Destination:
    """A syntactically acceptable URL, split the way the socket layer will see it."""

    url: httpx.URL
    scheme: str
    host: str  # ASCII (IDNA-encoded) host; an IPv6 literal without brackets
    port: int


def system_resolve(host: str, port: int) -> list[str]:
    """The operating system's answer for a TCP connection to host:port, duplicates removed."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses: list[str] = []
    for *_, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def _parse_ip(ip: str) -> IPAddress | None:
    try:
        # A scope (fe80::1%eth0) says which interface, not where: judge the address itself.
        return ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return None


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 form stands for (mapped, 6to4, NAT64); else the address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _is_metadata(address: IPAddress) -> bool:
    return address in METADATA_ADDRESSES or _embedded_ipv4(address) in METADATA_ADDRESSES


def check_address(ip: str) -> bool:
    """True when `ip` is a publicly routable unicast address a connector may reach."""
    parsed = _parse_ip(ip)
    if parsed is None or _is_metadata(parsed):
        return False
    address = _embedded_ipv4(parsed)
    # is_global alone is not enough on Python 3.11: it calls multicast, site-local (fec0::/10)
    # and IPv4-compatible (::a.b.c.d, reserved) addresses global.
    refused = (
        address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
        or address.is_private
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
    )
    return address.is_global and not refused


def _normal_host(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.rstrip(".")


def host_allowed(host: str, allowed_hosts: Iterable[str]) -> bool:
    """Whether `host` is listed: case-insensitive exact name, or the same IP literal.

    Names compare in their ASCII form (punycode for international names), as in the URL.
    """
    wanted = _normal_host(host)
    wanted_ip = _parse_ip(wanted)
    for entry in allowed_hosts:
        listed = _normal_host(entry)
        if not listed:
            continue
        if listed == wanted:
            return True
        if wanted_ip is not None and _parse_ip(listed) == wanted_ip:
            return True
    return False


def parse_url(url: str, *, require_https: bool) -> Destination:
    """The URL checks that need no DNS: scheme, host, port, no credentials."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise UnsafeDestination("url_invalid", "The URL could not be parsed.") from None
    if parsed.scheme not in _DEFAULT_PORTS:
        raise UnsafeDestination("url_invalid", "Only http and https URLs are allowed.")
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise UnsafeDestination("url_invalid", "The URL has no host.")
    if require_https and parsed.scheme != "https":
        raise UnsafeDestination("https_required", f"The URL for {host} must use https.")
    if parsed.userinfo:
        # Credentials in a URL end up in logs and configuration screens; use headers.
        raise UnsafeDestination(
            "url_credentials", f"The URL for {host} must not contain a user name or password."
        )
    port = parsed.port if parsed.port is not None else _DEFAULT_PORTS[parsed.scheme]
    if not 1 <= port <= 65535:
        raise UnsafeDestination("url_invalid", f"The URL for {host} has an invalid port.")
    return Destination(url=parsed, scheme=parsed.scheme, host=host, port=port)


def _resolve(host: str, port: int, resolve: Resolver) -> list[str]:
    try:
        addresses = list(resolve(host, port))
    except (OSError, UnicodeError):
        addresses = []
    # Only IP literals go on to the socket, so connecting never triggers a second lookup.
    if not addresses or any(_parse_ip(a) is None for a in addresses):
        raise UnsafeDestination("host_unresolvable", f"The host {host} could not be resolved.")
    return addresses


def _judge(host: str, addresses: list[str], allowed_hosts: Iterable[str]) -> None:
    allowed = host_allowed(host, allowed_hosts)
    for ip in addresses:
        parsed = _parse_ip(ip)
        if parsed is None or _is_metadata(parsed) or not (allowed or check_address(ip)):
            # The address is not named: a refusal must not map the private network for whoever
            # configures URLs.
            raise UnsafeDestination(
                "address_not_allowed",
                f"The host {host} resolves to an address connectors may not reach.",
            )


def check_url(
    url: str,
    *,
    require_https: bool,
    allowed_hosts: Iterable[str],
    resolve: Resolver = system_resolve,
) -> None:
    """The check when a URL is configured; raises UnsafeDestination when it must not be used.

    Every address the host resolves to must be public (one private answer among public ones
    is enough to refuse, as the client may pick it), unless the host is allowed.
    """
    destination = parse_url(url, require_https=require_https)
    addresses = _resolve(destination.host, destination.port, resolve)
    _judge(destination.host, addresses, allowed_hosts)


def resolve_checked(
    host: str,
    port: int,
    *,
    allowed_hosts: Iterable[str],
    resolve: Resolver = system_resolve,
) -> list[str]:
    """The check when connecting: the addresses to connect to, all of them permitted."""
    addresses = _resolve(host, port, resolve)
    _judge(host, addresses, allowed_hosts)
    return addresses
