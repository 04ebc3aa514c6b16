"""Here `world` is the transfer world (tests/support/transfer_world.py), not the referral world
the other tests act in (tests/support/worlds.py)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from hub.runtime import Runtime
from tests.support.transfer_world import World, make_world


@pytest.fixture
def world(runtime: Runtime, api: TestClient) -> World:
    return make_world(runtime, api)
