"""The hub's administrators for console tests: the operator's API client and one of its
people signed in at the console (the second factor enrolled), as the pages see them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from hub.runtime import Runtime
from tests.support.api import Partner, operator
from tests.support.people import Person, person, sign_in
from tests.support.referral_world import World


@pytest.fixture
def admin(runtime: Runtime, api: TestClient) -> Partner:
    """The hub operator's API client (holding `admin`)."""
    return operator(runtime, api)


@pytest.fixture
def administrator(world: World, admin: Partner, api: TestClient) -> Person:
    """An administrator of the hub's operator, signed in at the console (second factor)."""
    who = person(world.runtime, admin.organization_id, "admin")
    sign_in(api, who)
    return who


def in_english(api: TestClient) -> None:
    """Back to English after a page asked for in French (`?lang=` is remembered)."""
    assert api.get("/console?lang=en").status_code == 200
