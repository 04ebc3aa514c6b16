"""Benchmark of the service directory's search on PostgreSQL (not a test).

    .venv/bin/python bench/services.py [--services 1000000] [--repeat 40] [--seed 15] [--keep]

Creates (drops first) the database at HUB_BENCH_DATABASE_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_services), migrates it, and loads with
COPY: 2,000 partner organisations in four countries and `--services` services, each offered in
one to three administrative areas of a country › region › department › commune hierarchy
(4 × 8 × 6 × 8 areas; most services name communes, some a department, a region or the whole
country), with a type of the policy, eligibility (age range, sexes), languages of its country
and an intake capacity; then `service_coverage` is made from them in SQL, as the migration
does for existing services. Then it times typical searches `--repeat` times each, with parameters
drawn at random: through the service function `GET /v1/services` calls
(`hub.service_directory.service.find`), then over HTTP against `hub serve` on 127.0.0.1 with a
partner's access token. It prints p50/p95/p99 per kind of search and the load average; the
database is dropped at the end unless `--keep`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from referrals import (  # bench/ is on sys.path when run as a script: its set-up is reused
    HOST,
    free_port,
    fresh_database,
    start,
    stop,
    wait_ready,
)
from sqlalchemy import create_engine, delete, func, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from hub.auth.clients import create_client
from hub.auth.models import SigningKey
from hub.db import migrate
from hub.policy.loader import Policy
from hub.runtime import Runtime
from hub.service_directory import service as directory
from hub.service_directory.models import Service, ServiceArea, ServiceCoverage, rebuild_coverage
from hub.settings import load_settings

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_services"
BROKER_URL = "redis://127.0.0.1:6379/11"
COUNTRIES = {
    "NE": ("fr", "ha", "dje", "ff", "tq", "ar"),
    "ML": ("fr", "bm", "ff", "tq", "ar", "snk"),
    "BF": ("fr", "mos", "dyu", "ff", "gux"),
    "TD": ("fr", "ar", "shu", "sa"),
}
REGIONS, DEPARTMENTS, COMMUNES = 8, 6, 8
ORGANIZATIONS = 2000
TYPE_WEIGHTS = (20, 15, 8, 10, 12, 12, 6, 5, 4, 4, 4)  # the policy's types, in its order
SERVICE_COLUMNS = (
    "id",
    "organization_id",
    "service_type",
    "name",
    "description",
    "focal_point",
    "hours",
    "age_min",
    "age_max",
    "sexes",
    "legal_statuses",
    "languages",
    "sexes_key",
    "languages_key",
    "capacity",
    "latitude",
    "longitude",
    "last_verified_on",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class Geography:
    """Code paths (`NE/NE-R1/NE-R1-D2/NE-R1-D2-C3/`) by level: country, region, ..."""

    levels: tuple[list[str], list[str], list[str], list[str]]

    @classmethod
    def build(cls) -> Geography:
        countries, regions, departments, communes = [], [], [], []
        for country in COUNTRIES:
            countries.append(f"{country}/")
            for r in range(1, REGIONS + 1):
                region = f"{country}-R{r}"
                regions.append(f"{country}/{region}/")
                for d in range(1, DEPARTMENTS + 1):
                    department = f"{region}-D{d}"
                    departments.append(f"{country}/{region}/{department}/")
                    for c in range(1, COMMUNES + 1):
                        communes.append(f"{country}/{region}/{department}/{department}-C{c}/")
        return cls((countries, regions, departments, communes))


def code(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def key(values: list[str]) -> str:
    return " " + "".join(f"{v} " for v in values)


def service_rows(
    n: int, orgs: list[tuple[str, str]], types: list[str], geo: Geography, rng: random.Random
) -> Iterator[tuple[tuple[Any, ...], list[tuple[str, str, str]]]]:
    """Each service's row and its areas' rows (service_id, path, code)."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    span = 3 * 365 * 24 * 3600
    countries, regions, departments, communes = geo.levels
    for i in range(n):
        sid = uuid.uuid4().hex
        org_id, country = rng.choice(orgs)
        service_type = rng.choices(types, weights=TYPE_WEIGHTS[: len(types)])[0]
        # where: communes of one department mostly, else a department, a region, the country
        level = rng.random()
        c_index = list(COUNTRIES).index(country)
        region = rng.randrange(REGIONS) if rng.random() < 0.5 else rng.randrange(3)
        r_index = c_index * REGIONS + region
        d_index = r_index * DEPARTMENTS + rng.randrange(DEPARTMENTS)
        if level < 0.70:
            first = d_index * COMMUNES
            paths = rng.sample(communes[first : first + COMMUNES], rng.choice((1, 1, 2, 3)))
        elif level < 0.88:
            paths = [departments[d_index]]
        elif level < 0.98:
            paths = [regions[r_index]]
        else:
            paths = [countries[c_index]]
        shape = rng.random()
        if shape < 0.5:
            age_min, age_max = None, None
        elif shape < 0.7:
            age_min, age_max = 0, 17
        elif shape < 0.85:
            age_min, age_max = 18, None
        else:
            age_min = rng.randrange(0, 40)
            age_max = age_min + rng.randrange(5, 40)
        shape = rng.random()
        sexes = (
            []
            if shape < 0.7
            else ["female"]
            if shape < 0.9
            else ["male"]
            if shape < 0.95
            else ["female", "male"]
        )
        spoken = COUNTRIES[country]
        languages = ["fr"] if rng.random() < 0.8 else []
        languages += rng.sample(spoken[1:], rng.choice((0, 1, 1, 2)))
        if not languages:
            languages = [rng.choice(spoken[1:])]
        capacity = rng.choices(("open", "limited", "full"), weights=(60, 25, 15))[0]
        made = start + timedelta(seconds=rng.randrange(span))
        row = (
            sid,
            org_id,
            service_type,
            f"Service {i}",
            None,
            "Focal point, +227 90 00 00 00",
            "Mon-Fri 08:00-16:00",
            age_min,
            age_max,
            json.dumps(sexes),
            "[]",
            json.dumps(languages),
            key(sexes),
            key(languages),
            capacity,
            None,
            None,
            (made + timedelta(days=rng.randrange(300))).date(),
            made,
            made,
        )
        yield row, [(sid, path, code(path)) for path in paths]


