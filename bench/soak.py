"""Soak of mixed traffic through the production set-up on PostgreSQL (not a test).

    .venv/bin/python bench/soak.py [--duration 300] [--clients 8] [--workers 2]

For `--duration` seconds, `--clients` threads act as the partners of the demo world would:
an IOM sub-office registers cases and records consents, refers them to an NGO (some the
consent gate permits, some it holds for review, some it denies), a consent officer decides the
held ones, the NGO moves the referrals it received by webhook (acknowledge, accept, start,
complete, decline), the sub-office cancels some, withdraws some consents (cancelling what is in
flight) and transfers cases to its country office, which accepts or rejects them; everyone
reads referrals, events and disclosures and refreshes its tokens. Then the outbox is drained
and the script checks: no 5xx or unexpected answer, every delivery the hub made received by the
partner's webhook (once, or again with the same body under the same delivery id), no delivery
or outbox message pending or dead, and the memory of the hub's processes flat.

Set-up, all on 127.0.0.1 and undone at the end: a fresh PostgreSQL database (HUB_BENCH_DATABASE_URL,
default postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_soak) migrated with
`hub db upgrade` and seeded with the hub's demo organisations, agreements, clients and people
(`hub.demo.seed`); Redis database 12 under a key prefix of this run; webhook channels of every
organisation pointing at a receiver run here that verifies the hub's signatures (HMAC or JWS)
and answers like a partner (mostly 204, sometimes slowly, sometimes 500 or 503 with
Retry-After, now and then after the hub's read timeout, shortened to 3 s, so the hub retries
what the partner already has); `hub serve`, `hub beat` and `--workers` x `hub worker`, in a
temporary HUB_DATA_DIR, with the production defaults otherwise (outbox poll, back-off,
attempts) but access tokens of 60 s, so clients refresh them during the run.

Exit status 1 on any error, lost delivery, undrained outbox or memory growth above
`--max-growth` (median RSS of the last quarter of the run over that of the second quarter).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import redis
from delivery import outbox_stages
from joserfc.jwk import ECKey
from referrals import HOST, free_port, start, stop, wait_ready
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

import hub
from hub.auth.clients import create_client
from hub.connectors import signing
from hub.delivery.models import Delivery
from hub.delivery.notices import notice_id
from hub.demo import seed as demo
from hub.outbox.models import OutboxMessage
from hub.referrals.models import Referral
from hub.runtime import Runtime
from hub.settings import load_settings
from hub.transfers.models import Transfer
from hub.users.models import User

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_soak"
# the test suite uses 15, referrals.py 14, delivery.py 13
BROKER_URL = "redis://127.0.0.1:6379/12"
WORKERS_READY_SECONDS = 90.0
# the shortest the hub allows, so tokens are really refreshed during a run
TOKEN_SECONDS = 60
# the hub's read timeout towards partners (20 s by default) shortened, so that a partner that
# answers too late costs a worker seconds, not tens of seconds
READ_TIMEOUT = 3.0
PURPOSE = "psychosocial_support"
PERMITTED = ["identity", "contact", "psychosocial"]
SENSITIVE = [*PERMITTED, "health"]  # health is sensitive: the gate holds it for review
# an HMAC secret for two of the channels (the others are signed with the hub's JWS key)
HMAC_ORGS = ("iom_sub", "ngo")
WEBHOOK_ORGS = ("iom_country", "iom_sub", "ngo", "un")
DELIVERY_EVENTS = ("referral.sent", "transfer.offered")
AFTER_DELIVERY = {"delivered", "acknowledged", "accepted", "in_progress", "completed", "declined"}
TERMINAL = {"completed", "declined", "cancelled", "denied", "failed"}


# --- the partner's webhook --------------------------------------------------------------------


@dataclass
class Arrival:
    org: str
    delivery_id: str
    event: str
    subject_id: str | None  # the referral's or transfer's id
    sha256: str
    answered: int


@dataclass
class Receiver:
    """Verifies every request's signature, answers like a partner, and records it."""

    secrets: dict[str, bytes]
    jwks_url: str = ""
    seed: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrivals: list[Arrival] = field(default_factory=list)
    bad_signatures: int = 0
    unreadable: int = 0
    keys: dict[str, ECKey] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)

    def accepted(self) -> dict[str, list[Arrival]]:
        """Per delivery id, the arrivals the partner answered 2xx to."""
        got: dict[str, list[Arrival]] = defaultdict(list)
        with self.lock:
            for a in self.arrivals:
                if 200 <= a.answered < 300:
                    got[a.delivery_id].append(a)
        return got

    def accepted_subjects(self) -> set[str]:
        with self.lock:
            return {
                a.subject_id
                for a in self.arrivals
                if a.event in DELIVERY_EVENTS and a.subject_id and 200 <= a.answered < 300
            }

    def jws_keys(self, refresh: bool) -> dict[str, ECKey]:
        if refresh or not self.keys:
            doc = httpx.get(self.jwks_url, timeout=10.0).json()
            self.keys = {k["kid"]: ECKey.import_key(k) for k in doc["keys"]}
        return self.keys

    def verify(self, org: str, headers: dict[str, str], body: bytes) -> bool:
        delivery_id = headers.get("hub-delivery-id", "")
        if org in self.secrets:
            hmac_header = headers.get("hub-signature", "")
            return signing.verify_hmac(
                hmac_header, body, secret=self.secrets[org], delivery_id=delivery_id
            )
        signature = headers.get("hub-signature-jws", "")
        for refresh in (False, True):  # a kid not seen yet: the hub may have a new key
            try:
                header = signing.verify_jws(signature, body, keys=self.jws_keys(refresh))
                return header.get(signing.DELIVERY_ID_PARAM) == delivery_id
            except Exception:  # any failure to verify is a bad signature
                continue
        return False

    def answer(self) -> tuple[int, float, dict[str, str]]:
        """A partner's answer: (status, seconds to wait first, extra headers)."""
        with self.lock:
            roll = self.rng.random()
            slow = self.rng.uniform(0.5, 2.5)
        if roll < 0.08:
            return 500, 0.0, {}
        if roll < 0.11:
            return 503, 0.0, {"Retry-After": "2"}
        if roll < 0.16:
            return 204, slow, {}
        if roll < 0.17:
            # past the hub's read timeout: the hub retries what the partner already has
            return 204, READ_TIMEOUT + 1.0, {}
        if roll < 0.30:
            return 200, 0.0, {}
        return 204, 0.0, {}

    def server(self) -> ThreadingHTTPServer:
        receiver = self

        class Hook(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a partner's server would offer

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                org = self.path.rsplit("/", 1)[-1]
                if not receiver.verify(org, headers, body):
                    with receiver.lock:
                        receiver.bad_signatures += 1
                    self._reply(401, {})
                    return
                try:
                    doc = json.loads(body)
                    event = str(doc["event"])
                    item = doc.get("referral") or doc.get("transfer") or {}
                    subject_id = item.get("id")
                except (ValueError, KeyError, TypeError, AttributeError):
                    with receiver.lock:
                        receiver.unreadable += 1
                    self._reply(400, {})
                    return
                status, wait, extra = receiver.answer()
                if wait:
                    time.sleep(wait)
                arrival = Arrival(
                    org=org,
                    delivery_id=headers.get("hub-delivery-id", ""),
                    event=event,
                    subject_id=str(subject_id) if subject_id else None,
                    sha256=hashlib.sha256(body).hexdigest(),
                    answered=status,
                )
                with receiver.lock:
                    receiver.arrivals.append(arrival)
                self._reply(status, extra)

            def _reply(self, status: int, extra: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer((HOST, 0), Hook)
        server.daemon_threads = True
        return server


# --- the world ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    client_id: str
    secret: str
    on_behalf_of: str | None = None


@dataclass(frozen=True)
class World:
    orgs: dict[str, str]  # demo key -> organisation id
    parties: dict[str, Party]  # sub, ngo, country, desk (a consent officer through a client)


def seed_world(runtime: Runtime) -> World:
    with runtime.sessions.begin() as db:
        creds = demo.seed(db=db, policy=runtime.policy, actor="bench-soak")
        officer = db.scalars(select(User).where(User.email == demo.OFFICER)).one()
        # reviews are decided by a person: a client of the sub-office acting for its officer
        desk, desk_secret = create_client(
            db=db,
            organization_id=creds.organizations["iom_sub"],
            scope="reviews:decide referrals:read",
            name="soak officer desk",
            actor="bench-soak",
        )
        assert desk_secret is not None
        parties = {
            "sub": Party(*creds.clients["iom_sub"]),
            "ngo": Party(*creds.clients["ngo"]),
            "country": Party(*creds.clients["iom_country"]),
            "desk": Party(desk.client_id, desk_secret, on_behalf_of=officer.id),
        }
        return World(dict(creds.organizations), parties)


# --- the traffic ----------------------------------------------------------------------------


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    by_op: Counter[tuple[str, int]] = field(default_factory=Counter)
    latency_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    created: dict[str, str] = field(default_factory=dict)  # referral id -> how (permit, review)
    withdrawn_cases: set[str] = field(default_factory=set)

    def record(self, op: str, status: int, ms: float) -> None:
        with self.lock:
            self.by_op[(op, status)] += 1
            self.latency_ms[op].append(ms)

    def error(self, kind: str, sample: str) -> None:
        with self.lock:
            self.errors[kind] += 1
            if len(self.error_samples) < 30:
                self.error_samples.append(sample)


@dataclass
class Ref:
    id: str
    case_id: str
    awaiting_release: bool = False  # approved; the worker has not sent it yet
    status: str = "sent"


@dataclass
class CaseState:
    id: str
    consent_id: str
    referrals: list[str] = field(default_factory=list)
    withdrawn: bool = False


class Driver:
    """One client thread: its own cases, referrals, reviews and transfers, so what it expects
    of each answer is known; only the hub's worker moves things under it."""

    def __init__(
        self,
        n: int,
        base: str,
        world: World,
        stats: Stats,
        receiver: Receiver,
        deadline: float,
        timeout: float,
    ) -> None:
        self.n = n
        self.base = base
        self.world = world
        self.stats = stats
        self.receiver = receiver
        self.deadline = deadline
        self.rng = random.Random(1000 + n)
        self.http = httpx.Client(base_url=base, timeout=httpx.Timeout(timeout))
        self.tokens: dict[str, tuple[str, float]] = {}
        self.cases: list[CaseState] = []
        self.refs: dict[str, Ref] = {}
        self.reviews: list[tuple[str, str, str]] = []  # (review id, kind, object id)
        self.transfers: list[str] = []  # offers not answered yet
        self.offered: list[str] = []  # every transfer this thread made
        self.made = 0

    # -- plumbing ------------------------------------------------------------------------
    def token(self, who: str) -> str:
        got = self.tokens.get(who)
        if got is None or time.monotonic() - got[1] > TOKEN_SECONDS / 2:
            party = self.world.parties[who]
            t0 = time.perf_counter()
            response = self.http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(party.client_id, party.secret),
            )
            self.stats.record("token", response.status_code, (time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                self.stats.error("token", f"token for {who}: {response.status_code}")
                raise RuntimeError("no token")
            got = (str(response.json()["access_token"]), time.monotonic())
            self.tokens[who] = got
        return got[0]

    def call(
        self,
        op: str,
        who: str,
        method: str,
        path: str,
        expect: tuple[int, ...],
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response | None:
        headers = {"Authorization": f"Bearer {self.token(who)}"}
        party = self.world.parties[who]
        if party.on_behalf_of:
            headers["On-Behalf-Of"] = party.on_behalf_of
        if method == "POST":
            headers["Idempotency-Key"] = uuid.uuid4().hex
        t0 = time.perf_counter()
        try:
            response = self.http.request(method, path, headers=headers, json=body, params=params)
        except httpx.HTTPError as exc:
            self.stats.record(op, 0, (time.perf_counter() - t0) * 1000)
            self.stats.error("transport", f"{op} {method} {path}: {type(exc).__name__}")
            return None
        self.stats.record(op, response.status_code, (time.perf_counter() - t0) * 1000)
        if response.status_code >= 500:
            self.stats.error(
                "5xx", f"{op} {method} {path}: {response.status_code} {response.text[:300]}"
            )
            return None
        if response.status_code not in expect:
            self.stats.error(
                "unexpected", f"{op} {method} {path}: {response.status_code} {response.text[:300]}"
            )
            return None
        return response

    # -- actions -------------------------------------------------------------------------
    def new_case(self) -> CaseState | None:
        self.made += 1
        body = {
            "external_ref": f"SOAK-{self.n}-{self.made}-{uuid.uuid4().hex[:6]}",
            "subject": {"birth_date": "1990-04-02", "sex": self.rng.choice(["female", "male"])},
            "data": {
                "identity": {"given_name": "Soak", "family_name": f"Case {self.n}-{self.made}"},
                "contact": {"phone": "+227 90 00 00 00"},
                "psychosocial": {"notes": "synthetic"},
                "health": {"notes": "synthetic"},
            },
        }
        case = self.call("case.create", "sub", "POST", "/v1/cases", (201,), body)
        if case is None:
            return None
        case_id = str(case.json()["id"])
        consent = self.call(
            "consent.record",
            "sub",
            "POST",
            f"/v1/cases/{case_id}/consents",
            (201,),
            {
                "given_by": "subject",
                "method": "written",
                "language": "fr",
                "purposes": [PURPOSE],
                "recipients": {"organizations": [self.world.orgs["ngo"]], "kinds": []},
                "categories": SENSITIVE,
                "valid_from": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
            },
        )
        if consent is None:
            return None
        state = CaseState(case_id, str(consent.json()["id"]))
        return state

    def open_case(self) -> CaseState | None:
        usable = [c for c in self.cases if not c.withdrawn]
        if len(usable) < 3 or self.rng.random() < 0.15:
            state = self.new_case()
            if state is not None:
                self.cases.append(state)
            return state
        return self.rng.choice(usable)

    def refer(self, how: str) -> None:
        case = self.open_case()
        if case is None:
            return
        body: dict[str, Any] = {
            "case_id": case.id,
            "to_organization_id": self.world.orgs["ngo"],
            "service_type": PURPOSE,
            "purpose": PURPOSE,
            "urgency": self.rng.choice(["normal", "normal", "high"]),
            "categories": SENSITIVE if how == "review" else PERMITTED,
            "note": "Synthetic referral made by bench/soak.py.",
        }
        if how == "deny":
            # the UN agency is under an agreement, but no consent covers it
            body |= {
                "to_organization_id": self.world.orgs["un"],
                "service_type": "child_protection",
                "purpose": "child_protection",
                "categories": ["identity", "contact"],
            }
        expect = {"permit": (201,), "review": (202,), "deny": (422,)}[how]
        response = self.call(f"referral.create.{how}", "sub", "POST", "/v1/referrals", expect, body)
        if response is None:
            return
        doc = response.json()
        if how == "deny":
            if doc.get("code") != "consent_denied":
                self.stats.error("unexpected", f"deny answered {doc.get('code')}")
            return
        ref_id = str(doc["id"])
        with self.stats.lock:
            self.stats.created[ref_id] = how
        case.referrals.append(ref_id)
        if how == "review":
            self.reviews.append((str(doc["review_id"]), "referral", ref_id))
        else:
            self.refs[ref_id] = Ref(ref_id, case.id)

    def decide(self) -> None:
        if not self.reviews:
            return self.refer("review")
        review_id, kind, object_id = self.reviews.pop(0)
        approve = self.rng.random() < 0.75
        action = "approve" if approve else "deny"
        response = self.call(
            f"review.{action}",
            "desk",
            "POST",
            f"/v1/reviews/{review_id}/{action}",
            (200,),
            {"justification": "Checked against the consent form."},
        )
        if response is not None and approve:
            if kind == "referral":
                case_id = next(c.id for c in self.cases if object_id in c.referrals)
                self.refs[object_id] = Ref(object_id, case_id, awaiting_release=True)
            else:
                self.transfers.append(object_id)

    def recipient_move(self) -> None:
        # a partner acts on what reached its webhook
        received = self.receiver.accepted_subjects()
        live = [r for r in self.refs.values() if r.id in received and r.status not in TERMINAL]
        if not live:
            return self.refer("permit")
        ref = self.rng.choice(live)
        got = self.call("referral.read.recipient", "ngo", "GET", f"/v1/referrals/{ref.id}", (200,))
        if got is None:
            return
        ref.status = str(got.json()["status"])
        roll = self.rng.random()
        move: tuple[str, dict[str, Any]] | None = None
        if ref.status == "delivered":
            move = ("decline", {"reason": "No capacity."}) if roll < 0.1 else ("acknowledge", {})
        elif ref.status == "acknowledged":
            move = ("decline", {"reason": "Out of area."}) if roll < 0.1 else ("accept", {})
        elif ref.status == "accepted":
            move = ("start", {})
        elif ref.status == "in_progress":
            move = ("complete", {"outcome": "Service provided."})
        if move is None:
            return
        action, body = move
        response = self.call(
            f"referral.{action}",
            "ngo",
            "POST",
            f"/v1/referrals/{ref.id}/{action}",
            (200,),
            body,
        )
        if response is not None:
            ref.status = str(response.json()["status"])

    def sender_cancel(self) -> None:
        live = [r for r in self.refs.values() if r.status in ("sent", "delivered", "acknowledged")]
        if not live:
            return
        ref = self.rng.choice(live)
        # the worker may have moved it meanwhile (delivered): a 409 is a fair answer
        response = self.call(
            "referral.cancel",
            "sub",
            "POST",
            f"/v1/referrals/{ref.id}/cancel",
            (200, 409),
            {"reason": "Needs met elsewhere."},
        )
        if response is not None and response.status_code == 200:
            ref.status = "cancelled"

    def withdraw(self) -> None:
        candidates = [c for c in self.cases if not c.withdrawn and c.referrals]
        if not candidates:
            return self.refer("permit")
        case = self.rng.choice(candidates)
        response = self.call(
            "consent.withdraw",
            "sub",
            "POST",
            f"/v1/consents/{case.consent_id}/withdraw",
            (200,),
            {"method": "verbal", "reason": "Changed their mind."},
        )
        if response is None:
            return
        case.withdrawn = True
        with self.stats.lock:
            self.stats.withdrawn_cases.add(case.id)
        # the cascade runs in the worker: leave these referrals and reviews alone from now on
        for ref_id in case.referrals:
            self.refs.pop(ref_id, None)
        self.reviews = [r for r in self.reviews if r[2] not in case.referrals]

    def transfer(self) -> None:
        # a fresh case, so no referral of this thread is left with a case it no longer owns
        case = self.new_case()
        if case is None:
            return
        response = self.call(
            "transfer.create",
            "sub",
            "POST",
            "/v1/transfers",
            (201, 202),
            {
                "case_id": case.id,
                "to_organization_id": self.world.orgs["iom_country"],
                "plan": {
                    "reason": "Return to the capital.",
                    "open_needs": ["psychosocial follow-up"],
                    "risks": "None known.",
                    "handover_contact": "Case desk, IOM Niamey",
                },
            },
        )
        if response is None:
            return
        doc = response.json()
        if response.status_code == 202:
            self.reviews.append((str(doc["review_id"]), "transfer", str(doc["id"])))
        else:
            self.transfers.append(str(doc["id"]))
        self.offered.append(str(doc["id"]))

    def answer_transfer(self) -> None:
        # the country office acts on the offers that reached its webhook
        received = self.receiver.accepted_subjects()
        offered = [t for t in self.transfers if t in received]
        if not offered:
            return self.transfer()
        transfer_id = offered[0]
        self.transfers.remove(transfer_id)
        got = self.call(
            "transfer.read.recipient", "country", "GET", f"/v1/transfers/{transfer_id}", (200,)
        )
        if got is None:
            return
        if self.rng.random() < 0.8:
            self.call(
                "transfer.accept",
                "country",
                "POST",
                f"/v1/transfers/{transfer_id}/accept",
                (200,),
                {},
            )
        else:
            self.call(
                "transfer.reject",
                "country",
                "POST",
                f"/v1/transfers/{transfer_id}/reject",
                (200,),
                {"reason": "Handled locally."},
            )

    def read(self) -> None:
        roll = self.rng.random()
        refs = list(self.refs.values())
        if roll < 0.2 or not refs:
            who = self.rng.choice(["sub", "ngo"])
            role = "sent" if who == "sub" else "received"
            self.call(
                f"referral.list.{who}", who, "GET", "/v1/referrals", (200,), None, {"role": role}
            )
        elif roll < 0.45:
            ref = self.rng.choice(refs)
            self.call(
                "referral.events.sender", "sub", "GET", f"/v1/referrals/{ref.id}/events", (200,)
            )
        elif roll < 0.6:
            ref = self.rng.choice(refs)
            if ref.id in self.receiver.accepted_subjects():
                self.call(
                    "referral.events.recipient",
                    "ngo",
                    "GET",
                    f"/v1/referrals/{ref.id}/events",
                    (200,),
                )
        elif roll < 0.8 and self.cases:
            case = self.rng.choice(self.cases)
            self.call("case.disclosures", "sub", "GET", f"/v1/cases/{case.id}/disclosures", (200,))
        elif roll < 0.86:
            ref = self.rng.choice(refs)
            self.call("referral.read.sender", "sub", "GET", f"/v1/referrals/{ref.id}", (200,))
        elif roll < 0.9:
            self.call(
                "review.queue", "desk", "GET", "/v1/reviews", (200,), None, {"status": "pending"}
            )
        elif roll < 0.94 and self.offered:
            transfer_id = self.rng.choice(self.offered)
            self.call(
                "transfer.events.sender",
                "sub",
                "GET",
                f"/v1/transfers/{transfer_id}/events",
                (200,),
            )
        else:
            ref = self.rng.choice(refs)
            self.call(
                "referral.deliveries", "sub", "GET", f"/v1/referrals/{ref.id}/deliveries", (200,)
            )

    def run(self) -> None:
        actions = (
            (self.refer, ("permit",), 18),
            (self.refer, ("review",), 5),
            (self.refer, ("deny",), 3),
            (self.decide, (), 5),
            (self.recipient_move, (), 25),
            (self.sender_cancel, (), 2),
            (self.withdraw, (), 2),
            (self.transfer, (), 2),
            (self.answer_transfer, (), 2),
            (self.read, (), 25),
        )
        weights = [w for _, _, w in actions]
        try:
            while time.monotonic() < self.deadline:
                fn, args, _ = self.rng.choices(actions, weights)[0]
                try:
                    fn(*args)
                except RuntimeError:
                    time.sleep(0.5)  # no token: counted already; do not spin
        finally:
            self.http.close()


# --- memory ---------------------------------------------------------------------------------


def group_rss_kib(pgid: int) -> int:
    """The resident memory of every process in the group (a worker's pool children too)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            # the fields after the command's closing parenthesis; the pgrp is the third
            if int(stat.rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            for line in Path(entry.path, "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return total


@dataclass
class Memory:
    samples: dict[str, list[tuple[float, int]]] = field(default_factory=lambda: defaultdict(list))

    def sample(self, processes: list[tuple[str, subprocess.Popen[bytes], Path]]) -> None:
        now = time.monotonic()
        for name, process, _ in processes:
            self.samples[name].append((now, group_rss_kib(process.pid)))


def quarters(points: list[tuple[float, int]], start: float, end: float) -> list[list[int]]:
    span = (end - start) / 4
    out: list[list[int]] = [[], [], [], []]
    for t, kib in points:
        if start <= t <= end:
            out[min(3, int((t - start) / span))].append(kib)
    return out


# --- checks ---------------------------------------------------------------------------------


def outbox_open(runtime: Runtime) -> dict[str, int]:
    with runtime.sessions() as db:
        rows = db.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.status != "done")
            .group_by(OutboxMessage.status)
        ).all()
    return {s: c for s, c in rows}


def drain(runtime: Runtime, seconds: float) -> tuple[bool, float]:
    """Until no outbox row is left but done or dead (bounded)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        left = outbox_open(runtime)
        if not {k: v for k, v in left.items() if k != "dead"}:
            return True, time.monotonic() - t0
        time.sleep(1.0)
    return False, time.monotonic() - t0


def reconcile(runtime: Runtime, receiver: Receiver, stats: Stats) -> tuple[int, list[str]]:
    """Every delivery the hub made against what the webhook answered 2xx to.
    Returns (lost, lines to print)."""
    lines: list[str] = []
    lost = 0
    accepted = receiver.accepted()
    with runtime.sessions() as db:
        deliveries = db.execute(
            select(Delivery.id, Delivery.status, Delivery.referral_id, Delivery.transfer_id)
        ).all()
        referral_status = dict(db.execute(select(Referral.id, Referral.status)).all())
        transfer_status = dict(db.execute(select(Transfer.id, Transfer.status)).all())
        outbox = db.execute(
            select(OutboxMessage.topic, OutboxMessage.status, func.count()).group_by(
                OutboxMessage.topic, OutboxMessage.status
            )
        ).all()
        party_notices = db.scalars(
            select(OutboxMessage.payload).where(
                OutboxMessage.topic == "referral.party_notice", OutboxMessage.status == "done"
            )
        ).all()
    by_status = Counter(d.status for d in deliveries)
    lines.append(
        "deliveries (hub): "
        + ", ".join(f"{s} {c}" for s, c in sorted(by_status.items()))
        + f" ({sum(1 for d in deliveries if d.referral_id)} referrals, "
        f"{sum(1 for d in deliveries if d.transfer_id)} transfer offers)"
    )
    known = {d.id for d in deliveries}
    missing = [d.id for d in deliveries if d.status == "delivered" and d.id not in accepted]
    stuck = [d.id for d in deliveries if d.status in ("pending", "dead")]
    # the hub stops a delivery whose referral or transfer left `sent` before the push (a
    # withdrawal, a cancel): only one still `sent` was dropped
    stopped = Counter(
        f"{'referral' if d.referral_id else 'transfer'} "
        + str(referral_status.get(d.referral_id) or transfer_status.get(d.transfer_id))
        for d in deliveries
        if d.status == "stopped"
    )
    bad_stops = sum(c for k, c in stopped.items() if k.endswith(" sent"))
    delivered_refs = {d.referral_id for d in deliveries if d.status == "delivered"}
    moved_unreached = [
        r for r, s in referral_status.items() if s in AFTER_DELIVERY and r not in delivered_refs
    ]
    lost += len(missing) + len(stuck) + bad_stops + len(moved_unreached)
    lines.append(
        f"delivered by the hub but not received (2xx) by the webhook: {len(missing)}; "
        f"pending or dead at the end: {len(stuck)}; stopped while still `sent`: {bad_stops}; "
        f"referrals delivered or later without a delivered delivery: {len(moved_unreached)}"
    )
    lines.append(
        "stopped deliveries by what they were for: "
        + (", ".join(f"{k} {c}" for k, c in sorted(stopped.items())) or "none")
    )
    # what the partner acknowledged receiving, once or again under the same id and body
    deliveries_seen = {k: v for k, v in accepted.items() if v and v[0].event in DELIVERY_EVENTS}
    strangers = [k for k in deliveries_seen if k not in known]
    repeats = sum(len(v) - 1 for v in deliveries_seen.values())
    changed = sum(1 for v in deliveries_seen.values() if len({a.sha256 for a in v}) > 1)
    lines.append(
        f"received by the webhook: {len(deliveries_seen)} deliveries "
        f"({repeats} received again under the same id, {changed} of them with another body); "
        f"unknown to the hub: {len(strangers)}"
    )
    # every referral the gate let go (201, or approved and released) reached its recipient
    with_delivery = {d.referral_id for d in deliveries if d.referral_id}
    undelivered = [
        r
        for r in stats.created
        if referral_status.get(r) in AFTER_DELIVERY | {"sent"} and r not in with_delivery
    ]
    still_sent = [r for r in stats.created if referral_status.get(r) == "sent"]
    failed = [r for r in stats.created if referral_status.get(r) == "failed"]
    lines.append(
        f"referrals made: {len(stats.created)}; left `sent` at the end: {len(still_sent)}; "
        f"failed: {len(failed)}; past the gate without a delivery: {len(undelivered)}"
    )
    lost += len(still_sent) + len(failed) + len(undelivered)
    statuses = Counter(referral_status.get(r, "?") for r in stats.created)
    lines.append("referral statuses: " + ", ".join(f"{s} {c}" for s, c in sorted(statuses.items())))
    lines.append(
        "transfer statuses: "
        + ", ".join(f"{s} {c}" for s, c in sorted(Counter(transfer_status.values()).items()))
    )
    # notices to the other party (cancel, decline): their ids are derived, so each is known
    expected = {
        notice_id(f"referral.{p['status']}", p["referral_id"], p["status"]) for p in party_notices
    }
    unseen = [i for i in expected if i not in accepted]
    lost += len(unseen)
    notices = Counter(v[0].event for k, v in accepted.items() if v[0].event not in DELIVERY_EVENTS)
    lines.append(
        f"party notices done in the outbox: {len(expected)}, not received: {len(unseen)}; "
        "notices received: " + (", ".join(f"{e} {c}" for e, c in sorted(notices.items())) or "none")
    )
    by_topic: dict[str, Counter[str]] = defaultdict(Counter)
    for topic, status, count in outbox:
        by_topic[topic][status] += count
    lines.append(
        "outbox: "
        + "; ".join(
            f"{t} " + ", ".join(f"{s} {c}" for s, c in sorted(v.items()))
            for t, v in sorted(by_topic.items())
        )
    )
    not_done = sum(c for _, s, c in outbox if s != "done")
    lost += not_done
    with receiver.lock:
        answered = Counter(a.answered for a in receiver.arrivals)
    lines.append(
        "webhook answers: "
        + ", ".join(f"{s} {c}" for s, c in sorted(answered.items()))
        + f"; bad signatures {receiver.bad_signatures}; unreadable {receiver.unreadable}"
    )
    return lost, lines


# --- set-up and teardown ---------------------------------------------------------------------


def hub_cli(args: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    command = [str(Path(sys.executable).parent / "hub"), *args]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, input=stdin
    )
    if done.returncode != 0:
        raise SystemExit(f"`hub {' '.join(args[:2])}` failed:\n{done.stderr[-3000:]}")
    return done.stdout


def fresh_database(url: str, *, create: bool) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        if create:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def clear_redis(prefix: str) -> int:
    client = redis.Redis.from_url(BROKER_URL)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
    return len(keys)


def broker_queued(prefix: str) -> int:
    """Messages waiting in the hub's Redis queues (not yet taken by a worker)."""
    client = redis.Redis.from_url(BROKER_URL)
    try:
        return sum(int(client.llen(f"{prefix}{queue}")) for queue in ("hub", "hub.schedule"))
    finally:
        client.close()


def wait_workers(runtime: Runtime, processes: list[subprocess.Popen[bytes]], n: int) -> None:
    deadline = time.monotonic() + WORKERS_READY_SECONDS
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            break
        if len(runtime.celery.control.ping(timeout=1.0)) >= n:
            return
    raise SystemExit("the workers did not start: see the logs printed below")


def loadavg() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def mib(kib: float) -> str:
    return f"{kib / 1024:.0f}"


def print_memory(memory: Memory, start: float, end: float, max_growth: float) -> list[str]:
    """The RSS table; returns the processes whose memory grew too much."""
    grown = []
    print("memory (RSS MiB, process group; min/median/max per quarter of the run):")
    for name, points in memory.samples.items():
        qs = quarters(points, start, end)
        cells = [
            f"{mib(min(q))}/{mib(statistics.median(q))}/{mib(max(q))}" if q else "-" for q in qs
        ]
        growth = (
            statistics.median(qs[3]) / statistics.median(qs[1]) - 1
            if qs[1] and qs[3]
            else float("nan")
        )
        flag = ""
        if growth > max_growth:
            grown.append(name)
            flag = "  GREW"
        print(
            f"  {name:<9} Q1 {cells[0]:>12}  Q2 {cells[1]:>12}  Q3 {cells[2]:>12}  "
            f"Q4 {cells[3]:>12}  Q2->Q4 median {growth:+.1%}  ({len(points)} samples){flag}"
        )
    return grown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of traffic")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    parser.add_argument("--workers", type=int, default=2, help="`hub worker` processes")
    parser.add_argument("--concurrency", type=int, default=2, help="pool size of each worker")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument(
        "--drain", type=float, default=300.0, help="seconds to wait for the outbox at the end"
    )
    parser.add_argument(
        "--max-growth", type=float, default=0.20, help="allowed RSS growth, quarter 2 to 4"
    )
    parser.add_argument("--sample-every", type=float, default=2.0, help="seconds between RSS")
    parser.add_argument("--seed", type=int, default=1, help="seed of the partner's answers")
    parser.add_argument(
        "--log-level", default="WARNING", help="HUB_LOG_LEVEL of the hub's processes"
    )
    parser.add_argument(
        "--keep-logs", type=Path, default=None, help="copy the processes' logs to this folder"
    )
    args = parser.parse_args()
    url = os.environ.get("HUB_BENCH_DATABASE_URL", DEFAULT_URL)
    if make_url(url).host not in (HOST, "localhost"):
        raise SystemExit("the soak only talks to 127.0.0.1")

    load_before = loadavg()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    fresh_database(url, create=True)
    data_dir = Path(tempfile.mkdtemp(prefix="hub-bench-soak-"))
    os.chmod(data_dir, 0o700)
    prefix = f"hub-bench-soak-{uuid.uuid4().hex[:12]}:"
    secrets = {key: os.urandom(24).hex().encode() for key in HMAC_ORGS}
    receiver = Receiver(secrets=secrets, rng=random.Random(args.seed))
    hook = receiver.server()
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    hook_base = f"http://{HOST}:{hook.server_address[1]}/hooks"
    hub_port = free_port()
    hub_base = f"http://{HOST}:{hub_port}"
    receiver.jwks_url = f"{hub_base}/.well-known/jwks.json"
    hub_env = {
        "HUB_DATABASE_URL": url,
        "HUB_BROKER_URL": BROKER_URL,
        "HUB_BROKER_KEY_PREFIX": prefix,
        "HUB_DATA_DIR": str(data_dir),
        "HUB_LOG_LEVEL": args.log_level,
        "HUB_PUBLIC_URL": hub_base,
        "HUB_ACCESS_TOKEN_SECONDS": str(TOKEN_SECONDS),
        "HUB_CONNECTOR_ALLOWED_HOSTS": HOST,
        "HUB_CONNECTOR_REQUIRE_HTTPS": "false",
        "HUB_CONNECTOR_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT),
    }
    env = {**os.environ, **hub_env}
    settings = {name.removeprefix("HUB_").lower(): v for name, v in hub_env.items()}
    runtime: Runtime | None = None
    processes: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    failed = True
    try:
        runtime = Runtime(load_settings(**settings))
        hub_cli(["db", "upgrade"], env)
        world = seed_world(runtime)
        for key in WEBHOOK_ORGS:
            org = world.orgs[key]
            channel = ["channels", "set", "--org", org, "--kind", "webhook"]
            channel += ["--url", f"{hook_base}/{key}"]
            if key in secrets:
                hub_cli([*channel, "--secret", "-"], env, stdin=secrets[key].decode() + "\n")
            else:
                hub_cli(channel, env)

        bin_hub = str(Path(sys.executable).parent / "hub")
        worker_cmd = [bin_hub, "worker", f"--concurrency={args.concurrency}"]
        commands = [("serve", [bin_hub, "serve", "--host", HOST, "--port", str(hub_port)])]
        commands.append(("beat", [bin_hub, "beat"]))
        commands += [(f"worker-{i + 1}", worker_cmd) for i in range(args.workers)]
        for name, command in commands:
            log = data_dir / f"{name}.log"
            processes.append((name, start(command, env, log), log))
        wait_ready(processes[0][1], "hub", "GET", f"{hub_base}/readyz", processes[0][2])
        wait_workers(runtime, [p for _, p, _ in processes], args.workers)
        print(
            f"setup: PostgreSQL {make_url(url).database}; Redis {BROKER_URL} prefix {prefix!r}; "
            f"hub serve + hub beat + {args.workers} x hub worker (prefork, concurrency "
            f"{args.concurrency}); webhooks {hook_base}/<org> (HMAC: {', '.join(HMAC_ORGS)}; "
            f"JWS: the others); {args.clients} clients for {args.duration:.0f} s; "
            f"access tokens live {TOKEN_SECONDS} s; the hub's code from "
            f"{Path(hub.__file__).parent.parent}"
        )

        stats = Stats()
        memory = Memory()
        t_start = time.monotonic()
        started_at = datetime.now(UTC)
        deadline = t_start + args.duration
        drivers = [
            Driver(i, hub_base, world, stats, receiver, deadline, args.timeout)
            for i in range(args.clients)
        ]
        threads = [threading.Thread(target=d.run, daemon=True) for d in drivers]
        for thread in threads:
            thread.start()
        next_report = t_start + 60
        most_queued = 0
        while any(t.is_alive() for t in threads):
            memory.sample(processes)
            if time.monotonic() >= next_report:
                with stats.lock:
                    done = sum(stats.by_op.values())
                    errors = sum(stats.errors.values())
                queued = broker_queued(prefix)
                most_queued = max(most_queued, queued)
                print(
                    f"  {time.monotonic() - t_start:5.0f} s: {done} requests, {errors} errors, "
                    f"{len(receiver.arrivals)} webhook arrivals, {queued} broker messages "
                    f"queued, load {loadavg()}",
                    flush=True,
                )
                next_report += 60
            time.sleep(args.sample_every)
            for _, process, _ in processes:
                if process.poll() is not None:
                    raise SystemExit(f"a hub process exited during the run: {process.args}")
        for thread in threads:
            thread.join(timeout=args.timeout + 5)
        t_end = time.monotonic()
        wall = t_end - t_start

        drained, drain_s = drain(runtime, args.drain)
        time.sleep(2.0)  # a moment for late duplicates
        with stats.lock:
            total = sum(stats.by_op.values())
            by_status = Counter()
            for (_, status), count in stats.by_op.items():
                by_status[status] += count
        print(f"\nrequests: {total} in {wall:.0f} s = {total / wall:.1f}/s")
        print("  by status: " + ", ".join(f"{s} {c}" for s, c in sorted(by_status.items())))
        print("  by operation (status: count; p50/p99 ms):")
        ops = sorted({op for op, _ in stats.by_op})
        for op in ops:
            counts = ", ".join(f"{s}: {c}" for (o, s), c in sorted(stats.by_op.items()) if o == op)
            ms = sorted(stats.latency_ms[op])
            p50 = ms[len(ms) // 2]
            p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
            print(f"    {op:<28} {counts:<24} {p50:7.0f} {p99:7.0f}")
        errors = sum(stats.errors.values())
        print(f"errors: {errors}" + (f" {dict(stats.errors)}" if errors else ""))
        for sample in stats.error_samples:
            print(f"    {sample}")
        print(
            f"outbox drained: {'yes' if drained else 'NO'} in {drain_s:.0f} s after the traffic "
            f"(left: {outbox_open(runtime) or 'nothing'})"
        )
        print(outbox_stages(runtime, started_at))
        lost, lines = reconcile(runtime, receiver, stats)
        for line in lines:
            print(line)
        delivered = sum(1 for v in receiver.accepted().values() if v[0].event in DELIVERY_EVENTS)
        print(
            f"lost deliveries: {lost} findings (one stuck referral fails several of the "
            f"checks above); throughput: {total / wall:.1f} requests/s, "
            f"{delivered / (wall + drain_s):.1f} deliveries/s (traffic and drain)"
        )
        print(f"broker queue: at most {most_queued} messages waiting (sampled each minute)")
        grown = print_memory(memory, t_start, t_end, args.max_growth)
        failed = bool(errors or lost or not drained or grown or receiver.bad_signatures)
        print(
            "RESULT: "
            + ("FAIL" if failed else "PASS")
            + f" ({errors} errors, {lost} lost, drained {drained}, memory grew: "
            f"{', '.join(grown) or 'none'}, bad signatures {receiver.bad_signatures})"
        )
    finally:
        for _, process, _ in reversed(processes):
            stop(process)
        if failed:
            for name, _, log in processes:
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                if tail.strip():
                    print(f"--- {name} log (tail) ---\n{tail}", file=sys.stderr)
        if args.keep_logs is not None:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            for name, _, log in processes:
                if log.exists():
                    shutil.copy(log, args.keep_logs / f"{name}.log")
        hook.shutdown()
        hook.server_close()
        if runtime is not None:
            runtime.dispose()
        fresh_database(url, create=False)
        cleared = clear_redis(prefix)
        shutil.rmtree(data_dir, ignore_errors=True)
        print(f"torn down: processes stopped, database dropped, {cleared} Redis keys removed")
    print(f"load average (1, 5, 15 min): before {load_before}; after {loadavg()}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
