"""`find` against a plain reading of its contract: a few hundred generated services, many
filter combinations, every page; the same services in the same order (newest first, the id
breaking ties) as a straightforward filter of them all."""

from __future__ import annotations

import random
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

import pytest

from hub.runtime import Runtime
from hub.service_directory import service as directory
from hub.service_directory.models import Service
from hub.service_directory.schemas import ServiceCreate
from tests.service_directory.conftest import World

TYPES = ["psychosocial_support", "shelter", "medical_care", "education"]
LANGUAGES = ["fr", "ha", "ar", "en"]
COUNTRIES = ["NE", "ML"]


def _hierarchy() -> list[list[str]]:
    """Code paths by level: country, region, department, commune (2 x 3 x 2 x 3)."""
    levels: list[list[str]] = [[], [], [], []]
    for country in COUNTRIES:
        levels[0].append(f"{country}/")
        for r in range(1, 4):
            region = f"{levels[0][-1]}{country}-R{r}/"
            levels[1].append(region)
            for d in range(1, 3):
                department = f"{region}{country}-R{r}-D{d}/"
                levels[2].append(department)
                for c in range(1, 4):
                    levels[3].append(f"{department}{country}-R{r}-D{d}-C{c}/")
    return levels


LEVELS = _hierarchy()


@dataclass
class Entry:
    id: str
    organization_id: str
    service_type: str
    name: str
    paths: list[str]
    age_min: int | None
    age_max: int | None
    sexes: list[str]
    languages: list[str]
    capacity: str
    created_at: datetime


