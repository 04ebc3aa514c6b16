"""The world of the route walks: an IOM office that owns what is called, another NGO that
must get 404 for it, and the hub's operator."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from hub.runtime import Runtime
from tests.support.api import operator, partner
from tests.support.route_scenarios import Ctx


@pytest.fixture
def ctx(runtime: Runtime, api: TestClient) -> Ctx:
    owner = partner(runtime, api, "IOM Agadez", kind="iom_office")
    other = partner(runtime, api, "Another NGO")
    admin = operator(runtime, api)
    return Ctx(runtime=runtime, api=api, owner=owner, other=other, admin=admin)
