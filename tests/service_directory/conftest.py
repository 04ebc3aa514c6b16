"""A directory world: two NGOs that offer services, a partner that only reads, and the hub's
operator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.runtime import Runtime
from tests.support.api import Partner, operator, partner


@dataclass
class World:
    api: TestClient
    ngo: Partner
    other: Partner
    reader: Partner
    admin: Partner

    def add(self, by: Partner, **fields: Any) -> dict[str, Any]:
        body = {"service_type": "psychosocial_support", "name": "Service"} | fields
        response = self.api.post("/v1/services", json=body, headers=by.headers)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def search(self, query: str = "", by: Partner | None = None) -> list[str]:
        response = self.api.get(f"/v1/services?{query}", headers=(by or self.reader).headers)
        assert response.status_code == 200, response.text
        return sorted(item["name"] for item in response.json()["items"])


@pytest.fixture
def world(runtime: Runtime, api: TestClient) -> World:
    return World(
        api=api,
        ngo=partner(runtime, api, "Tadamoun Agadez"),
        other=partner(runtime, api, "Another NGO"),
        reader=partner(runtime, api, "Reader office", kind="iom_office", scope="cases:read"),
        admin=operator(runtime, api),
    )