def _generate(runtime: Runtime, world: World, n: int, rng: random.Random) -> list[Entry]:
    orgs = [world.ngo.organization_id, world.other.organization_id]
    base = datetime(2026, 1, 1, tzinfo=UTC)
    entries = []
    with runtime.sessions.begin() as db:
        for i in range(n):
            level = rng.choices(range(5), weights=(3, 5, 10, 50, 5))[0]
            if level == 4:
                paths: list[str] = []  # offered nowhere in particular
            elif level == 3:
                paths = rng.sample(LEVELS[3], rng.choice((1, 1, 2, 3)))
            else:
                paths = [rng.choice(LEVELS[level])]
            age_min = rng.choice((None, None, 0, 12, 18))
            age_max = rng.choice((None, None, 17, 60)) if age_min in (None, 0) else None
            sexes = rng.choice(([], [], ["female"], ["male"], ["female", "male"]))
            languages = rng.sample(LANGUAGES, rng.choice((1, 1, 2)))
            created = directory.create(
                db=db,
                policy=runtime.policy,
                actor="test",
                organization_id=rng.choice(orgs),
                data=ServiceCreate.model_validate(
                    {
                        "service_type": rng.choice(TYPES),
                        "name": f"Service {i}",
                        "areas": [{"path": p.rstrip("/")} for p in paths],
                        "eligibility": {"age_min": age_min, "age_max": age_max, "sexes": sexes},
                        "languages": languages,
                        "capacity": rng.choice(("open", "open", "limited", "full")),
                    }
                ),
            )
            # many services share their creation time: the id must break the tie
            created.created_at = base + timedelta(minutes=rng.randrange(n // 4))
            db.flush()
            entries.append(
                Entry(
                    id=created.id,
                    organization_id=created.organization_id,
                    service_type=created.service_type,
                    name=created.name,
                    paths=paths,
                    age_min=age_min,
                    age_max=age_max,
                    sexes=sexes,
                    languages=languages,
                    capacity=created.capacity,
                    created_at=created.created_at,
                )
            )
    return entries


def _area_prefix(area: str) -> str | None:
    if "/" in area:
        return area.strip("/") + "/"
    for level in LEVELS:
        for path in level:
            if path.rstrip("/").rsplit("/", 1)[-1] == area:
                return path
    return None


def _reference(entries: list[Entry], wanted: directory.ServiceFilter) -> list[str]:
    def keep(e: Entry) -> bool:
        if wanted.service_type is not None and e.service_type != wanted.service_type:
            return False
        if wanted.organization_id is not None and e.organization_id != wanted.organization_id:
            return False
        if wanted.capacity is not None and e.capacity != wanted.capacity:
            return False
        if wanted.name is not None and wanted.name.lower() not in e.name.lower():
            return False
        if wanted.area is not None:
            prefix = _area_prefix(wanted.area)
            if prefix is None or not any(p.startswith(prefix) for p in e.paths):
                return False
        if wanted.age is not None and not (
            (e.age_min is None or e.age_min <= wanted.age)
            and (e.age_max is None or e.age_max >= wanted.age)
        ):
            return False
        if wanted.sex is not None and e.sexes and wanted.sex not in e.sexes:
            return False
        return wanted.language is None or wanted.language in e.languages

    kept = sorted(filter(keep, entries), key=lambda e: (e.created_at, e.id), reverse=True)
    return [e.id for e in kept]


def _pages(runtime: Runtime, wanted: directory.ServiceFilter, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        with runtime.sessions() as db:
            items, cursor = directory.find(
                db=db, policy=runtime.policy, wanted=wanted, cursor=cursor, limit=limit
            )
        pages.append([item.id for item in items])
        if cursor is None:
            return pages
        assert len(pages) < 1000


def _code(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _random_filter(rng: random.Random, orgs: list[str]) -> directory.ServiceFilter:
    level = rng.choice((None, 0, 1, 2, 3))
    area = None
    if level is not None:
        path = rng.choice(LEVELS[level])
        area = path.rstrip("/") if rng.random() < 0.3 else _code(path)
    return directory.ServiceFilter(
        service_type=rng.choice((None, *TYPES)),
        area=area,
        age=rng.choice((None, None, 5, 15, 30, 70)),
        sex=rng.choice((None, None, "female", "male")),
        language=rng.choice((None, None, None, *LANGUAGES)),
        organization_id=rng.choice((None, None, None, *orgs)),
        capacity=rng.choice((None, None, "open", "full")),
        name=rng.choice((None,) * 8 + ("service 1",)),
    )


FIXED = [
    directory.ServiceFilter(),
    directory.ServiceFilter(service_type="shelter"),
    directory.ServiceFilter(area="NE"),
    directory.ServiceFilter(area="NE-R2"),
    directory.ServiceFilter(area="ML/ML-R1/ML-R1-D2"),
    directory.ServiceFilter(area="NE-R1-D1-C2", service_type="psychosocial_support"),
    directory.ServiceFilter(service_type="medical_care", area="ML-R3"),
    directory.ServiceFilter(
        service_type="shelter", area="NE-R1", age=15, sex="female", language="fr", capacity="open"
    ),
    directory.ServiceFilter(age=30, sex="male"),
    directory.ServiceFilter(language="ha"),
    directory.ServiceFilter(area="NE", name="service 2"),
    directory.ServiceFilter(area="XX-NOWHERE"),
    directory.ServiceFilter(area="NE/NE-R9"),
]


@pytest.mark.parametrize("limit", [1, 7, 50])
def test_find_agrees_with_a_plain_filter(world: World, runtime: Runtime, limit: int) -> None:
    rng = random.Random(15 + limit)
    entries = _generate(runtime, world, 300, rng)
    orgs = [world.ngo.organization_id, world.other.organization_id]
    wanted_all = FIXED + [_random_filter(rng, orgs) for _ in range(25 if limit > 1 else 6)]
    nonempty = 0
    for wanted in wanted_all:
        expected = _reference(entries, wanted)
        pages = _pages(runtime, wanted, limit)
        shown = {f.name: getattr(wanted, f.name) for f in fields(wanted)}
        assert [i for page in pages for i in page] == expected, shown
        # every page full but the last, which is empty only when nothing matched
        assert all(len(page) == limit for page in pages[:-1]), shown
        assert 0 < len(pages[-1]) <= limit or expected == [], shown
        nonempty += bool(expected)
    assert nonempty >= len(wanted_all) * 2 // 3


def test_areas_with_the_same_prefix_are_not_confused(world: World, runtime: Runtime) -> None:
    """`NE-R1` and `NE-R10` share characters, not an area; codes with `_` or `%` are literal."""
    for path in ("NE/NE-R1", "NE/NE-R10", "NE/NE_R1", "NE/NEXR1"):
        world.add(world.ngo, name=path, areas=[{"path": path}])

    def names(area: str) -> list[str]:
        with runtime.sessions() as db:
            items, _ = directory.find(
                db=db,
                policy=runtime.policy,
                wanted=directory.ServiceFilter(area=area),
                cursor=None,
                limit=50,
            )
        return sorted(i.name for i in items)

    assert names("NE/NE-R1") == ["NE/NE-R1"]
    assert names("NE-R10") == ["NE/NE-R10"]
    assert names("NE_R1") == ["NE/NE_R1"]
    assert names("NE/NE%R1") == []
    assert len(names("NE")) == 4


def test_a_service_named_in_two_sub_areas_is_listed_once(world: World, runtime: Runtime) -> None:
    made = world.add(
        world.ngo,
        name="Twice",
        areas=[{"path": "NE/NE-R1/NE-R1-D1/A"}, {"path": "NE/NE-R1/NE-R1-D1/B"}],
    )
    for area in ("NE", "NE-R1", "NE-R1-D1", "A"):
        with runtime.sessions() as db:
            items, cursor = directory.find(
                db=db,
                policy=runtime.policy,
                wanted=directory.ServiceFilter(area=area),
                cursor=None,
                limit=1,
            )
            assert [i.id for i in items] == [made["id"]]
            assert cursor is None
            assert db.get(Service, made["id"]) is not None