def seed(engine: Engine, policy: Policy, n: int, rng: random.Random) -> str:
    """The organisations and `n` services with their areas, by COPY; returns an NGO's id."""
    geo = Geography.build()
    now = datetime(2024, 1, 1, tzinfo=UTC)
    orgs = [(uuid.uuid4().hex, rng.choice(list(COUNTRIES))) for _ in range(ORGANIZATIONS)]
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert conn is not None
        with conn.cursor() as cur:
            with cur.copy(
                "COPY organizations (id, name, kind, parent_id, services, country, created_at) "
                "FROM STDIN"
            ) as copy:
                for i, (org_id, country) in enumerate(orgs):
                    copy.write_row((org_id, f"NGO {i}", "ngo", None, "[]", country, now))
            with (
                cur.copy(f"COPY services ({', '.join(SERVICE_COLUMNS)}) FROM STDIN") as services,
            ):
                areas: list[tuple[str, str, str]] = []
                for row, service_areas in service_rows(
                    n, orgs, list(policy.vocabularies.service_types), geo, rng
                ):
                    services.write_row(row)
                    areas.extend(service_areas)
            with cur.copy("COPY service_areas (service_id, path, code) FROM STDIN") as copy:
                for area in areas:
                    copy.write_row(area)
        conn.commit()
    finally:
        raw.close()
    # COPY bypasses the ORM's events: the coverage is made from the loaded rows in SQL
    with engine.begin() as c:
        rebuild_coverage(c)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE"))
    return orgs[0][0]


@dataclass(frozen=True)
class Search:
    """A kind of search: its parameters drawn at random, and how many pages to walk."""

    label: str
    params: Callable[[random.Random], dict[str, Any]]
    pages: int = 1


def searches(policy: Policy, geo: Geography) -> list[Search]:
    types = list(policy.vocabularies.service_types)
    countries, regions, departments, communes = geo.levels
    languages = sorted({lang for spoken in COUNTRIES.values() for lang in spoken})

    def area(level: list[str]) -> Callable[[random.Random], str]:
        return lambda rng: code(rng.choice(level))

    return [
        Search("type", lambda r: {"type": r.choice(types)}),
        Search("type + commune", lambda r: {"type": r.choice(types), "area": area(communes)(r)}),
        Search(
            "type + department",
            lambda r: {"type": r.choice(types), "area": area(departments)(r)},
        ),
        Search("area: country", lambda r: {"area": area(countries)(r)}),
        Search("area: region", lambda r: {"area": area(regions)(r)}),
        Search("area: department", lambda r: {"area": area(departments)(r)}),
        Search("area: commune", lambda r: {"area": area(communes)(r)}),
        Search("area: region as a code path", lambda r: {"area": r.choice(regions).rstrip("/")}),
        Search(
            "age + sex",
            lambda r: {"age": r.randrange(0, 70), "sex": r.choice(("female", "male"))},
        ),
        Search("language", lambda r: {"language": r.choice(languages)}),
        Search(
            "all filters (type, department, age, sex, language, open)",
            lambda r: {
                "type": r.choice(types),
                "area": area(departments)(r),
                "age": r.randrange(0, 70),
                "sex": r.choice(("female", "male")),
                "language": "fr",
                "capacity": "open",
            },
        ),
        Search(
            "type + region, pages 1-5",
            lambda r: {"type": r.choice(types[:6]), "area": area(regions)(r)},
            pages=5,
        ),
    ]


def percentiles(spent: list[float]) -> str:
    ordered = sorted(spent)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return f"p50 {at(0.5):7.1f}  p95 {at(0.95):7.1f}  p99 {at(0.99):7.1f} ms"


