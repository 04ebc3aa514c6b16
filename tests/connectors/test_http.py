"""The guarded outbound client against real HTTP(S) servers on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hub.connectors.addresses import check_url
from hub.connectors.http import USER_AGENT, DeliveryFailed, OutboundClient, Response, retry_after

PUBLIC_V4 = "93.184.215.14"
Respond = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes


@dataclass
class Peer:
    """A real server on 127.0.0.1 that records every request it receives."""

    server: ThreadingHTTPServer
    respond: Respond
    scheme: str
    hits: list[Hit] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)  # ends a stalled reply
    aborted: threading.Event = field(default_factory=threading.Event)  # the client hung up

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def _handle(self) -> None:
        peer: Peer = self.server.peer  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        peer.hits.append(
            Hit(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        try:
            peer.respond(self)
        except OSError:
            peer.aborted.set()
            self.close_connection = True

    do_GET = do_POST = do_PUT = _handle

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Callable[..., Peer]]:
    peers: list[tuple[Peer, threading.Thread]] = []

    def start(respond: Respond, *, tls: ssl.SSLContext | None = None) -> Peer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        peer = Peer(server=server, respond=respond, scheme="https" if tls else "http")
        server.peer = peer  # type: ignore[attr-defined]
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        peers.append((peer, thread))
        return peer

    yield start
    for peer, thread in peers:
        peer.release.set()
        peer.server.shutdown()
        peer.server.server_close()
        thread.join(timeout=2)


@pytest.fixture
def make_client() -> Iterator[Callable[..., OutboundClient]]:
    clients: list[OutboundClient] = []

    def make(**overrides: object) -> OutboundClient:
        options: dict[str, object] = {
            "require_https": False,
            "allowed_hosts": ["127.0.0.1"],
            "connect_timeout": 1.0,
            "read_timeout": 1.0,
            "max_response_bytes": 4096,
        }
        options.update(overrides)
        client = OutboundClient(**options)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def reply(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Respond:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def fixed(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    """An injected resolver: DNS answers cannot be faked otherwise in a test."""

    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("unknown host")
        return list(table[host])

    return resolve


def failure(client: OutboundClient, url: str, **kwargs: object) -> DeliveryFailed:
    with pytest.raises(DeliveryFailed) as caught:
        client.request(kwargs.pop("method", "POST"), url, headers={}, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_a_2xx_response_is_returned_with_body_and_lower_cased_headers(serve, make_client) -> None:
    peer = serve(reply(201, b'{"id": "r-1"}', {"X-Request-Id": "abc", "Content-Type": "a/b"}))
    response = make_client().request(
        "post",
        peer.url("/hook?batch=7"),
        headers={"Content-Type": "application/fhir+json", "X-Hub-Signature": "sig"},
        content=b'{"resourceType": "Bundle"}',
    )
    assert response == Response(
        status=201,
        headers={
            **response.headers,
            "x-request-id": "abc",
            "content-type": "a/b",
            "content-length": "13",
        },
        body=b'{"id": "r-1"}',
    )
    (hit,) = peer.hits
    assert (hit.method, hit.path, hit.body) == (
        "POST",
        "/hook?batch=7",
        b'{"resourceType": "Bundle"}',
    )
    assert hit.headers["host"] == f"127.0.0.1:{peer.port}"
    assert hit.headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("referral-hub-connector/")
    assert hit.headers["x-hub-signature"] == "sig"
    assert hit.headers["content-length"] == "26"


def test_a_given_user_agent_is_kept_and_204_has_an_empty_body(serve, make_client) -> None:
    peer = serve(reply(204))
    response = make_client().request("PUT", peer.url(), headers={"user-agent": "custom/1"})
    assert (response.status, response.body) == (204, b"")
    assert peer.hits[0].headers["user-agent"] == "custom/1"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_refused_and_the_target_receives_nothing(serve, make_client, status) -> None:
    target = serve(reply(200, b"stolen"))
    source = serve(reply(status, headers={"Location": target.url("/collect")}))
    failed = failure(make_client(), source.url("/hook"))
    assert (failed.code, failed.status, failed.retryable) == ("redirect_refused", status, False)
    assert len(source.hits) == 1
    assert target.hits == []


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        *[(500, True), (502, True), (503, True), (408, True), (425, True), (429, True)],
        *[(400, False), (401, False), (403, False), (404, False), (409, False), (422, False)],
    ],
)
def test_error_statuses_say_whether_a_retry_can_help(serve, make_client, status, retryable) -> None:
    peer = serve(reply(status, b"details"))
    failed = failure(make_client(), peer.url())
    assert (failed.code, failed.status, failed.retryable) == ("http_error", status, retryable)


def test_messages_carry_neither_the_query_nor_the_body(serve, make_client) -> None:
    peer = serve(reply(500, b"patient Amina Yusuf, +254 700 000000"))
    failed = failure(make_client(), peer.url("/cases/c-123?token=s3cr3t"))
    assert "127.0.0.1" in str(failed) and "500" in str(failed)
    for secret in ("s3cr3t", "c-123", "Amina", "254 700"):
        assert secret not in str(failed)


def test_garbage_from_the_partner_is_a_retryable_protocol_error(serve, make_client) -> None:
    def garbage(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"NOT HTTP Amina Yusuf\r\n\r\n")
        handler.close_connection = True

    failed = failure(make_client(), serve(garbage).url())
    assert (failed.code, failed.retryable, failed.status) == ("protocol_error", True, None)
    assert "Amina" not in str(failed) and failed.__cause__ is None


def test_a_slow_partner_hits_the_read_timeout(serve, make_client) -> None:
    def stall(handler: BaseHTTPRequestHandler) -> None:
        handler.server.peer.release.wait(1.5)  # type: ignore[attr-defined]
        reply(200, b"late")(handler)

    peer = serve(stall)
    started = time.monotonic()
    failed = failure(make_client(read_timeout=0.5), peer.url())
    assert (failed.code, failed.retryable) == ("timeout", True)
    assert time.monotonic() - started < 1.4


def test_a_closed_port_is_a_retryable_connect_failure(make_client) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    failed = failure(make_client(), f"http://127.0.0.1:{port}/")
    assert (failed.code, failed.retryable, failed.detail_code) == ("connect_failed", True, None)


def test_a_body_of_exactly_the_cap_is_accepted_one_byte_more_is_not(serve, make_client) -> None:
    client = make_client(max_response_bytes=4096)
    assert client.request("GET", serve(reply(200, b"x" * 4096)).url(), headers={}).body == (
        b"x" * 4096
    )
    failed = failure(client, serve(reply(200, b"x" * 4097)).url())
    assert (failed.code, failed.retryable, failed.status) == ("response_too_large", False, 200)


def test_a_declared_length_over_the_cap_fails_before_reading(serve, make_client) -> None:
    def announce(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(50_000_000))
        handler.end_headers()
        handler.server.peer.release.wait(5)  # type: ignore[attr-defined]

    started = time.monotonic()
    failed = failure(make_client(read_timeout=5.0), serve(announce).url())
    assert failed.code == "response_too_large"
    assert time.monotonic() - started < 1.0  # it did not wait for the body


def chunked(total_chunks: int, size: int = 1024) -> Respond:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for _ in range(total_chunks):
            handler.wfile.write(b"%x\r\n%s\r\n" % (size, b"y" * size))
        handler.wfile.write(b"0\r\n\r\n")

    return respond


def test_a_chunked_response_is_cut_off_at_the_cap(serve, make_client) -> None:
    client = make_client(max_response_bytes=4096)
    assert len(client.request("GET", serve(chunked(4)).url(), headers={}).body) == 4096
    # 64 MiB offered; the client stops after the cap and hangs up, so the server's write fails.
    peer = serve(chunked(65_536))
    failed = failure(client, peer.url())
    assert (failed.code, failed.retryable) == ("response_too_large", False)
    assert peer.aborted.wait(2), "the client read on after the cap"


def test_dns_rebinding_is_refused_at_connect_time(serve, make_client) -> None:
    peer = serve(reply(200, b"internal"))
    answers = iter([[PUBLIC_V4], ["127.0.0.1"]])
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    url = peer.url("/hook", host="partner.example")
    check_url(url, require_https=False, allowed_hosts=[], resolve=rebinding)  # set time: public
    client = make_client(allowed_hosts=[], resolve=rebinding)
    failed = failure(client, url)
    assert (failed.code, failed.detail_code, failed.retryable) == (
        "destination_refused",
        "address_not_allowed",
        False,
    )
    assert calls == ["partner.example", "partner.example"]  # the second lookup was the connect's
    assert peer.hits == []


def test_loopback_is_reachable_only_when_allowed(serve, make_client) -> None:
    peer = serve(reply(200, b"ok"))
    failed = failure(make_client(allowed_hosts=[]), peer.url())
    assert (failed.code, failed.detail_code) == ("destination_refused", "address_not_allowed")
    assert peer.hits == []
    response = make_client(allowed_hosts=["127.0.0.1"]).request("GET", peer.url(), headers={})
    assert response.body == b"ok"


def test_the_connection_goes_to_the_checked_address_with_the_urls_host(serve, make_client) -> None:
    peer = serve(reply(200, b"ok"))
    # 127.0.0.2 is loopback too, with nothing listening: the client falls back to the next.
    resolve = fixed({"ehr.partner.lan": ["127.0.0.2", "127.0.0.1"]})
    client = make_client(allowed_hosts=["ehr.partner.lan"], resolve=resolve)
    response = client.request("GET", peer.url("/x", host="EHR.partner.lan"), headers={"Host": "x"})
    assert response.body == b"ok"
    assert peer.hits[0].headers["host"] == f"ehr.partner.lan:{peer.port}"


def test_an_unresolvable_host_at_send_time_is_retryable(make_client) -> None:
    client = make_client(allowed_hosts=[], resolve=fixed({}))
    failed = failure(client, "http://partner.example/hook")
    assert (failed.code, failed.detail_code, failed.retryable) == (
        "connect_failed",
        "host_unresolvable",
        True,
    )


def test_url_rules_apply_at_send_time_too(serve, make_client) -> None:
    peer = serve(reply(200))
    failed = failure(make_client(require_https=True), peer.url())
    assert (failed.code, failed.detail_code) == ("destination_refused", "https_required")
    url = f"http://hub:pw@127.0.0.1:{peer.port}/"
    failed = failure(make_client(), url)
    assert (failed.code, failed.detail_code) == ("destination_refused", "url_credentials")
    assert "pw" not in str(failed)
    assert peer.hits == []


# --- TLS -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for partner.test, localhost and 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "partner.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("partner.test"),
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_peer(serve, certificate) -> Peer:
    cert_path, key_path = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return serve(reply(200, b"secure"), tls=context)


def tls_client(make_client, certificate, *, trust: bool) -> OutboundClient:
    trusting = ssl.create_default_context(cafile=str(certificate[0])) if trust else None
    resolve = fixed({"partner.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    return make_client(
        require_https=True,
        allowed_hosts=["partner.test", "other.test"],
        resolve=resolve,
        ssl_context=trusting,
    )


def test_tls_verifies_the_certificate_against_the_urls_hostname(
    tls_peer, make_client, certificate
) -> None:
    client = tls_client(make_client, certificate, trust=True)
    # Connected to 127.0.0.1 (pinned), yet checked as partner.test, a name in the certificate.
    response = client.request("GET", tls_peer.url("/fhir", host="partner.test"), headers={})
    assert response.body == b"secure"
    # Same address, same trusted certificate (which also names 127.0.0.1), but the URL's host
    # is not in it: refused, so the check uses the URL's name and not the connected address.
    failed = failure(client, tls_peer.url("/fhir", host="other.test"))
    assert (failed.code, failed.retryable) == ("tls_failed", False)
    assert len(tls_peer.hits) == 1


def test_tls_with_the_default_trust_store_refuses_a_self_signed_certificate(
    tls_peer, make_client, certificate
) -> None:
    client = tls_client(make_client, certificate, trust=False)
    failed = failure(client, tls_peer.url("/fhir", host="partner.test"))
    assert (failed.code, failed.retryable) == ("tls_failed", False)
    assert "certificate" in str(failed)
    assert tls_peer.hits == []


def test_a_body_dripped_slower_than_the_total_deadline_is_cut_off(
    serve: Callable[..., Peer], make_client: Callable[..., OutboundClient]
) -> None:
    def drip(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        # each byte well within the read timeout, the whole far beyond the total deadline
        for _ in range(100):
            if handler.server.peer.release.is_set():  # type: ignore[attr-defined]
                return
            handler.wfile.write(b"x")
            handler.wfile.flush()
            time.sleep(0.05)

    peer = serve(drip)
    client = make_client(read_timeout=1.0, total_timeout=0.5)
    began = time.monotonic()
    with pytest.raises(DeliveryFailed) as failed:
        client.request("GET", peer.url("/drip"), headers={})
    assert (failed.value.code, failed.value.retryable) == ("timeout", True)
    assert time.monotonic() - began < 2.0
    # without a total deadline the same answer is read whole (the read timeout never fires)
    assert make_client(read_timeout=1.0).request("GET", peer.url("/drip"), headers={}).body == (
        b"x" * 100
    )


def test_a_partners_retry_after_is_kept_for_the_retry(
    serve: Callable[..., Peer], make_client: Callable[..., OutboundClient]
) -> None:
    def busy(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(503)
        handler.send_header("Retry-After", "120")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    peer = serve(busy)
    with pytest.raises(DeliveryFailed) as failed:
        make_client().request("POST", peer.url("/hook"), headers={}, content=b"{}")
    assert (failed.value.retryable, failed.value.retry_after) == (True, 120.0)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (b"30", 30.0),
        (b"Mon, 23 Nov 2026 12:01:00 GMT", 60.0),
        (b"Mon, 23 Nov 2026 11:00:00 GMT", 0.0),  # already past: no wait
        (b"999999", 3600.0),  # a pause, not days
        (b"soon", None),
    ],
)
def test_retry_after_is_read_as_seconds_or_a_date(value: bytes, seconds: float | None) -> None:
    now = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
    assert retry_after([(b"Retry-After", value)], now=now) == seconds
    assert retry_after([], now=now) is None
