"""GET /v1/audit/checkpoint: the latest signed checkpoint, for any authenticated partner, in a
form the partner can check offline and hand back to `hub audit verify --expect`."""

from __future__ import annotations

import base64
from datetime import datetime

from fastapi.testclient import TestClient

from hub.audit.checkpoints import checkpoint_message
from hub.audit.signing import load_public_key, verify_signature
from hub.audit.tasks import make_checkpoint
from hub.audit.verify import Expectation
from hub.runtime import Runtime
from tests.audit.tamper import build_chain, delete_checkpoints, rewrite_from, verify_now
from tests.support.referral_world import make_world


def test_the_route_requires_a_token(runtime: Runtime, api: TestClient) -> None:
    build_chain(runtime, 2)
    make_checkpoint(runtime)
    response = api.get("/v1/audit/checkpoint")
    assert response.status_code == 401
    bad = api.get("/v1/audit/checkpoint", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401


def test_any_partner_reads_the_latest_checkpoint_and_can_check_it(
    runtime: Runtime, api: TestClient
) -> None:
    world = make_world(runtime, api)
    path = "/v1/audit/checkpoint"
    make_checkpoint(runtime)
    build_chain(runtime, 3)
    make_checkpoint(runtime)
    response = api.get(path, headers=world.outsider.headers)
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["key_id"] == runtime.audit_key.key_id
    assert doc["expect"] == f"{doc['seq']}:{doc['hash']}"
    # the partner checks the signature with the published key, offline
    public = load_public_key(doc["public_key_pem"].encode())
    message = checkpoint_message(
        seq=doc["seq"],
        hash=doc["hash"],
        at=datetime.fromisoformat(doc["at"]),
        key_id=doc["key_id"],
        prev_digest=doc["prev_digest"],
    )
    assert verify_signature(public, base64.b64decode(doc["signature"]), message)

    # later, the operator checks the chain against the partner's copy
    kept = Expectation.parse(doc["expect"])
    assert verify_now(runtime, expect=[kept]).ok
    rewrite_from(runtime, 2, actor="client:9")
    delete_checkpoints(runtime)  # the attacker's cover: the partner's copy still tells
    assert verify_now(runtime, expect=[kept]).first_broken_seq == kept.seq


def test_before_the_first_checkpoint_it_is_not_found(runtime: Runtime, api: TestClient) -> None:
    world = make_world(runtime, api)
    response = api.get("/v1/audit/checkpoint", headers=world.sender.headers)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