def through_service(engine: Engine, policy: Policy, kinds: list[Search], repeat: int, seed: int):
    rng = random.Random(seed)
    everything: list[float] = []
    print("through hub.service_directory.service.find (one session, as a request has):")
    for kind in kinds:
        spent: list[float] = []
        found = 0
        for _ in range(repeat):
            params = kind.params(rng)
            wanted = directory.ServiceFilter(
                service_type=params.get("type"),
                area=params.get("area"),
                age=params.get("age"),
                sex=params.get("sex"),
                language=params.get("language"),
                capacity=params.get("capacity"),
            )
            cursor = None
            for _ in range(kind.pages):
                with Session(engine) as db:
                    t0 = time.perf_counter()
                    items, cursor = directory.find(
                        db=db, policy=policy, wanted=wanted, cursor=cursor, limit=50
                    )
                    spent.append(time.perf_counter() - t0)
                found += len(items)
                if cursor is None:
                    break
        everything += spent
        print(f"  {kind.label:<58} {percentiles(spent)}  ({found / len(spent):.0f} items/page)")
    print(f"  {'every search above':<58} {percentiles(everything)}")


def through_http(base: str, token: str, kinds: list[Search], repeat: int, seed: int) -> None:
    rng = random.Random(seed)
    everything: list[float] = []
    print(f"through GET /v1/services on `hub serve` at {base} (keep-alive client):")
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30.0) as client:
        client.get(f"{base}/v1/services", params={"limit": 1}).raise_for_status()
        for kind in kinds:
            spent: list[float] = []
            for _ in range(repeat):
                params = {**kind.params(rng), "limit": 50}
                for _ in range(kind.pages):
                    t0 = time.perf_counter()
                    response = client.get(f"{base}/v1/services?{urlencode(params)}")
                    spent.append(time.perf_counter() - t0)
                    if response.status_code != 200:
                        raise SystemExit(f"{response.status_code} {response.text[:300]}")
                    following = response.json()["next"]
                    if following is None:
                        break
                    params["cursor"] = following
            everything += spent
            print(f"  {kind.label:<58} {percentiles(spent)}")
    print(f"  {'every search above':<58} {percentiles(everything)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--services", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=40, help="searches of each kind")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    parser.add_argument(
        "--reuse", action="store_true", help="search a database kept by an earlier --keep run"
    )
    args = parser.parse_args()
    url = os.environ.get("HUB_BENCH_DATABASE_URL", DEFAULT_URL)
    if make_url(url).host not in (HOST, "localhost"):
        raise SystemExit("the benchmark only talks to 127.0.0.1")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not args.reuse:
        fresh_database(url)
    data_dir = Path(tempfile.mkdtemp(prefix="hub-bench-services-"))
    os.chmod(data_dir, 0o700)
    port = free_port()
    base = f"http://{HOST}:{port}"
    hub_env = {
        "HUB_DATABASE_URL": url,
        "HUB_BROKER_URL": BROKER_URL,
        "HUB_DATA_DIR": str(data_dir),
        "HUB_LOG_LEVEL": "WARNING",
        "HUB_PUBLIC_URL": base,
    }
    runtime = Runtime(
        load_settings(**{name.removeprefix("HUB_").lower(): v for name, v in hub_env.items()})
    )
    process = None
    try:
        migrate.upgrade(runtime.engine)
        policy = runtime.policy
        with Session(runtime.engine) as db:
            stored = db.scalar(select(func.count()).select_from(Service))
        if not stored:
            t0 = time.perf_counter()
            seed(runtime.engine, policy, args.services, random.Random(args.seed))
            print(f"loaded in {time.perf_counter() - t0:.1f} s")
        with Session(runtime.engine) as db:
            stored = db.scalar(select(func.count()).select_from(Service))
            n_areas = db.scalar(select(func.count()).select_from(ServiceArea))
            n_coverage = db.scalar(select(func.count()).select_from(ServiceCoverage))
            org_id = db.scalar(select(Service.organization_id).limit(1))
        print(f"{stored} services, {n_areas} service areas, {n_coverage} rows of coverage")
        if args.reuse:
            # the kept signing keys were sealed with the keyring of an earlier run's data folder,
            # removed since: the hub makes a new key
            with runtime.engine.begin() as c:
                c.execute(delete(SigningKey))
        with runtime.sessions.begin() as db:
            client, secret = create_client(db=db, organization_id=org_id, scope="referrals:read")
            client_id = client.client_id
        assert secret is not None
        kinds = searches(policy, Geography.build())
        print(f"{args.repeat} searches of each kind, first page of 50 unless said")
        through_service(runtime.engine, policy, kinds, args.repeat, args.seed)

        log = data_dir / "hub.log"
        command = [str(Path(sys.executable).parent / "hub"), "serve", "--host", HOST]
        process = start([*command, "--port", str(port)], {**os.environ, **hub_env}, log)
        wait_ready(process, "hub", "GET", f"{base}/readyz", log)
        response = httpx.post(
            f"{base}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
            timeout=30.0,
        )
        response.raise_for_status()
        through_http(base, str(response.json()["access_token"]), kinds, args.repeat, args.seed)
    finally:
        if process is not None:
            stop(process)
        runtime.dispose()
        shutil.rmtree(data_dir, ignore_errors=True)
        if not args.keep:
            drop(url)
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(f"on {date.today().isoformat()}, {os.cpu_count()} CPUs")


def drop(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


if __name__ == "__main__":
    main()
