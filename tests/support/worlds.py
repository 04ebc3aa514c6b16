"""The `world` fixture, a pytest plugin (registered in tests/conftest.py).

`world` is the referral world (tests/support/referral_world.py), the one the tests of referrals,
disclosures and connectors act in, and the console's browser tests too (beside `live_hub`,
which serves the same runtime). tests/transfers replaces it with the transfer world and
tests/consent with its organisations; a test that needs both worlds calls their `make_world`.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from hub.runtime import Runtime
from tests.support.referral_world import World, make_world


@pytest.fixture
def world(runtime: Runtime, api: TestClient) -> World:
    return make_world(runtime, api)
