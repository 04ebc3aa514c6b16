"""The one way connectors make an outbound HTTP request to a partner organisation.

Guards, each for a reason:
- the destination rules of `hub.connectors.addresses` run on every request and again inside
  the socket connect, which connects only to the addresses it has just checked (pinned), so a
  DNS answer that changes between check and connect cannot reach the private network;
- no redirect is followed (httpcore never follows one; any 3xx fails), since a redirect is a
  second, unchecked destination;
- connect, read and write timeouts, and a cap on the response body, read as a stream;
- httpcore's ConnectionPool, not httpx.Client: httpx 0.28's transport cannot take a network
  backend, and the pool never reads proxy settings from the environment (a proxy would make
  its own DNS lookup and undo the pinning).

Failures are `DeliveryFailed` with a stable `code` and whether a retry can help. Messages name
the method, host and status; never the path, query, headers or body.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import TYPE_CHECKING

import httpcore

from hub import __version__
from hub.connectors.addresses import (
    Resolver,
    UnsafeDestination,
    parse_url,
    resolve_checked,
    system_resolve,
)

if TYPE_CHECKING:
    from hub.settings import Settings

# a partner may ask for a pause, not for a delivery to wait for days
MAX_RETRY_AFTER = 3600.0
USER_AGENT = f"referral-hub-connector/{__version__}"
_RETRYABLE_STATUSES = frozenset({408, 425, 429})
# Every exception the pool raises on its own (the backend below adds UnsafeDestination).
_HTTPCORE_ERRORS = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ProxyError,
    httpcore.ConnectionNotAvailable,
)


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-cased names; repeated headers joined with ", "
    body: bytes


class DeliveryFailed(Exception):
    """An outbound request that did not end in a 2xx response.

    `detail_code` is the UnsafeDestination code when the destination was refused (or could not
    be resolved); `status` is the HTTP status when the partner answered.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        detail_code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
        self.status = status
        self.detail_code = detail_code
        # seconds the partner asked us to wait (its Retry-After), when it said
        self.retry_after = retry_after


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves and checks the host itself, then connects to a checked address only."""

    def __init__(self, *, allowed_hosts: Sequence[str], resolve: Resolver) -> None:
        self._allowed_hosts = allowed_hosts
        self._resolve = resolve

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        # Raises UnsafeDestination, which the pool passes through unchanged.
        addresses = resolve_checked(
            host, port, allowed_hosts=self._allowed_hosts, resolve=self._resolve
        )
        # The connect timeout bounds the whole attempt, not each address.
        deadline = None if timeout is None else time.monotonic() + timeout
        failure: Exception = httpcore.ConnectError("no address to connect to")
        for address in addresses:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise httpcore.ConnectTimeout("connect timed out")
            try:
                # An IP literal: socket.create_connection makes no DNS query for it. TLS is
                # started afterwards by httpcore on this stream with server_hostname set to the
                # URL's host, not this address (httpcore 1.0.9, _sync/connection.py,
                # HTTPConnection._connect: `"server_hostname": sni_hostname or
                # self._origin.host`), so the certificate is still checked against the name.
                return super().connect_tcp(address, port, remaining, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure


class OutboundClient:
    """A guarded HTTP/1.1 client; one per worker process, safe to share between threads."""

    def __init__(
        self,
        *,
        require_https: bool,
        allowed_hosts: Sequence[str],
        connect_timeout: float,
        read_timeout: float,
        max_response_bytes: int,
        total_timeout: float | None = None,
        resolve: Resolver = system_resolve,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if max_response_bytes < 0:
            raise ValueError("max_response_bytes must not be negative")
        self._require_https = require_https
        # the read timeout bounds each read: a partner dripping its body a byte at a time
        # would pass it for ever, so the body's reading has a deadline of its own
        self._total_timeout = total_timeout
        self._max_response_bytes = max_response_bytes
        self._timeouts = {
            "connect": connect_timeout,
            "read": read_timeout,
            "write": read_timeout,
            "pool": connect_timeout,
        }
        # ssl_context None: httpcore's default, which verifies against certifi's roots.
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            network_backend=_GuardedBackend(allowed_hosts=tuple(allowed_hosts), resolve=resolve),
            http1=True,
            http2=False,
            retries=0,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboundClient:
        return cls(
            require_https=settings.connector_require_https,
            allowed_hosts=settings.connector_allowed_hosts,
            connect_timeout=settings.connector_connect_timeout_seconds,
            read_timeout=settings.connector_read_timeout_seconds,
            max_response_bytes=settings.connector_max_response_bytes,
            total_timeout=settings.connector_total_timeout_seconds,
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        content: bytes | None = None,
    ) -> Response:
        """Send one request; the response when it is 2xx, else DeliveryFailed."""
        method = method.upper()
        try:
            destination = parse_url(url, require_https=self._require_https)
        except UnsafeDestination as exc:
            raise _refused(exc, f"{method} request") from None
        label = f"{method} to {destination.host}"
        started = time.monotonic()
        target = httpcore.URL(
            scheme=destination.scheme,
            host=destination.host,
            port=destination.port,
            target=destination.url.raw_path,
        )
        try:
            with self._pool.stream(
                method,
                target,
                headers=_request_headers(headers, host=destination.url.netloc.decode("ascii")),
                content=content,
                extensions={"timeout": self._timeouts},
            ) as response:
                _check_status(response.status, label, response.headers)
                body = self._read_body(response, label, started)
                return Response(
                    status=response.status, headers=_header_dict(response.headers), body=body
                )
        except UnsafeDestination as exc:
            raise _refused(exc, label) from None
        except (*_HTTPCORE_ERRORS, OSError) as exc:
            # `from None`: the cause's text can quote the partner's bytes (h11 protocol errors).
            raise _transport_failure(exc, label) from None

    def _read_body(self, response: httpcore.Response, label: str, started: float) -> bytes:
        limit = self._max_response_bytes
        too_large = DeliveryFailed(
            "response_too_large",
            f"{label}: the response is larger than {limit} bytes.",
            retryable=False,
            status=response.status,
        )
        declared = _content_length(response.headers)
        if declared is not None and declared > limit:
            raise too_large
        deadline = None if self._total_timeout is None else started + self._total_timeout
        body = bytearray()
        for chunk in response.iter_stream():
            body += chunk
            if len(body) > limit:
                # Leaving the stream closes the connection; the rest is never read.
                raise too_large
            if deadline is not None and time.monotonic() > deadline:
                raise DeliveryFailed(
                    "timeout",
                    f"{label}: the response took longer than {self._total_timeout} s.",
                    retryable=True,
                    status=response.status,
                )
        return bytes(body)

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> OutboundClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _request_headers(headers: Mapping[str, str], *, host: str) -> list[tuple[str, str]]:
    # Host always comes from the URL: the connection was checked for that name.
    out = [("Host", host)]
    out += [(name, value) for name, value in headers.items() if name.lower() != "host"]
    if not any(name.lower() == "user-agent" for name in headers):
        out.append(("User-Agent", USER_AGENT))
    return out


def _header_dict(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in raw:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


def _content_length(raw: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in raw:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # h11 rejects a malformed length before we get here
    return None


def retry_after(
    headers: Sequence[tuple[bytes, bytes]], now: datetime | None = None
) -> float | None:
    """A Retry-After header's wait in seconds (delta-seconds or an HTTP date, RFC 9110),
    at most MAX_RETRY_AFTER; None when absent or unreadable."""
    value = next((v for k, v in headers if k.lower() == b"retry-after"), None)
    if value is None:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _check_status(status: int, label: str, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    if 200 <= status < 300:
        return
    if 300 <= status < 400:
        raise DeliveryFailed(
            "redirect_refused",
            f"{label}: the partner answered HTTP {status} (a redirect); redirects are not "
            "followed, the configured URL must be the final one.",
            retryable=False,
            status=status,
        )
    retryable = status in _RETRYABLE_STATUSES or 500 <= status < 600
    raise DeliveryFailed(
        "http_error",
        f"{label}: the partner answered HTTP {status}.",
        retryable=retryable,
        status=status,
        retry_after=retry_after(headers) if retryable else None,
    )


def _refused(exc: UnsafeDestination, label: str) -> DeliveryFailed:
    if exc.code == "host_unresolvable":
        # At send time a lookup failure is usually a DNS outage, worth another try.
        return DeliveryFailed(
            "connect_failed", f"{label}: {exc.message}", retryable=True, detail_code=exc.code
        )
    return DeliveryFailed(
        "destination_refused", f"{label}: {exc.message}", retryable=False, detail_code=exc.code
    )


def _transport_failure(exc: Exception, label: str) -> DeliveryFailed:
    if isinstance(exc, httpcore.TimeoutException):
        return DeliveryFailed("timeout", f"{label}: timed out.", retryable=True)
    if isinstance(exc, httpcore.ConnectError | OSError):
        cause = _original(exc) if isinstance(exc, httpcore.ConnectError) else exc
        if isinstance(cause, ssl.SSLError):
            # A certificate or TLS configuration problem: a retry will not fix it, a person must.
            reason = getattr(cause, "verify_message", None) or getattr(cause, "reason", None)
            return DeliveryFailed(
                "tls_failed",
                f"{label}: TLS failed ({reason or 'handshake error'}).",
                retryable=False,
            )
        reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else "error"
        return DeliveryFailed(
            "connect_failed", f"{label}: could not connect ({reason}).", retryable=True
        )
    if isinstance(exc, httpcore.LocalProtocolError | httpcore.UnsupportedProtocol):
        # Our own request was malformed (say, a newline in a header value): a bug, not the
        # partner; a retry would send the same bytes.
        return DeliveryFailed(
            "protocol_error", f"{label}: the request could not be sent as HTTP.", retryable=False
        )
    # RemoteProtocolError, or a read or write that broke: the exchange broke off midway.
    return DeliveryFailed(
        "protocol_error", f"{label}: the exchange broke off ({type(exc).__name__}).", retryable=True
    )


def _original(exc: Exception) -> BaseException | None:
    """The error httpcore wrapped: `ConnectError(OSError)`, the TLS handshake's SSLError included.

    Read from the arguments because the pool re-raises with `from None`, which clears
    `__cause__` (httpcore 1.0.9, _exceptions.map_exceptions and _sync/connection_pool.py).
    """
    for candidate in (*exc.args, exc.__cause__, exc.__context__):
        if isinstance(candidate, BaseException):
            return candidate
    return None
