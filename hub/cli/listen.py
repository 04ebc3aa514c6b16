"""Where `hub serve` listens, and the URL a person on this machine reaches it at."""

from __future__ import annotations

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# listening on every address: the loopback one of the same family reaches it from here
_ANY = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}  # noqa: S104 (a lookup)


def base_url(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> str:
    host = _ANY.get(host, host)
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address in a URL
    return f"http://{host}:{port}"
