"""Fixtures for tests that talk to partners served on 127.0.0.1 (a webhook receiver, a FHIR
server), allowed here over plain http, with the hub's operator at hand. Imported by the
conftests of tests/connectors and tests/delivery."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hub.runtime import Runtime
from hub.settings import Settings
from tests.support.api import Partner, operator
from tests.support.fhir_server import FhirServer
from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"connector_allowed_hosts": ["127.0.0.1"], "connector_require_https": False}
    )


@pytest.fixture
def admin(runtime: Runtime, api: TestClient) -> Partner:
    return operator(runtime, api)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as endpoint:
        yield endpoint


@pytest.fixture
def fhir_server() -> Iterator[FhirServer]:
    with FhirServer() as server:
        yield server
