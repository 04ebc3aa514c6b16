"""A partner generates typed models from the hub's OpenAPI document, as it would for its own
client, and makes a referral with them against a running hub: the document describes what the
API accepts and answers."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from hub.app import create_app
from hub.auth.clients import create_client
from hub.runtime import Runtime
from hub.settings import Settings
from tests.support.referral_world import make_world
from tests.support.servers import PromptServer


@pytest.fixture
def live_url(settings: Settings) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    runtime = Runtime(settings.model_copy(update={"public_url": url}))
    config = uvicorn.Config(create_app(runtime), log_config=None, access_log=False, lifespan="off")
    server = PromptServer(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the hub did not start"
        time.sleep(0.01)
    yield url
    server.should_exit = True
    thread.join(timeout=10)
    runtime.dispose()


def _generated(document: bytes, folder: Path) -> ModuleType:
    spec_file, module_file = folder / "openapi.json", folder / "hub_models.py"
    spec_file.write_bytes(document)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "datamodel_code_generator",
            "--input",
            str(spec_file),
            "--input-file-type",
            "openapi",
            "--output",
            str(module_file),
            "--output-model-type",
            "pydantic_v2.BaseModel",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    name = f"hub_models_{folder.name}"
    spec = importlib.util.spec_from_file_location(name, module_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # registered first: the generated models resolve their annotations through the module
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_a_referral_made_with_models_generated_from_the_document(
    runtime: Runtime, api: TestClient, live_url: str, tmp_path: Path
) -> None:
    world = make_world(runtime, api)
    case_id = world.case()
    world.consent(case_id)
    with runtime.sessions.begin() as db:
        client, secret = create_client(
            db=db, organization_id=world.sender.organization_id, scope="referrals:write"
        )
        client_id = client.client_id
    assert secret is not None
    with httpx.Client(base_url=live_url, timeout=30) as http:
        models = _generated(http.get("/openapi.json").content, tmp_path)
        token = http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
        ).json()["access_token"]
        request = models.ReferralCreate(
            case_id=case_id,
            to_organization_id=world.recipient.organization_id,
            service_type="psychosocial_support",
            purpose="psychosocial_support",
            urgency="normal",
            categories=["identity", "contact", "psychosocial"],
        )
        # a value outside the policy's vocabulary is refused by the typed model itself
        with pytest.raises(ValueError):
            models.ReferralCreate(
                case_id=case_id,
                to_organization_id=world.recipient.organization_id,
                service_type="psychosocial_support",
                purpose="fortune_telling",
                categories=["identity"],
            )
        answer = http.post(
            "/v1/referrals",
            json=request.model_dump(mode="json", exclude_none=True),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 201, answer.text
        made = models.ReferralCreated.model_validate(answer.json())
        assert made.case_id == case_id
        assert str(getattr(made.status, "value", made.status)) == "sent"
        # and a problem answer parses as the document's Problem
        refused = http.post(
            "/v1/referrals",
            json=request.model_dump(mode="json", exclude_none=True) | {"case_id": "nope"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert refused.status_code == 404
        assert models.Problem.model_validate(refused.json()).code == "not_found"
